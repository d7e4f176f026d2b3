"""The tracking issue's state and decision: which failures it showed, and what to do with it.

Everything here is pure: job reports in, an `IssueDecision` out. The issue body is written by
`issue_body`, the GitHub calls live in `github`, the command that ties them together in
`issue`. The marker and the hidden failure state in a body are what this module reads
back from an existing issue.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nightly_sessions.core.git_url import short_commit
from nightly_sessions.tracking.job_reports import JobReport

DEFAULT_KEY = "nightly-tests"
DEFAULT_TITLE = "Nightly tests are failing"
UPLOADS_TITLE = "Nightly uploads need attention"  # only the freshness check fails
TITLES = (DEFAULT_TITLE, UPLOADS_TITLE)  # titles this module chose, so it may change them
MARKER = "<!-- nightly-sessions:tracking-issue {key} -->"
_STATE = re.compile(r"<!-- nightly-sessions:state (?P<state>\{.*?\}) -->")
# Ends each comment this tool posts, so a re-run of the same run can tell it is there.
COMMENT_MARKER = "<!-- nightly-sessions:run {run_id} {action} -->"
_COMMENT_MARKER = re.compile(r"<!-- nightly-sessions:run (?P<run>\S+) \S+ -->")
MAX_STATE_KEYS = 300  # beyond that the body keeps only a digest

Action = Literal["open", "update", "close", "nothing"]
TESTS_RESULTS: tuple[str, ...] = ("success", "failure", "cancelled", "skipped")


# The state of a run.


@dataclass(frozen=True)
class RunInfo:
    """Where this run is: its page, branch and commit (all optional outside GitHub Actions)."""

    url: str | None = None
    run_id: str | None = None
    branch: str | None = None
    sha: str | None = None
    event: str | None = None

    @property
    def link(self) -> str:
        if self.url:
            return f"[run {self.run_id or ''}]({self.url})".replace(" ]", "]")
        return "a local run"


@dataclass(frozen=True)
class GreenRun:
    """The newest successful run and its reports, or why they could not be had."""

    url: str | None = None
    run_id: str | None = None
    reports: tuple[Mapping[str, Any], ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class VersionChange:
    """One package whose installed version differs from the last green run's."""

    package: str
    source: str
    before: str | None
    after: str | None
    jobs: tuple[str, ...]


def is_failing(jobs: Sequence[JobReport], tests_result: str | None) -> bool:
    """A run fails when any job failed, any report is missing, or the test jobs failed."""
    return not jobs or any(job.failing for job in jobs) or tests_result == "failure"


def only_uploads_fail(jobs: Sequence[JobReport], tests_result: str | None = None) -> bool:
    """Whether the freshness check is all that fails: the tests themselves passed."""
    failing = {job.kind for job in jobs if job.failing}
    return failing == {"freshness"} and tests_result != "failure"


def title_for(jobs: Sequence[JobReport], tests_result: str | None = None) -> str:
    """The title of the issue: what fails, as the body's heading says it."""
    return UPLOADS_TITLE if only_uploads_fail(jobs, tests_result) else DEFAULT_TITLE


def version_changes(
    jobs: Sequence[JobReport], green: Sequence[Mapping[str, Any]]
) -> list[VersionChange]:
    """Packages whose installed version changed since the green run, merged across jobs."""
    by_job = {str(r.get("job")): r for r in green}
    by_python = {str(r.get("python")): r for r in reversed(green)}
    rows: dict[tuple[str, str, str | None, str | None], list[str]] = {}
    for job in jobs:
        if job.problem is not None or job.kind != "tests":
            continue
        before_report = by_job.get(job.job) or by_python.get(job.python)
        if before_report is None:
            continue
        before = _installed(before_report.get("packages"))
        now = {str(p["name"]): p for p in job.packages}
        for name in sorted(set(before) | set(now)):
            old = _installed_text(before.get(name, {}))
            new = _installed_text(now.get(name, {}))
            if old != new:
                source = str(now.get(name, before.get(name, {})).get("source", ""))
                key = (name, source, _optional(old), _optional(new))
                rows.setdefault(key, []).append(job.job)
    return [
        VersionChange(package=name, source=source, before=old, after=new, jobs=tuple(names))
        for (name, source, old, new), names in sorted(rows.items(), key=lambda item: item[0][0])
    ]


def _installed(packages: object) -> dict[str, Mapping[str, Any]]:
    if not isinstance(packages, list):
        return {}
    return {str(p["name"]): p for p in packages if isinstance(p, dict) and "name" in p}


def _installed_text(package: Mapping[str, Any]) -> object:
    """The installed version; a git package's with its commit, which moves without it."""
    installed, commit = package.get("installed"), short_commit(package.get("commit"))
    return f"{installed} (git {commit})" if installed and commit else installed


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


# What an issue body records: its marker and the failures it showed.


def marker(key: str) -> str:
    """The hidden line that identifies the tracking issue of `key`."""
    return MARKER.format(key=key)


@dataclass(frozen=True)
class FailureState:
    """Which failures a body showed: a digest of them all, and their keys when few enough."""

    digest: str
    count: int
    keys: frozenset[str]

    @property
    def complete(self) -> bool:
        return len(self.keys) == self.count

    def to_json(self, run_id: str | None = None) -> str:
        """The hidden state, with the run that wrote it when known (to ignore older runs)."""
        keys = sorted(self.keys) if self.complete else []
        data: dict[str, Any] = {"digest": self.digest, "count": self.count, "failing": keys}
        if run_id is not None and run_id.isdigit():
            data["run"] = int(run_id)
        return json.dumps(data, separators=(",", ":"))


def failure_state(jobs: Sequence[JobReport]) -> FailureState:
    """Short stable hashes of each failing test group (or job), to tell new failures from old."""
    keys: set[str] = set()
    for job in jobs:
        groups = job.groups
        if job.failing and not groups:
            crashed = job.log is not None and not job.log.finished
            keys.add(digest(f"{job.job}\0{'crashed' if crashed else job.outcome}"))
        for group in groups:
            keys.add(digest(f"{job.job}\0{group.base}\0{group.kind}"))
        for check in job.failed_checks:  # a check that starts failing is a new failure
            keys.add(digest(f"{job.job}\0check\0{check['name']}\0{check.get('outcome')}"))
    combined = digest("\n".join(sorted(keys)))
    return FailureState(
        combined, len(keys), frozenset(keys) if len(keys) <= MAX_STATE_KEYS else frozenset()
    )


def digest(text: str) -> str:
    """A short, stable fingerprint of `text` for the hidden state in issue bodies."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _state_json(body: str) -> dict[str, Any] | None:
    match = _STATE.search(body)
    if match is None:
        return None
    try:
        state = json.loads(match["state"])
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def read_state(body: str) -> FailureState | None:
    """The failure state an earlier body recorded, or None when it recorded none."""
    state = _state_json(body)
    if state is None:
        return None
    keys = state.get("failing")
    count = state.get("count")
    if not isinstance(keys, list) or not isinstance(count, int):
        return None
    return FailureState(str(state.get("digest")), count, frozenset(str(key) for key in keys))


def read_run_id(body: str) -> int | None:
    """The run whose reports an earlier body shows, or None when it recorded none."""
    run = (_state_json(body) or {}).get("run")
    return run if isinstance(run, int) and not isinstance(run, bool) else None


def comment_marker(run_id: str, action: str) -> str:
    """The hidden line that ends the comment `action` (update, close) of run `run_id`."""
    return COMMENT_MARKER.format(run_id=run_id, action=action)


def already_posted(comments: Iterable[str], comment: str) -> bool:
    """Whether `comment` is among `comments`: one with its hidden run marker, or its text.

    The run marker makes a re-run of the same run skip the comment its first attempt
    posted, even when that attempt failed before finishing (the comment's text differs).
    """
    mark = _COMMENT_MARKER.search(comment)
    if mark is not None:
        return any(mark[0] in text for text in comments)
    return any(same_body(text, comment) for text in comments)


# The decision.


@dataclass(frozen=True)
class TrackedIssue:
    """The parts of a GitHub issue the decision needs."""

    number: int
    body: str
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class IssueDecision:
    """What to do with the tracking issue, and the comment to post with it."""

    action: Action
    reason: str
    issue: TrackedIssue | None = None
    comment: str | None = None


def find_tracking_issues(issues: Iterable[TrackedIssue], key: str) -> list[TrackedIssue]:
    """The open issues whose body carries the marker of `key`, newest first.

    The newest is the tracking issue; any other is a duplicate (a human reopened an old
    one, or two runs raced), which the command closes as a duplicate of the newest.
    """
    mark = marker(key)
    return sorted((i for i in issues if mark in i.body), key=lambda i: i.number, reverse=True)


def duplicate_comment(tracking_issue: TrackedIssue) -> str:
    """The comment that closes another open tracking issue: GitHub marks it a duplicate."""
    return f"Duplicate of #{tracking_issue.number}"


def same_body(old: str, new: str) -> bool:
    """Whether two bodies are equal once GitHub's line-end and trailing-space changes are undone."""
    return _normal(old) == _normal(new)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines())


def decide(
    jobs: Sequence[JobReport],
    body: str,
    existing: TrackedIssue | None,
    run: RunInfo,
    tests_result: str | None = None,
) -> IssueDecision:
    """Open, update, close or leave the tracking issue, so that each change is told once."""
    if tests_result in ("cancelled", "skipped"):
        reason = f"the test jobs were {tests_result}; the tracking issue is left as it is"
        return IssueDecision("nothing", reason, existing)
    return lifecycle(
        is_failing(jobs, tests_result),
        body,
        existing,
        close_comment=_close_comment(jobs, run),
        what_failed=(
            "the check of the nightly uploads failed"
            if only_uploads_fail(jobs, tests_result)
            else "the nightly tests failed"
        ),
        update_comment=lambda issue: _update_comment(jobs, run, issue),
        run_id=run.run_id,
    )


def _close_comment(jobs: Sequence[JobReport], run: RunInfo) -> str:
    """Says what passed: the tests, and the uploads when this run checked them."""
    if any(job.kind == "freshness" for job in jobs):
        return f"The nightly tests passed and the nightly uploads are fresh in {run.link}; closing."
    return f"All nightly jobs passed in {run.link}; closing."


def lifecycle(
    failing: bool,
    body: str,
    existing: TrackedIssue | None,
    *,
    close_comment: str,
    what_failed: str,
    update_comment: Callable[[TrackedIssue], str],
    run_id: str | None = None,
) -> IssueDecision:
    """The one rule both tracking issues follow: open, update when changed, close when green.

    A run older than the one the issue shows (a re-run of an old run's reporting job)
    changes nothing: its reports are stale.
    """
    older = _older_run(run_id, existing)
    if older is not None:
        return IssueDecision("nothing", older, existing)
    if not failing:
        if existing is None:
            return IssueDecision("nothing", "every job passed and no tracking issue is open")
        return IssueDecision("close", "every job passed", existing, close_comment)
    if existing is None:
        return IssueDecision("open", f"{what_failed} and no tracking issue is open")
    if same_body(existing.body, body):
        return IssueDecision(
            "nothing", f"issue #{existing.number} already shows this run", existing
        )
    return IssueDecision("update", f"{what_failed} again", existing, update_comment(existing))


def _older_run(run_id: str | None, existing: TrackedIssue | None) -> str | None:
    """Why run `run_id` is older than the run `existing` shows, or None when it is not."""
    if existing is None:
        return None
    return older_than_shown(run_id, existing, read_run_id(existing.body))


def older_than_shown(run_id: str | None, issue: TrackedIssue, shown: int | None) -> str | None:
    """Why run `run_id` is older than run `shown`, which `issue` shows, or None if it is not.

    GitHub numbers runs in the order they start and a re-run keeps its number, so a lower
    one is an older run's reporting job re-run: its reports are stale.
    """
    if shown is None or run_id is None or not run_id.isdigit() or int(run_id) >= shown:
        return None
    return (
        f"run {run_id} is older than run {shown}, which issue #{issue.number} already "
        "shows; a re-run of an older run leaves it as it is"
    )


def newest_run(body: str, comments: Iterable[str]) -> int | None:
    """The newest run an issue shows: its body's hidden state or its comments' markers.

    A closed issue's newest run is the green run that closed it.
    """
    runs = [read_run_id(body)]
    for text in comments:
        runs += [int(m["run"]) for m in _COMMENT_MARKER.finditer(text) if m["run"].isdigit()]
    known = [run for run in runs if run is not None]
    return max(known) if known else None


def _update_comment(jobs: Sequence[JobReport], run: RunInfo, existing: TrackedIssue) -> str:
    failing = [job for job in jobs if job.failing]
    failed = sum(job.log.failed for job in failing if job.log)
    errors = sum(job.log.errors for job in failing if job.log)
    counts = (
        f"{failed} failed, {errors} error{'s' if errors != 1 else ''} in "
        if failed or errors
        else ""
    )
    summary = f"{counts}{len(failing)} of {len(jobs)} job{'s' if len(jobs) != 1 else ''}"
    change = describe_change(read_state(existing.body), failure_state(jobs), "Same failures")
    return f"Still failing in {run.link}: {summary}. {change}"


def describe_change(before: FailureState | None, now: FailureState, same: str) -> str:
    """How the failures differ from those the issue showed, for the update comment."""
    newest = "the description above shows the newest state."
    if before is None:
        return newest.capitalize()
    if before.digest == now.digest:
        return f"{same} as before; {newest}"
    if before.complete and now.complete:
        new, fixed = len(now.keys - before.keys), len(before.keys - now.keys)
        return f"The failures changed: {new} new, {fixed} no longer failing; {newest}"
    return f"The failures changed ({before.count} failing before, {now.count} now); {newest}"
