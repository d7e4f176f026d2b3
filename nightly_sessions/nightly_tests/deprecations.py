"""The run's warnings: load the plugin into pytest, read what it kept, write the report section.

pytest-reportlog records warnings without the test that raised them, so a small plugin
(pytest_plugin/nightly_sessions_warnings.py) runs inside the project's test environment
and writes pytest-warnings.jsonl. Here its records become the report's `warnings`:
the deprecation-class ones merged by key, each with the package that emits it, and
marked new or known against the last green run's report.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from nightly_sessions.core.config import Settings
from nightly_sessions.core.markdown import plain_table
from nightly_sessions.core.report_log import log_entries
from nightly_sessions.core.warning_keys import compare, report_deprecations, warning_key
from nightly_sessions.nightly_tests.culprit_run import last_green_report
from nightly_sessions.nightly_tests.warnings_plugin import WARNINGS_LOG_NAME, error_filters

MAX_LISTED = 100  # deprecations listed in the report; the rest are counted
MAX_MESSAGE = 500


def collect(
    settings: Settings,
    *,
    planned: Collection[str],
    project: str | None,
    job: str,
    python: str,
    folder: Path,
) -> dict[str, Any]:
    """The report's `warnings` section of the run whose plugin wrote into `folder`."""
    earlier, notes = last_green_report(settings, job, python)
    problem = "; ".join(notes) or "no last green run given ('last-green', --last-green)"
    return summarise(
        read_records(folder / WARNINGS_LOG_NAME), planned=planned, project=project,
        as_errors=settings.warnings_as_errors, earlier=earlier, earlier_problem=problem,
    )  # fmt: skip


def read_records(path: Path) -> list[dict[str, Any]]:
    """The plugin's records; an absent file (pytest never started) holds none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return list(log_entries(text.splitlines()))


def summarise(
    records: Iterable[Mapping[str, Any]],
    *,
    planned: Collection[str],
    project: str | None,
    as_errors: Sequence[str],
    earlier: Mapping[str, Any] | None,
    earlier_problem: str | None,
) -> dict[str, Any]:
    """The report's `warnings` section from the plugin's records.

    `earlier` is the last green run's report (None: `earlier_problem` says why there is
    no comparison). A warning that became an error is listed with the failures only.
    """
    nightlies = {canonicalize_name(name) for name in planned}
    merged: dict[str, dict[str, Any]] = {}
    errors: dict[str, dict[str, Any]] = {}
    other = dropped = 0
    unknown: list[str] = []
    for record in records:
        kind = record.get("kind")
        if kind == "dropped":
            dropped += int(record.get("count") or 0)
            continue
        if kind == "unknown-category":
            unknown.append(str(record.get("category")))
            continue
        entry = _entry(record, nightlies, project)
        if kind == "error":  # one per failed test
            errors.setdefault(f"{entry['key']}|{entry['test']}", entry)
        elif kind == "warning" and record.get("deprecation"):
            _merge(merged, entry)
        elif kind == "warning":
            other += int(record.get("count") or 1)
    failed_on = {entry["key"] for entry in errors.values()}
    deprecations = [e for key, e in merged.items() if key not in failed_on]
    before = report_deprecations(earlier) if earlier is not None else None
    if earlier is not None and before is None:
        earlier_problem = "the last green run's report predates the list of warnings"
    comparison = compare(deprecations, [before]) if before is not None else None
    for entry in deprecations:
        entry["new"] = None if comparison is None else entry["key"] in comparison.new
    deprecations.sort(key=lambda e: (not e["nightly"], e["new"] is False, -e["count"], e["key"]))
    return {
        "as_errors": list(as_errors),
        "filters": error_filters([c for c in as_errors if c not in unknown]),
        "unknown_categories": unknown,
        "compared": comparison is not None,
        "comparison_problem": None if comparison is not None else earlier_problem,
        "deprecations": deprecations[:MAX_LISTED],
        "more": max(0, len(deprecations) - MAX_LISTED),
        "gone": [_gone(entry) for entry in comparison.gone] if comparison else [],
        "errors": list(errors.values()),
        "other": other,
        "dropped": dropped,
    }


def _entry(
    record: Mapping[str, Any], nightlies: Collection[str], project: str | None
) -> dict[str, Any]:
    category, module = str(record.get("category")), record.get("module")
    message = str(record.get("message"))
    package = owner(record, nightlies, project)
    return {
        "key": warning_key(category, module if isinstance(module, str) else None, message),
        "category": category,
        "message": message[:MAX_MESSAGE],
        "module": module if isinstance(module, str) else None,
        "filename": record.get("filename"),
        "lineno": record.get("lineno"),
        "package": package,
        "nightly": package is not None and canonicalize_name(package) in nightlies,
        "test": record.get("nodeid"),
        "count": int(record.get("count") or 1),
    }


def _merge(merged: dict[str, dict[str, Any]], entry: dict[str, Any]) -> None:
    """Several records of one key (addresses, lines) become one entry with their count."""
    known = merged.get(entry["key"])
    if known is None:
        merged[entry["key"]] = entry
    else:
        known["count"] += entry["count"]


def owner(record: Mapping[str, Any], nightlies: Collection[str], project: str | None) -> str | None:
    """The package a warning belongs to: its category's, the file's (not the project's own),
    else a planned nightly the message names (a warning raised with stacklevel points at
    the caller, the project, while its text names the package that deprecates)."""
    own = canonicalize_name(project) if project else None
    for field in ("category_distribution", "distribution"):
        name = record.get(field)
        if isinstance(name, str) and canonicalize_name(name) != own:
            return name
    words = {canonicalize_name(word) for word in _words(str(record.get("message")))}
    named = sorted(name for name in nightlies if name in words)
    if named:
        return named[0]
    return project if isinstance(record.get("distribution"), str) else None


def _words(text: str) -> list[str]:
    """Names in a message: `numpy.linalg.foo` gives numpy, numpy.linalg ... and each part."""
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else " " for ch in text)
    return [part for word in cleaned.split() for part in word.split(".") if part]


def _gone(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {key: entry.get(key) for key in ("key", "category", "message", "package", "nightly")}


def unknown_sentence(category: str) -> str:
    """Why a category of 'warnings-as-errors' made no error."""
    return (
        f"'warnings-as-errors' names {category}, which the test environment cannot import, "
        "so it stays a warning; check its spelling and module (numpy.exceptions.RankWarning)."
    )


def new_deprecations(section: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The deprecations marked new since the last green run."""
    entries = (section or {}).get("deprecations") or []
    return [e for e in entries if isinstance(e, Mapping) and e.get("new") is True]


def new_sentence(section: Mapping[str, Any]) -> str:
    """Why 'fail-on-new-deprecations' fails a green run: the new warnings, counted and named."""
    new = new_deprecations(section)
    packages = sorted({str(e.get("package") or "an unknown package") for e in new})
    return (
        f"{len(new)} new deprecation warning(s) since the last green run (from "
        f"{', '.join(packages)}), and 'fail-on-new-deprecations' is on; see the report's "
        "warnings, or set 'fail-on-new-deprecations = false' to only report them."
    )


def markdown(section: Mapping[str, Any] | None) -> list[str]:
    """The report's warnings section in Markdown: deprecations, new ones marked; gone ones."""
    parts = ("deprecations", "gone", "errors", "filters", "unknown_categories")
    if not section or not any(section.get(part) for part in parts):
        return []  # nothing raised, nothing asked: no section in every green run's summary
    lines = ["", "### Deprecation warnings", ""]
    if section.get("filters"):
        filters = ", ".join(f"`{f}`" for f in section["filters"])
        lines += [f"Warnings as errors: {filters} (the project's own filters win).", ""]
    for name in section.get("unknown_categories") or []:
        lines += [f"**Not applied:** {unknown_sentence(name)}", ""]
    entries = section.get("deprecations") or []
    if not entries:
        lines.append("None raised during the tests.")
    else:
        rows: list[tuple[str, ...]] = [
            ("", "category", "message", "package", "first test", "count")
        ]
        rows += [_row(entry) for entry in entries]
        lines += plain_table(rows)
    if section.get("more"):
        lines.append(f"\n{section['more']} more not listed.")
    if entries and not section.get("compared") and section.get("comparison_problem"):
        lines += ["", f"Not compared with a green run: {section['comparison_problem']}."]
    gone = section.get("gone") or []
    if gone:
        lines += ["", "Gone since the last green run:", ""]
        lines += [f"- {g.get('category')}: {_one_line(g.get('message'))}" for g in gone]
    if section.get("errors"):
        lines += ["", "Warnings that became errors (failures above):", ""]
        lines += [
            f"- `{e.get('test')}`: {e.get('category')}: {_one_line(e.get('message'))}"
            f" (from {e.get('package') or 'an unknown package'})"
            for e in section["errors"]
        ]
    return lines


def _row(entry: Mapping[str, Any]) -> tuple[str, ...]:
    mark = {True: "**new**", False: "known", None: ""}[entry.get("new")]
    package = str(entry.get("package") or "?") + (" (nightly)" if entry.get("nightly") else "")
    return (
        mark, str(entry.get("category")), _one_line(entry.get("message")), package,
        str(entry.get("test") or "-"), str(entry.get("count")),
    )  # fmt: skip


def _one_line(text: object, width: int = 160) -> str:
    """`text` on one line, cut, as inline code: a message can neither ping nor link."""
    line = " ".join(str(text).replace("`", "'").split())
    return f"`{line if len(line) <= width else line[: width - 1] + '…'}`"
