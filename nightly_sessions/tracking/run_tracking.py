"""A workflow run's own tracking issue, as values: its failing jobs and steps, body, decision.

The tests issue (`issue_body`) is written from the reports the test jobs upload. A build
or upload job leaves no report, so the wheels workflow's issue is written from the run's
jobs as the Actions API lists them (`github.Job`): each failing job, the step that
failed, and links to both logs. It carries its own marker key and label, so it never
mixes with the tests issue. Pure: jobs in, Markdown and an `IssueDecision` out.
"""

from __future__ import annotations

from collections.abc import Sequence

from nightly_sessions.core.commands import how_to_run
from nightly_sessions.core.redact import redact
from nightly_sessions.tracking.decisions import (
    FailureState,
    IssueDecision,
    RunInfo,
    TrackedIssue,
    describe_change,
    digest,
    lifecycle,
    marker,
    read_state,
)
from nightly_sessions.tracking.github import Job, JobStep
from nightly_sessions.tracking.issue_body import code

DEFAULT_KEY = "nightly-wheels"
DEFAULT_TITLE = "Nightly wheels are failing"
DEFAULT_WORKFLOW = "Nightly wheels"
LABEL_COLOR = "b60205"
LABEL_DESCRIPTION = "The scheduled build or upload of nightly wheels is failing"
# Job and step conclusions that mean "this broke"; `cancelled` is a stop, not a failure.
FAILED = frozenset({"failure", "timed_out", "startup_failure"})
LOCAL_HINT = (
    f"The same steps run locally: {how_to_run('build')}, {how_to_run('check-dist')} and "
    f"{how_to_run('upload')} with --dry-run."
)


def finished(jobs: Sequence[Job]) -> list[Job]:
    """Jobs that have ended; the job running the report is still in progress and left out."""
    return [job for job in jobs if job.status == "completed"]


def failing(jobs: Sequence[Job]) -> list[Job]:
    """Finished jobs that failed, timed out or could not start."""
    return [job for job in finished(jobs) if job.conclusion in FAILED]


def cancelled(jobs: Sequence[Job]) -> list[Job]:
    return [job for job in finished(jobs) if job.conclusion == "cancelled"]


def failing_steps(job: Job) -> list[JobStep]:
    """The steps that failed; for a job that timed out, the step it was stopped in."""
    failed = [step for step in job.steps if step.conclusion in FAILED]
    return failed or [step for step in job.steps if step.conclusion == "cancelled"]


def step_url(job: Job, step: JobStep) -> str:
    """The job's log opened at `step` (GitHub's `#step:N:1` anchor)."""
    return f"{job.url}#step:{step.number}:1" if job.url and step.number else job.url


def failure_state(jobs: Sequence[Job]) -> FailureState:
    """A digest per failing job and step, to tell a new breakage from the same one."""
    keys: set[str] = set()
    for job in failing(jobs):
        names = [step.name for step in failing_steps(job)] or ["(no step)"]
        keys.update(digest(f"{job.name}\0{name}") for name in names)
    return FailureState(digest("\n".join(sorted(keys))), len(keys), frozenset(keys))


def _link(text: str, url: str) -> str:
    return f"[{code(text)}]({url})" if url else code(text)


def render_body(
    jobs: Sequence[Job], run: RunInfo, *, key: str = DEFAULT_KEY, workflow: str = DEFAULT_WORKFLOW
) -> str:
    """The issue body: which jobs failed at which step, with links into their logs."""
    done = finished(jobs)
    broken = failing(jobs)
    where = ""
    if run.branch:
        where += f" on {code(run.branch)}"
    if run.sha:
        where += f" at {code(run.sha[:12])}"
    plural = "s" if len(done) != 1 else ""
    parts = [
        marker(key),
        f"<!-- nightly-sessions:state {failure_state(jobs).to_json(run.run_id)} -->",
        f"## {workflow} failed",
        (
            f"{code(workflow)} failed in {run.link}{where}: {len(broken)} of {len(done)} "
            f"job{plural} failed."
        ),
        _table(done),
    ]
    if any(not failing_steps(job) for job in broken):
        parts.append(
            "A failing job without a failing step did not start, or failed while GitHub set "
            "it up (a runner label that does not exist, a missing permission): its log says why."
        )
    parts.append(
        f"Each link opens the job's log at the failing step. {LOCAL_HINT} Until an upload "
        "succeeds the channel keeps the previous nightlies; scientific-python-nightly-wheels "
        "deletes a project's files 30 days after its last upload."
    )
    return redact("\n\n".join(parts) + "\n")


def _table(jobs: Sequence[Job]) -> str:
    rows = ["| Job | Result | Failing step |", "| --- | --- | --- |"]
    for job in jobs:
        if job.conclusion in FAILED:
            steps = failing_steps(job)
            cell = "<br>".join(_link(step.name, step_url(job, step)) for step in steps) or "—"
            result = f"**{job.conclusion}**"
        else:
            cell, result = "—", str(job.conclusion or "")
        rows.append(f"| {_link(job.name, job.url)} | {result} | {cell} |")
    return "\n".join(rows)


def decide(
    jobs: Sequence[Job], body: str, existing: TrackedIssue | None, run: RunInfo
) -> IssueDecision:
    """Open, update, close or leave the issue, so that each change is told once."""
    broken = failing(jobs)
    stopped = cancelled(jobs)
    if not broken and stopped:
        names = ", ".join(job.name for job in stopped)
        return IssueDecision("nothing", f"no job failed but {names} was cancelled", existing)
    return lifecycle(
        bool(broken),
        body,
        existing,
        close_comment=f"Every job passed in {run.link}; closing.",
        what_failed="a job failed",
        update_comment=lambda issue: _update_comment(jobs, run, issue),
        run_id=run.run_id,
    )


def _update_comment(jobs: Sequence[Job], run: RunInfo, existing: TrackedIssue) -> str:
    broken = failing(jobs)
    names = ", ".join(code(job.name) for job in broken)
    same = "The same jobs and steps failed"
    change = describe_change(read_state(existing.body), failure_state(jobs), same)
    return f"Still failing in {run.link}: {names}. {change}"
