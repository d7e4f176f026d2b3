"""The nightly-report.json contract: its schema version, and reading it back safely.

`nightly_tests` writes the report (report.py); the CLI's `report` command and the
tracking issue read it with `load_report`, which checks it to the depth they use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nightly_sessions.core.commands import how_to_run
from nightly_sessions.core.errors import ConfigError

SCHEMA = 3
# Schema 2 added the culprit search (`culprit`), schema 3 the run's warnings (`warnings`);
# reports of older artifacts still read.
READABLE_SCHEMAS = (1, 2, 3)


def load_report(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A nightly-report.json and None, or None and what makes it unusable (a phrase)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{path.name} is absent"
    except OSError as exc:
        return None, f"{path.name} is unreadable ({exc.strerror})"
    except ValueError:
        return None, f"{path.name} is unreadable (it is not valid JSON)"
    if not isinstance(data, dict) or data.get("schema") not in READABLE_SCHEMAS:
        return None, f"{path.name} is not a nightly report of schema 1, 2 or 3"
    problem = schema_problem(data)
    return (None, f"{path.name} is damaged: {problem}") if problem else (data, None)


def read_report(path: Path) -> dict[str, Any]:
    """Read a nightly-report.json; a ConfigError naming the file when it cannot be used."""
    data, problem = load_report(path)
    if data is None:
        raise ConfigError(f"{problem} (in {path.parent}); run {how_to_run('run')} again.")
    return data


_FIELDS: dict[str, type] = {
    "job": str, "python": str, "platform": str, "stage": str, "nightly_index": str,
    "packages": list, "repairs": list,
}  # fmt: skip
# Fields that may be null; a value of another type would break the Markdown.
_OPTIONAL_FIELDS: dict[str, type] = {
    "project": str, "error": str, "output_tail": str, "dependency_check": dict, "pytest": dict,
    "culprit": dict, "checks": list, "warnings": dict,
}  # fmt: skip
_KIND_NAMES: dict[type, str] = {str: "text", dict: "a table", list: "a list"}
_PYTEST_FIELDS = ("exit_code", "report_log", "passed", "failed", "errors", "skipped")


def schema_problem(data: Mapping[str, Any]) -> str | None:
    """What makes `data` unusable as a report (schema 1 to 3), or None when it is usable.

    Checked to the depth the Markdown and the tracking issue read it, so a hand-edited or
    damaged report is one sentence there, never a traceback.
    """
    for key, kind in _FIELDS.items():
        if not isinstance(data.get(key), kind):
            return f"{key!r} is missing or not {_KIND_NAMES[kind]}"
    for key, kind in _OPTIONAL_FIELDS.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            return f"{key!r} is not {_KIND_NAMES[kind]}"
    if data.get("outcome") not in {"passed", "tests-failed", "checks-failed", "not-run"}:
        return f"'outcome' is {data.get('outcome')!r}"
    if not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in data["packages"]):
        return "an entry of 'packages' is not a table with a name"
    if not all(isinstance(r, dict) for r in data["repairs"]):
        return "an entry of 'repairs' is not a table"
    return (
        _pytest_problem(data.get("pytest"))
        or _culprit_problem(data.get("culprit"))
        or _checks_problem(data.get("checks"))
        or _warnings_problem(data.get("warnings"))
    )


def _checks_problem(checks: list[Any] | None) -> str | None:
    """The other checks' entries, each with its name, outcome and command (a list)."""
    for check in checks or []:
        if not (
            isinstance(check, dict)
            and isinstance(check.get("name"), str)
            and check.get("outcome") in {"passed", "failed", "not-run"}
            and isinstance(check.get("command"), list)
        ):
            return "an entry of 'checks' is not a table with a name, an outcome and a command"
    return None


def _warnings_problem(warnings: Mapping[str, Any] | None) -> str | None:
    """The warnings section (schema 3): its lists of tables, to the depth they are read."""
    if warnings is None:
        return None
    for key in ("deprecations", "gone", "errors", "filters"):
        value = warnings.get(key, [])
        if not isinstance(value, list):
            return f"'warnings' has a {key!r} that is not a list"
        if key != "filters" and not all(isinstance(entry, dict) for entry in value):
            return f"'warnings' has an entry of {key!r} that is not a table"
    return None


def _pytest_problem(tests: Mapping[str, Any] | None) -> str | None:
    if tests is None:
        return None
    if not set(_PYTEST_FIELDS) <= set(tests):
        return "'pytest' lacks the exit code and counts"
    counts = [tests[key] for key in ("passed", "failed", "errors", "skipped")]
    if not all(isinstance(n, int) for n in counts) or not isinstance(
        tests["exit_code"], (int, type(None))
    ):
        return "'pytest' has counts or an exit code that are not whole numbers"
    return None


def _culprit_problem(culprit: Mapping[str, Any] | None) -> str | None:
    """The culprit section (schema 2) to the depth the Markdown and the issue read it."""
    if culprit is None:
        return None
    if not isinstance(culprit.get("status"), str):
        return "'culprit' has no status"
    lists = {key: culprit.get(key, []) for key in ("verdict", "culprits", "trials", "drafts")}
    wrong = [key for key, value in lists.items() if not isinstance(value, list)]
    if wrong:
        return f"'culprit' has a {wrong[0]!r} that is not a list"
    checks = (
        (all(isinstance(line, str) for line in lists["verdict"]), "a verdict that is not text"),
        (all(map(_is_draft, lists["drafts"])), "a draft without its package, file or text"),
        (all(map(_is_trial, lists["trials"])), "a trial that is not a table of lists"),
    )
    return next((f"'culprit' has {what}" for ok, what in checks if not ok), None)


def _is_draft(draft: object) -> bool:
    return isinstance(draft, dict) and all(
        isinstance(draft.get(key), str) for key in ("package", "file", "text")
    )


def _is_trial(trial: object) -> bool:
    return (
        isinstance(trial, dict)
        and all(isinstance(trial.get(key, []), list) for key in ("put_back", "tests", "failed"))
        and all(isinstance(put, dict) for put in trial.get("put_back", []))
    )
