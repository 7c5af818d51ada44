"""circlebot's core: circles, proposals, the parity tally, and what to say about them."""

__version__ = "0.1.0"
