"""The deprecations issue's decisions and text, from report data (the whole life against
the GitHub stand-in is in tests/nightly_tests/test_deprecations.py)."""

from __future__ import annotations

from typing import Any

from nightly_sessions.tracking import deprecations_issue as dep
from nightly_sessions.tracking.decisions import GreenRun, RunInfo, TrackedIssue
from nightly_sessions.tracking.job_reports import JobReport

RUN = RunInfo(url="https://github.com/o/p/actions/runs/7", run_id="7")


def entry(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "key": key, "category": "DeprecationWarning", "message": f"{key} is deprecated @octocat",
        "package": "numpy", "nightly": True, "test": "t.py::t", **fields,
    }  # fmt: skip


def job(name: str, *entries: dict[str, Any], **section: Any) -> JobReport:
    warnings = {"deprecations": list(entries), "gone": [], "compared": False, **section}
    return JobReport(name, {"schema": 3, "outcome": "passed", "warnings": warnings})


def test_against_the_green_run_new_known_and_gone_merged_across_jobs() -> None:
    jobs = [job("py3.12-Linux", entry("a"), entry("b")), job("py3.13-Linux", entry("b"))]
    green = GreenRun(reports=({"warnings": {"deprecations": [entry("b"), entry("c")]}},))
    found = dep.changes(jobs, green)
    assert found.new == {"a"}
    assert [g["key"] for g in found.gone] == ["c"]
    assert [(d.key, d.jobs) for d in found.current] == [
        ("a", ("py3.12-Linux",)), ("b", ("py3.12-Linux", "py3.13-Linux")),
    ]  # fmt: skip
    body = dep.render_body(found, RUN)
    assert (
        "| **new** | `DeprecationWarning` | `a is deprecated @octocat` | `numpy` (nightly)" in body
    )
    assert "@octocat` " in body  # inside code: no ping
    assert "### Gone since the last green run\n\n- `DeprecationWarning` `c is deprecated" in body


def test_without_a_green_run_the_runs_marks_or_else_everything_counts_as_new() -> None:
    marked = job("py3.12-Linux", entry("a", new=True), entry("b", new=False), compared=True)
    found = dep.changes([marked], GreenRun(problem="No successful run yet."))
    assert (found.new, found.note) == (frozenset({"a"}), None)
    first = dep.changes([job("py3.12-Linux", entry("a"))], GreenRun(problem="No successful run."))
    assert first.new == {"a"}
    assert first.note == "No successful run; every warning counts as new"
    older = dep.changes([job("py3.12-Linux", entry("a"))], GreenRun(reports=({"schema": 2},)))
    assert older.note == (
        "the last green run's reports list no warnings (older than schema 3); every warning "
        "counts as new"
    )


def test_open_update_close_or_nothing() -> None:
    jobs = [job("py3.12-Linux", entry("a"))]
    green = GreenRun(reports=({"warnings": {"deprecations": [entry("a")]}},))
    known = dep.changes(jobs, green)
    body = dep.render_body(known, RUN)
    assert dep.decide(known, body, None, RUN).action == "nothing"  # nothing new: no issue
    new = dep.changes(jobs, GreenRun(reports=({"warnings": {"deprecations": []}},)))
    assert dep.decide(new, body, None, RUN).action == "open"
    issue = TrackedIssue(3, "old body")
    update = dep.decide(new, dep.render_body(new, RUN), issue, RUN)
    assert (update.action, update.comment) == (
        "update", "1 new deprecation warning(s) in [run 7](https://github.com/o/p/actions/runs/7).",
    )  # fmt: skip
    assert dep.decide(known, body, issue, RUN).action == "nothing"
    gone = dep.changes([job("py3.12-Linux")], green)
    close = dep.decide(gone, dep.render_body(gone, RUN), issue, RUN)
    assert close.action == "close"
    assert close.comment is not None
    assert close.comment.startswith("No deprecation warning is raised any more in [run 7]")
    assert "- `DeprecationWarning` `a is deprecated @octocat` (`numpy` (nightly))" in close.comment
