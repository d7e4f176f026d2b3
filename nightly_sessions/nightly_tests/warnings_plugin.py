"""How the run loads its pytest plugin (pytest_plugin/nightly_sessions_warnings.py).

The plugin runs inside the project's test environment, which lacks nightly_sessions, so
it is found through PYTHONPATH, on a folder that holds it alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

PLUGIN = "nightly_sessions_warnings"
PLUGIN_DIR = Path(__file__).parent / "pytest_plugin"
WARNINGS_LOG_NAME = "pytest-warnings.jsonl"


def plugin_args(log_path: Path | None, as_errors: Sequence[str]) -> list[str]:
    """pytest options loading the plugin: its log (None: none), each category made an error."""
    args = ["-p", PLUGIN, *([f"--nightly-warnings-log={log_path}"] if log_path else [])]
    for category in as_errors:
        args += ["--nightly-warnings-error", category]
    return args


def plugin_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """PYTHONPATH with the plugin's folder first (it holds the plugin alone), the rest kept."""
    environ = os.environ if environ is None else environ
    rest = environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), *([rest] if rest else [])])}


def error_filters(as_errors: Sequence[str]) -> list[str]:
    """The filters the 'warnings-as-errors' setting adds, as the report shows them."""
    return [f"error::{category}" for category in as_errors]
