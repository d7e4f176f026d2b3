"""The tracking issue's state and decision: version changes, failures seen, open/update/close."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_reports import NUMPY_GREEN, NUMPY_NOW, SampleRuns, job_folder, report_bytes, three_jobs

from nightly_sessions import issue_body, job_reports, tracking
from nightly_sessions.tracking import Issue, RunInfo

RUN = RunInfo(
    url="https://github.com/octo/project/actions/runs/77",
    run_id="77",
    branch="main",
    sha="0123456789abcdef",
)


@pytest.fixture
def reports(tmp_path: Path, sample_runs: SampleRuns) -> Path:
    """Three jobs: failures in one, a collection error in another, one passing."""
    return three_jobs(tmp_path / "reports", sample_runs)


def test_no_reports_at_all_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    jobs = job_reports.load_jobs(tmp_path / "never-downloaded")
    assert jobs == []
    assert tracking.is_failing(jobs, "success")
    body = issue_body.render_body(jobs, RUN)
    assert "No nightly report was found at all" in body


def test_version_changes_since_green(reports: Path) -> None:
    jobs = job_reports.load_jobs(reports)
    green = [
        json.loads(report_bytes("py3.12-Linux")),
        json.loads(report_bytes("py3.13-Linux", NUMPY_NOW)),
    ]
    [change] = tracking.version_changes(jobs, green)
    assert (change.package, change.source, change.before, change.after, change.jobs) == (
        "numpy", "nightly", NUMPY_GREEN, NUMPY_NOW, ("py3.12-Linux",),
    )  # fmt: skip
    body = issue_body.render_body(
        jobs, RUN, green=tracking.GreenRun(url="https://x/runs/5", run_id="5", reports=tuple(green))
    )
    assert "### Changed since the last green run" in body
    assert "Compared with [run 5](https://x/runs/5)" in body
    assert f"| `numpy` | nightly | `{NUMPY_GREEN}` | `{NUMPY_NOW}` | `py3.12-Linux` |" in body


def test_decisions_through_a_life(reports: Path, tmp_path: Path, sample_runs: SampleRuns) -> None:
    failing = job_reports.load_jobs(reports)
    body = issue_body.render_body(failing, RUN)
    opened = tracking.decide(failing, body, None, RUN)
    assert opened.action == "open"
    issue = Issue(number=4, body=body, url="u")
    assert tracking.decide(failing, body, issue, RUN).action == "nothing"  # same run again
    run2 = RunInfo(url="https://github.com/octo/project/actions/runs/78", run_id="78")
    body2 = issue_body.render_body(failing, run2)
    update = tracking.decide(failing, body2, issue, run2)
    assert update.action == "update"
    assert update.comment == (
        "Still failing in [run 78](https://github.com/octo/project/actions/runs/78): 5 failed, "
        "3 errors in 2 of 3 jobs. Same failures as before; the description above shows the newest state."
    )
    green_root = tmp_path / "green"
    job_folder(green_root, "py3.12-Linux", sample_runs.get("passing"))
    green = job_reports.load_jobs(green_root)
    close = tracking.decide(green, "", issue, run2)
    assert (close.action, close.comment) == (
        "close", "All nightly jobs passed in [run 78](https://github.com/octo/project/actions/runs/78); closing.",
    )  # fmt: skip
    assert tracking.decide(green, "", None, run2).action == "nothing"
    assert tracking.decide(failing, body2, issue, run2, "cancelled").action == "nothing"
    assert tracking.decide(green, "", issue, run2, "failure").action == "update"


def test_update_comment_tells_new_failures(
    reports: Path, tmp_path: Path, sample_runs: SampleRuns
) -> None:
    before = job_reports.load_jobs(reports)
    issue = Issue(number=4, body=issue_body.render_body(before, RUN))
    root = tmp_path / "more"
    job_folder(root, "py3.12-Linux", sample_runs.get("mixed"))
    job_folder(root, "py3.13-Linux", sample_runs.get("crash"))
    job_folder(root, "py3.11-Linux", sample_runs.get("passing"))
    after = job_reports.load_jobs(root)
    decision = tracking.decide(after, issue_body.render_body(after, RUN), issue, RUN)
    assert decision.comment is not None
    assert "The failures changed: 1 new, 1 no longer failing" in decision.comment


def test_tracking_issue_is_found_by_marker_not_title() -> None:
    mark = tracking.marker("nightly-tests")
    issues = [
        Issue(9, "Nightly tests are failing (no marker)"),
        Issue(7, f"{mark}\nnewer duplicate"),
        Issue(5, f"{mark}\nthe original"),
        Issue(3, f"{tracking.marker('docs-build')}\nanother workflow"),
    ]
    found = tracking.find_tracking_issue(issues, "nightly-tests")
    assert found is not None
    assert found.number == 5
    assert tracking.find_tracking_issue(issues[:1], "nightly-tests") is None


def test_same_body_ignores_line_ends_and_trailing_space() -> None:
    assert tracking.same_body("a\nb\n", "a \r\nb")
    assert not tracking.same_body("a\nb", "a\nc")
