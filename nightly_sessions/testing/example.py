"""The example project's world: `tinyarray` releases and nightlies, good or broken.

`examples/skymap` depends on `tinyarray`; these helpers write the wheels that the
loopback indexes serve for it in the tests and in the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nightly_sessions.testing.wheelhouse import make_wheel

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "examples" / "skymap"

_GOOD = '''"""Array helpers (a stand-in for a real array library)."""
__version__ = "{version}"


def minimum(values):
    return min(values)


def maximum(values):
    return max(values)
'''

# An upstream regression: maximum() silently returns the minimum.
_BROKEN = _GOOD.replace("return max(values)", "return min(values)")


def tinyarray_wheel(
    directory: Path, version: str, *, broken: bool = False, requires: Sequence[str] = ()
) -> Path:
    """Write a `tinyarray` wheel of `version`; `broken` ships the regression.

    Give every distinct wheel its own version: installers cache wheels by URL and
    loopback ports get reused, so one file name must always mean one content.
    """
    code = (_BROKEN if broken else _GOOD).format(version=version)
    return make_wheel(
        directory,
        "tinyarray",
        version,
        requires=requires,
        summary="Array helpers for the nightly-sessions example.",
        modules={"tinyarray/__init__.py": code},
    )
