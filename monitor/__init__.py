"""Reuse Monitor: finds spun copies of your articles on the web."""

__version__ = "0.1.0"
