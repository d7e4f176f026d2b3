"""Doubles values with gamma."""

__version__ = "0.1.0"

import gamma


def doubled(value):
    return gamma.scale(value, 2)
