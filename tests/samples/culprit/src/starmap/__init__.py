"""Sums and halves with two dependencies: `alpha` and `beta`."""

import alpha
import beta

__version__ = "0.1.0"


def total(values):
    return alpha.add(values)


def half(value):
    return beta.halve(value)
