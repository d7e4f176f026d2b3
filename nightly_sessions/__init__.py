"""SPEC 4 as nox sessions: test against nightly wheels, build and publish your own.

In a noxfile::

    import nightly_sessions
    nightly_sessions.register()

`register` is imported lazily so that the library itself does not import nox.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "register"]


def register(**settings: Any) -> None:
    """Define the nightly nox sessions; keyword arguments override pyproject.toml."""
    from nightly_sessions.sessions import register as _register

    _register(**settings)
