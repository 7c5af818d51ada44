"""What handlers and queries share: the context (clock, store, directory of members,
frozen rounds) and the outbox's typed posts."""
