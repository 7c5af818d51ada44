"""Running the bot: events in, the core on its own thread, deliveries out, what falls due
on time, the operator pages and the log."""
