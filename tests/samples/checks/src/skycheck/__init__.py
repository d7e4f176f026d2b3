"""Totals with one dependency, `alpha`; USES lists the names of alpha it relies on."""

import alpha

__version__ = "0.1.0"
USES = ("alpha.add", "alpha.mean")


def total(values):
    return alpha.add(values)
