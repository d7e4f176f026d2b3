"""The tracking issue's state and decision: version changes, failures seen, open/update/close."""

from __future__ import annotations

import json
from pathlib import Path

from sample_reports import NUMPY_GREEN, NUMPY_NOW, SampleRuns, job_folder, report_bytes

from nightly_sessions.tracking import decisions as tracking
from nightly_sessions.tracking import issue_body, job_reports
from nightly_sessions.tracking.decisions import RunInfo, TrackedIssue

RUN = RunInfo(
    url="https://github.com/octo/project/actions/runs/77",
    run_id="77",
    branch="main",
    sha="0123456789abcdef",
)


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
    issue = TrackedIssue(number=4, body=body, url="u")
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
    issue = TrackedIssue(number=4, body=issue_body.render_body(before, RUN))
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
        TrackedIssue(5, f"{mark}\nreopened by someone"),
        TrackedIssue(9, "Nightly tests are failing (no marker)"),
        TrackedIssue(7, f"{mark}\nthe newest"),
        TrackedIssue(3, f"{tracking.marker('docs-build')}\nanother workflow"),
    ]
    # The newest is the tracking issue; the other one is its duplicate.
    assert [i.number for i in tracking.find_tracking_issues(issues, "nightly-tests")] == [7, 5]
    found = tracking.find_tracking_issues(issues, "nightly-tests")[0]
    assert tracking.duplicate_comment(found) == "Duplicate of #7"
    assert tracking.find_tracking_issues(issues[1:2], "nightly-tests") == []


def test_body_records_its_run_and_an_older_run_changes_nothing(
    reports: Path, tmp_path: Path, sample_runs: SampleRuns
) -> None:
    failing = job_reports.load_jobs(reports)
    body = issue_body.render_body(failing, RUN)
    assert tracking.read_run_id(body) == 77
    assert tracking.read_state(body) is not None
    assert tracking.read_run_id("no state") is None
    issue = TrackedIssue(4, body)
    green_root = tmp_path / "green"
    job_folder(green_root, "py3.12-Linux", sample_runs.get("passing"))
    green = job_reports.load_jobs(green_root)
    older = RunInfo(url="https://github.com/octo/project/actions/runs/76", run_id="76")
    for jobs in (green, failing):
        decision = tracking.decide(jobs, issue_body.render_body(jobs, older), issue, older)
        assert (decision.action, decision.reason) == (
            "nothing",
            (
                "run 76 is older than run 77, which issue #4 already shows; a re-run of an "
                "older run leaves it as it is"
            ),
        )
    newer = RunInfo(url="https://github.com/octo/project/actions/runs/78", run_id="78")
    assert tracking.decide(green, "", issue, newer).action == "close"
    assert tracking.decide(green, "", issue, RunInfo()).action == "close"  # a local run


def test_comment_posted_once_per_run_and_action() -> None:
    update = f"Still failing in run 8.\n\n{tracking.comment_marker('8', 'update')}"
    assert update.endswith("<!-- nightly-sessions:run 8 update -->")
    edited = f"Still failing (edited by GitHub).\n\n{tracking.comment_marker('8', 'update')}"
    assert tracking.already_posted(["hi", edited], update)
    assert not tracking.already_posted(
        [edited], f"Closed.\n\n{tracking.comment_marker('8', 'close')}"
    )
    assert not tracking.already_posted([edited], f"x\n\n{tracking.comment_marker('9', 'update')}")
    assert tracking.already_posted(["Duplicate of #7\r\n"], "Duplicate of #7")
    assert not tracking.already_posted(["Duplicate of #7"], "Duplicate of #8")


def test_newest_run_an_issue_shows_counts_its_comments() -> None:
    body = '<!-- nightly-sessions:state {"digest":"x","count":0,"failing":[],"run":5} -->'
    closing = f"All passed.\n\n{tracking.comment_marker('9', 'close')}"
    assert tracking.newest_run(body, ["Duplicate of #3", closing]) == 9
    assert tracking.newest_run(body, []) == 5
    assert tracking.newest_run("", ["hi"]) is None


def freshness_job(outcome: str) -> job_reports.JobReport:
    data = {"schema": 1, "kind": "freshness", "outcome": outcome, "message": "old"}
    return job_reports.JobReport(job="freshness", data=data, kind="freshness")


def test_title_and_close_comment_follow_what_fails(tmp_path: Path, sample_runs: SampleRuns) -> None:
    job_folder(tmp_path / "r", "py3.12-Linux", sample_runs.get("passing"))
    [passing] = job_reports.load_jobs(tmp_path / "r")
    job_folder(tmp_path / "f", "py3.12-Linux", sample_runs.get("mixed"))
    [failing] = job_reports.load_jobs(tmp_path / "f")
    stale, fresh = freshness_job("stale"), freshness_job("fresh")
    assert tracking.title_for([passing, stale]) == "Nightly uploads need attention"
    assert tracking.title_for([passing, stale], "failure") == "Nightly tests are failing"
    assert tracking.title_for([failing, stale]) == "Nightly tests are failing"
    assert tracking.title_for([failing]) == "Nightly tests are failing"
    body = issue_body.render_body([passing, stale], RUN)
    assert "## Nightly uploads need attention" in body
    opened = tracking.decide([passing, stale], body, None, RUN)
    assert opened.reason == "the check of the nightly uploads failed and no tracking issue is open"
    issue = TrackedIssue(4, body)
    run2 = RunInfo(url="https://github.com/octo/project/actions/runs/78", run_id="78")
    close = tracking.decide([passing, fresh], "", issue, run2)
    assert (close.action, close.comment) == (
        "close",
        (
            "The nightly tests passed and the nightly uploads are fresh in "
            "[run 78](https://github.com/octo/project/actions/runs/78); closing."
        ),
    )


def test_same_body_ignores_line_ends_and_trailing_space() -> None:
    assert tracking.same_body("a\nb\n", "a \r\nb")
    assert not tracking.same_body("a\nb", "a\nc")
