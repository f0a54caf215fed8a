"""dualscout: find dual-use technology that answers published defense needs."""

__version__ = "0.1.0"
