"""The wiring: reads the config, opens the store, loads the adapters and starts the
runtime; the command line."""
