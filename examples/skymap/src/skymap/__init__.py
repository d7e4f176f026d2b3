"""Find the brightest star in a list of magnitudes."""

import tinyarray

__version__ = "0.3.0"


def brightest(magnitudes: list[float]) -> float:
    """Smaller magnitude is brighter."""
    return tinyarray.minimum(magnitudes)


def span(magnitudes: list[float]) -> float:
    """Difference between the faintest and the brightest star."""
    return tinyarray.maximum(magnitudes) - tinyarray.minimum(magnitudes)
