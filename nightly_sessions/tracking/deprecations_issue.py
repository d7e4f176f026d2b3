"""The deprecations issue: new deprecation warnings told while the nightly tests pass.

A separate issue, labelled `nightly-deprecations`, not a section of the failure issue:
that one is closed by every green run and its label means "broken", while deprecations
come weeks before anything breaks and last as long. It opens when a run raises a
deprecation warning the last green run did not, is updated when more appear or some go,
and is closed (saying so) when none is raised any more. Pure decisions and text here;
`issue.py` reads the reports and talks to GitHub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nightly_sessions.core.warning_keys import compare, report_deprecations
from nightly_sessions.tracking.decisions import (
    GreenRun,
    IssueDecision,
    RunInfo,
    TrackedIssue,
    marker,
    same_body,
)
from nightly_sessions.tracking.issue_body import code
from nightly_sessions.tracking.job_reports import JobReport

KEY = "nightly-deprecations"
TITLE = "Nightly dependencies raise deprecation warnings in the tests"
LABEL_COLOR = "fbca04"
LABEL_DESCRIPTION = "Deprecation warnings the tests raise against nightly dependencies"
MAX_ROWS = 60


@dataclass(frozen=True)
class Deprecation:
    """One deprecation warning, merged across the matrix jobs that raised it."""

    entry: Mapping[str, Any]
    jobs: tuple[str, ...]

    @property
    def key(self) -> str:
        return str(self.entry.get("key"))


@dataclass(frozen=True)
class Changes:
    """This run's deprecations, which are new, which are gone, and what they were compared with."""

    current: tuple[Deprecation, ...]
    new: frozenset[str]
    gone: tuple[Mapping[str, Any], ...]
    note: str | None = None  # why nothing could be compared: every warning counts as new


def current(jobs: Sequence[JobReport]) -> tuple[Deprecation, ...]:
    """The deprecations of every test job's report, one per key, with the jobs raising it."""
    seen: dict[str, tuple[Mapping[str, Any], list[str]]] = {}
    for job in jobs:
        for entry in report_deprecations(job.data) or []:
            found = seen.setdefault(str(entry.get("key")), (entry, []))
            found[1].append(job.job)
    return tuple(Deprecation(entry, tuple(names)) for entry, names in seen.values())


def changes(jobs: Sequence[JobReport], green: GreenRun | None) -> Changes:
    """Compare with the last green run's reports; without them, with the runs' own marks.

    A run never compared (no green run yet, reports older than schema 3) counts every
    warning as new, so the first run after adopting this shows what is raised today.
    """
    now = current(jobs)
    entries = [d.entry for d in now]
    earlier = [report_deprecations(r) for r in (green.reports if green else ())]
    known = [e for e in earlier if e is not None]
    if known:
        comparison = compare(entries, known)
        return Changes(now, comparison.new, comparison.gone)
    marked = _marked_by_runs(jobs)
    if marked is not None:
        return Changes(now, marked[0], marked[1])
    why = (
        green.problem
        if green is not None and green.problem
        else "the last green run's reports list no warnings (older than schema 3)"
        if green is not None
        else "no green run to compare with"
    )
    return Changes(
        now, frozenset(d.key for d in now), (), f"{why.rstrip('.')}; every warning counts as new"
    )


def _marked_by_runs(
    jobs: Sequence[JobReport],
) -> tuple[frozenset[str], tuple[Mapping[str, Any], ...]] | None:
    """The runs' own marks (their 'last-green' setting), when some job compared."""
    sections = [job.data.get("warnings") for job in jobs]
    compared = [s for s in sections if isinstance(s, Mapping) and s.get("compared")]
    if not compared:
        return None
    new = {
        str(e.get("key"))
        for s in compared
        for e in s.get("deprecations") or []
        if isinstance(e, Mapping) and e.get("new") is True
    }
    gone = {str(g.get("key")): g for s in compared for g in s.get("gone") or []}
    return frozenset(new), tuple(gone.values())


def decide(found: Changes, body: str, existing: TrackedIssue | None, run: RunInfo) -> IssueDecision:
    """Open on new deprecations, update when some appear or go, close when none is left."""
    if existing is None:
        if found.new:
            return IssueDecision("open", f"{len(found.new)} new deprecation warning(s)")
        return IssueDecision("nothing", "no new deprecation warning and no deprecations issue")
    if not found.current:
        comment = f"No deprecation warning is raised any more in {run.link}; closing."
        if found.gone:
            comment += "\n\nGone since the last green run:\n\n" + "\n".join(gone_lines(found))
        return IssueDecision("close", "every deprecation warning is gone", existing, comment)
    if not (found.new or found.gone) or same_body(existing.body, body):
        return IssueDecision(
            "nothing", f"no deprecation warning came or went since issue #{existing.number}",
            existing,
        )  # fmt: skip
    parts = []
    if found.new:
        parts.append(f"{len(found.new)} new deprecation warning(s)")
    if found.gone:
        parts.append(f"{len(found.gone)} gone")
    return IssueDecision(
        "update",
        " and ".join(parts),
        existing,
        f"{' and '.join(parts).capitalize()} in {run.link}.",
    )


def render_body(found: Changes, run: RunInfo) -> str:
    """The issue: the deprecations raised now (new ones marked), then those gone."""
    lines = [
        marker(KEY),
        f"## Deprecation warnings in the nightly tests ({run.link})",
        "",
        (
            "Whatever the tests' result, these warnings say what will break when the "
            "deprecations land; **new** marks those the last green run did not raise."
        ),
        "",
    ]
    if found.note:
        lines += [f"> [!NOTE]\n> {found.note}.", ""]
    ordered = sorted(
        found.current,
        key=lambda d: (d.key not in found.new, not d.entry.get("nightly"), d.key),
    )
    if ordered:
        lines += [
            "| | category | message | package | first test | jobs |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [_row(d, d.key in found.new) for d in ordered[:MAX_ROWS]]
        if len(ordered) > MAX_ROWS:
            lines.append(f"\n…and {len(ordered) - MAX_ROWS} more; the reports list them all.")
    else:
        lines.append("No deprecation warning is raised any more.")
    if found.gone:
        lines += ["", "### Gone since the last green run", "", *gone_lines(found)]
    return "\n".join(lines) + "\n"


def gone_lines(found: Changes) -> list[str]:
    """One line per deprecation the last green run raised and this one did not."""
    return [
        f"- {code(str(g.get('category')))} {code(str(g.get('message')))} ({package_cell(g)})"
        for g in found.gone[:MAX_ROWS]
    ]


def _row(deprecation: Deprecation, new: bool) -> str:
    entry = deprecation.entry
    test = entry.get("test")
    return (
        f"| {'**new**' if new else ''} | {code(str(entry.get('category')))} "
        f"| {code(str(entry.get('message')))} | {package_cell(entry)} "
        f"| {code(str(test)) if test else '-'} | {', '.join(deprecation.jobs)} |"
    )


def package_cell(entry: Mapping[str, Any]) -> str:
    name = entry.get("package")
    if not isinstance(name, str):
        return "unknown package"
    return f"{code(name)} (nightly)" if entry.get("nightly") else code(name)
