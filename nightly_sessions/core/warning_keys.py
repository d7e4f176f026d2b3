"""Warnings in the report (schema 3): one key per warning across runs, and the diff.

The run writes the deprecation-class warnings into nightly-report.json; the run itself
and the tracking issue compare them with a green run's report the same way, so both
use these functions. A key ignores what changes from run to run for the same warning:
addresses, numbers, the line it was raised at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"\b\d+\b")  # whole numbers: "float32" stays
_SPACE = re.compile(r"\s+")


def normalise(message: str) -> str:
    """`message` with addresses and numbers replaced, so one warning reads the same each run."""
    text = _ADDRESS.sub("0x…", message)
    return _SPACE.sub(" ", _NUMBER.sub("N", text)).strip()


def warning_key(category: str, module: str | None, message: str) -> str:
    """What identifies a warning across runs: its category, where it was raised, its text."""
    return f"{category}|{module or '?'}|{normalise(message)}"


def report_deprecations(report: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The deprecation warnings of a report, or None when its schema predates them (1, 2)."""
    section = report.get("warnings")
    if not isinstance(section, Mapping):
        return None
    entries = section.get("deprecations")
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else None


@dataclass(frozen=True)
class Comparison:
    """The deprecations of a run against an earlier green run's: which are new, which gone."""

    new: frozenset[str]  # keys
    gone: tuple[Mapping[str, Any], ...]  # the earlier run's entries no longer raised


def compare(
    current: Sequence[Mapping[str, Any]], earlier: Iterable[Sequence[Mapping[str, Any]]]
) -> Comparison:
    """Compare with the earlier reports' deprecations (those of a green run's jobs, merged)."""
    before: dict[str, Mapping[str, Any]] = {}
    for entries in earlier:
        for entry in entries:
            before.setdefault(str(entry.get("key")), entry)
    keys = {str(entry.get("key")) for entry in current}
    return Comparison(
        new=frozenset(keys - set(before)),
        gone=tuple(entry for key, entry in before.items() if key not in keys),
    )
