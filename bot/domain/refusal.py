"""The one way a command says no."""


class Refusal(Exception):
    """A command that cannot be carried out; its text goes to the person alone."""
