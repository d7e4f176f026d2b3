"""A workflow run's own tracking issue, as values: its failing jobs and steps, body, decision.

The tests issue (`issue_body`) is written from the reports the test jobs upload. A build
or upload job leaves no report, so the wheels workflow's issue is written from the run's
jobs as the Actions API lists them (`github.Job`): each failing job, the step that
failed, and links to both logs. It carries its own marker key and label, so it never
mixes with the tests issue. The upload job's token check leaves a report
(`token-report.json`, read here as a `TokenNotice`): a token that expires soon, has
expired or lacks a scope opens the issue too, even when every job passed, so that someone
makes a new one before the uploads stop. Pure: jobs in, Markdown and an `IssueDecision` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
# Only the token check warns (a title, not a secret).
TOKEN_TITLE = "The anaconda.org upload token needs renewing"  # noqa: S105
TITLES = (DEFAULT_TITLE, TOKEN_TITLE)  # titles chosen here, so they may change with the cause
DEFAULT_WORKFLOW = "Nightly wheels"
LABEL_COLOR = "b60205"
LABEL_DESCRIPTION = "The scheduled build or upload of nightly wheels is failing"
# Job and step conclusions that mean "this broke"; `cancelled` is a stop, not a failure.
FAILED = frozenset({"failure", "timed_out", "startup_failure"})
LOCAL_HINT = (
    f"The same steps run locally: {how_to_run('build')}, {how_to_run('check-dist')} and "
    f"{how_to_run('upload')} with --dry-run."
)


# Outcomes of the token check that need a person: it expires soon, has expired, is refused,
# or lacks a scope. "unreadable" (anaconda.org could not be asked) only goes with a failure.
TOKEN_ATTENTION = frozenset({"warning", "expired", "refused", "missing-scopes"})


@dataclass(frozen=True)
class TokenNotice:
    """What the upload token check of this run said (its token-report.json, schema 1)."""

    outcome: str
    sentences: tuple[str, ...]  # what stops first, then the warnings
    expires: str | None = None
    missing_scopes: tuple[str, ...] = ()
    run_id: str | None = None

    @classmethod
    def from_report(cls, data: Mapping[str, Any]) -> TokenNotice | None:
        """The notice in a token report; None when `data` is not one."""
        if data.get("schema") != 1 or data.get("kind") != "token":
            return None
        outcome = data.get("outcome")
        warnings = data.get("warnings")
        if not isinstance(outcome, str) or not isinstance(warnings, list):
            return None
        message = data.get("message")
        texts = [message, *warnings] if isinstance(message, str) and message else warnings
        missing = data.get("missing_scopes")
        expires, run_id = data.get("expires"), data.get("run_id")
        return cls(
            outcome=outcome,
            sentences=tuple(redact(str(text)) for text in texts if isinstance(text, str)),
            expires=expires if isinstance(expires, str) else None,
            missing_scopes=tuple(str(m) for m in missing) if isinstance(missing, list) else (),
            run_id=str(run_id) if run_id is not None else None,
        )

    @property
    def attention(self) -> bool:
        """Whether the token needs a person, whatever the jobs did."""
        return self.outcome in TOKEN_ATTENTION and bool(self.sentences)

    def shown(self, jobs_failed: bool) -> bool:
        """Whether the issue shows it: when it needs a person, or explains a failure."""
        return self.attention or (
            jobs_failed and self.outcome == "unreadable" and bool(self.sentences)
        )

    @property
    def state_key(self) -> str:
        """A digest that stays the same while the same token says the same thing."""
        missing = ",".join(self.missing_scopes)
        return digest(f"token\0{self.outcome}\0{self.expires or ''}\0{missing}")


def _attention(token: TokenNotice | None) -> bool:
    return token is not None and token.attention


def title_for(jobs: Sequence[Job], token: TokenNotice | None = None) -> str:
    """The issue's title: the token's when only the token needs a person."""
    return TOKEN_TITLE if not failing(jobs) and _attention(token) else DEFAULT_TITLE


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


def failure_state(jobs: Sequence[Job], token: TokenNotice | None = None) -> FailureState:
    """A digest per failing job and step (and the token's state, when it is shown), to tell
    a new breakage from the same one."""
    keys: set[str] = set()
    broken = failing(jobs)
    for job in broken:
        names = [step.name for step in failing_steps(job)] or ["(no step)"]
        keys.update(digest(f"{job.name}\0{name}") for name in names)
    if token is not None and token.shown(bool(broken)):
        keys.add(token.state_key)
    return FailureState(digest("\n".join(sorted(keys))), len(keys), frozenset(keys))


def _link(text: str, url: str) -> str:
    return f"[{code(text)}]({url})" if url else code(text)


def _token_section(token: TokenNotice) -> str:
    """The token check's sentences, as a section of the body."""
    return "### The anaconda.org upload token\n\n" + "\n\n".join(token.sentences)


def render_body(
    jobs: Sequence[Job],
    run: RunInfo,
    *,
    key: str = DEFAULT_KEY,
    workflow: str = DEFAULT_WORKFLOW,
    token: TokenNotice | None = None,
) -> str:
    """The issue body: which jobs failed at which step, with links into their logs, and
    what the upload token check said when it needs a person."""
    done = finished(jobs)
    broken = failing(jobs)
    where = ""
    if run.branch:
        where += f" on {code(run.branch)}"
    if run.sha:
        where += f" at {code(run.sha[:12])}"
    state = f"<!-- nightly-sessions:state {failure_state(jobs, token).to_json(run.run_id)} -->"
    if not broken and token is not None and token.attention:
        parts = [
            marker(key),
            state,
            "## The anaconda.org upload token needs renewing",
            (
                f"Every job of {code(workflow)} passed in {run.link}{where}, but its check of "
                "the upload token needs someone to act before the uploads stop:"
            ),
            _token_section(token),
            (
                f"The next run of {code(workflow)} after the secret holds a new token closes "
                "this issue. Until then the uploads go on with the old token while it lasts."
            ),
        ]
        return redact("\n\n".join(parts) + "\n")
    plural = "s" if len(done) != 1 else ""
    parts = [
        marker(key),
        state,
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
    if token is not None and token.shown(True):
        parts.append(_token_section(token))
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
    jobs: Sequence[Job],
    body: str,
    existing: TrackedIssue | None,
    run: RunInfo,
    token: TokenNotice | None = None,
) -> IssueDecision:
    """Open, update, close or leave the issue, so that each change is told once.

    A token that needs a person keeps the issue open (or opens it) with every job green.
    """
    broken = failing(jobs)
    stopped = cancelled(jobs)
    needs_token = _attention(token)
    if not broken and stopped and not needs_token:
        names = ", ".join(job.name for job in stopped)
        return IssueDecision("nothing", f"no job failed but {names} was cancelled", existing)
    valid = token is not None and token.outcome == "ok"
    return lifecycle(
        bool(broken) or needs_token,
        body,
        existing,
        close_comment=(
            f"Every job passed and the upload token is valid in {run.link}; closing."
            if valid
            else f"Every job passed in {run.link}; closing."
        ),
        what_failed="a job failed" if broken else "the upload token needs renewing",
        update_comment=lambda issue: _update_comment(jobs, run, issue, token),
        run_id=run.run_id,
    )


def _update_comment(
    jobs: Sequence[Job], run: RunInfo, existing: TrackedIssue, token: TokenNotice | None = None
) -> str:
    broken = failing(jobs)
    state = failure_state(jobs, token)
    if not broken:
        same = "The upload token says the same"
        change = describe_change(read_state(existing.body), state, same)
        return f"The upload token still needs renewing in {run.link}. {change}"
    names = ", ".join(code(job.name) for job in broken)
    same = "The same jobs and steps failed"
    change = describe_change(read_state(existing.body), state, same)
    return f"Still failing in {run.link}: {names}. {change}"
