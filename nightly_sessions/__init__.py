"""SPEC 4 as nox sessions: test against nightly wheels, build and publish your own.

In a noxfile::

    import nightly_sessions
    nightly_sessions.register()

`register` is imported lazily so that the library itself does not import nox.

The public API is this module's `register` and `__version__`, the command line
(`python -m nightly_sessions`), the sessions and settings the documentation lists, and
the stand-ins in `nightly_sessions.testing`. Every other module is internal and may
change without notice.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "register"]


def register(**settings: Any) -> None:
    """Define the nightly nox sessions; keyword arguments override pyproject.toml."""
    from nightly_sessions.sessions import register as _register

    _register(**settings)
