"""A sample project whose version is __version__ in a module."""

__version__ = "0.4.0.dev0"
