"""botscan: a static security scanner for trading-bot repositories."""

__version__ = "0.1.0"
