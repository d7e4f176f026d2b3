"""The wheels workflow's issue as values: failing jobs and steps, the body, the decision."""

from __future__ import annotations

from nightly_sessions.tracking import run_tracking
from nightly_sessions.tracking.decisions import RunInfo, TrackedIssue, marker
from nightly_sessions.tracking.github import Job, JobStep

RUN = RunInfo(
    url="https://github.com/octo/p/actions/runs/7", run_id="7", branch="main", sha="a" * 40
)
URL = "https://github.com/octo/p/actions/runs/7/job"


def step(number: int, name: str, conclusion: str | None = "success") -> JobStep:
    return JobStep(number, name, "completed" if conclusion else "pending", conclusion)


def job(
    name: str, conclusion: str | None = "success", *steps: JobStep, status: str = "completed"
) -> Job:
    return Job(len(name), name, status, conclusion, f"{URL}/{len(name)}", tuple(steps))


BUILD_FAILS = job(
    "Build wheels on windows-latest",
    "failure",
    step(1, "Set up job"),
    step(2, "Check out the repository"),
    step(3, "Build the nightly wheels with cibuildwheel", "failure"),
    step(4, "Keep dist/*.whl as an artifact", "skipped"),
)
BUILD_PASSES = job("Build wheels on ubuntu-latest", "success", step(1, "Set up job"))
UPLOAD_PASSES = job("Upload to anaconda.org/scientific-python-nightly-wheels", "success")
UPLOAD_FAILS = job(
    "Upload to anaconda.org/scientific-python-nightly-wheels",
    "failure",
    step(5, "Check every file before upload", "failure"),
)
REPORTING = job("Update the wheels tracking issue", None, status="in_progress")


def test_body_names_each_failing_job_and_step_with_links() -> None:
    jobs = [BUILD_PASSES, BUILD_FAILS, UPLOAD_PASSES, REPORTING]
    body = run_tracking.render_body(jobs, RUN, workflow="Nightly wheels")
    assert body.startswith(marker("nightly-wheels") + "\n")
    assert "## Nightly wheels failed" in body
    assert f"[run 7]({RUN.url}) on `main` at `aaaaaaaaaaaa`: 1 of 3 jobs failed." in body
    assert (
        f"| [`Build wheels on windows-latest`]({BUILD_FAILS.url}) | **failure** "
        f"| [`Build the nightly wheels with cibuildwheel`]({BUILD_FAILS.url}#step:3:1) |"
    ) in body
    assert f"| [`Build wheels on ubuntu-latest`]({BUILD_PASSES.url}) | success | — |" in body
    assert "Update the wheels tracking issue" not in body  # still running: not counted
    assert "nox -s build_nightly" in body


def test_timed_out_job_shows_the_step_it_was_stopped_in() -> None:
    slow = job("Build", "timed_out", step(1, "Set up job"), step(2, "Build", "cancelled"))
    assert run_tracking.failing_steps(slow) == [slow.steps[1]]
    assert f"[`Build`]({slow.url}#step:2:1)" in run_tracking.render_body([slow], RUN)


def test_job_that_never_started_is_explained() -> None:
    body = run_tracking.render_body([job("Build on windows-99", "startup_failure")], RUN)
    assert "| **startup_failure** | — |" in body
    assert "did not start" in body


def test_names_from_the_workflow_cannot_ping_or_break_the_table() -> None:
    body = run_tracking.render_body([job("Build @octocat | #1", "failure")], RUN)
    assert "[`Build @octocat \\| #1`]" in body


def test_decisions_over_a_life() -> None:
    failing = [BUILD_FAILS, UPLOAD_PASSES]
    body = run_tracking.render_body(failing, RUN)
    assert run_tracking.decide(failing, body, None, RUN).action == "open"
    existing = TrackedIssue(3, body)
    assert run_tracking.decide(failing, body, existing, RUN).action == "nothing"

    later = RunInfo(url="https://github.com/octo/p/actions/runs/8", run_id="8")
    again = run_tracking.render_body(failing, later)
    decision = run_tracking.decide(failing, again, existing, later)
    assert decision.action == "update"
    assert decision.comment == (
        f"Still failing in [run 8]({later.url}): `Build wheels on windows-latest`. The same "
        "jobs and steps failed as before; the description above shows the newest state."
    )
    changed = [BUILD_PASSES, UPLOAD_FAILS]
    decision = run_tracking.decide(
        changed, run_tracking.render_body(changed, later), existing, later
    )
    assert decision.comment is not None
    assert "The failures changed: 1 new, 1 no longer failing" in decision.comment

    green = [BUILD_PASSES, UPLOAD_PASSES, REPORTING]
    decision = run_tracking.decide(green, "", existing, later)
    assert (decision.action, decision.comment) == (
        "close",
        f"Every job passed in [run 8]({later.url}); closing.",
    )
    assert run_tracking.decide(green, "", None, later).action == "nothing"


def test_a_rerun_of_an_older_run_leaves_the_issue_alone() -> None:
    newer = RunInfo(url="https://github.com/octo/p/actions/runs/9", run_id="9")
    failing = [BUILD_FAILS, UPLOAD_PASSES]
    existing = TrackedIssue(3, run_tracking.render_body(failing, newer))
    assert '"run":9' in existing.body
    green = [BUILD_PASSES, UPLOAD_PASSES]
    decision = run_tracking.decide(green, "", existing, RUN)  # run 7, re-run after run 9
    assert decision.action == "nothing"
    assert "run 7 is older than run 9" in decision.reason
    assert run_tracking.decide(green, "", existing, newer).action == "close"


def test_cancelled_run_leaves_the_issue_alone() -> None:
    stopped = [BUILD_PASSES, job("Upload", "cancelled")]
    decision = run_tracking.decide(stopped, "", TrackedIssue(3, "old"), RUN)
    assert decision.action == "nothing"
    assert "Upload was cancelled" in decision.reason


def test_skipped_jobs_are_not_failures() -> None:
    jobs = [BUILD_PASSES, job("Upload", "skipped"), job("Keep the schedules enabled", "skipped")]
    assert run_tracking.failing(jobs) == []
    assert run_tracking.decide(jobs, "", TrackedIssue(1, "b"), RUN).action == "close"
