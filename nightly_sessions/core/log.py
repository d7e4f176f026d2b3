"""Where a command's progress lines go: `print` for the CLI, `session.log` under nox."""

from __future__ import annotations

from collections.abc import Callable

Log = Callable[[str], None]
