"""What changes things: the core that routes each event and command to its handler, and
the handlers, one module per concern."""
