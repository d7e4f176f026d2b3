"""The tracking issue as values: which jobs failed, the issue body, and what to do with it.

Everything here is pure: reports in, Markdown and a `Decision` out. The GitHub calls live
in `github`, the command that ties both together in `issue`. Text that comes from test
runs goes into fenced code blocks only, so nothing in it pings a person (`@name`),
links an issue (`#123`) or breaks the Markdown around it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import signal
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nightly_sessions.errors import ConfigError
from nightly_sessions.redact import redact
from nightly_sessions.report import load_report
from nightly_sessions.reportlog import (
    FailureGroup,
    ReportLog,
    group_failures,
    read_report_log,
    strip_ansi,
)

REPORT_NAME = "nightly-report.json"
FRESHNESS_NAME = "freshness-report.json"  # written by `freshness`; a job of kind "freshness"
ARTIFACT_PREFIX = "nightly-reports-"
BODY_LIMIT = 65_536
# Room below GitHub's limit for its own counting of line ends and wide characters.
BODY_BUDGET = BODY_LIMIT - 1_536
DEFAULT_KEY = "nightly-tests"
DEFAULT_TITLE = "Nightly tests are failing"
MARKER = "<!-- nightly-sessions:tracking-issue {key} -->"
_STATE = re.compile(r"<!-- nightly-sessions:state (?P<state>\{.*?\}) -->")
_JOB_NAME = re.compile(r"^py(?P<python>\d+\.\d+t?)-(?P<os>.+)$")
MAX_STATE_KEYS = 300  # beyond that the body keeps only a digest

Action = Literal["open", "update", "close", "nothing"]
TESTS_RESULTS: tuple[str, ...] = ("success", "failure", "cancelled", "skipped")


# Reading the reports.


@dataclass(frozen=True)
class JobReport:
    """One matrix job as the reports show it; `problem` says why there is no usable report."""

    job: str
    data: Mapping[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    problem: str | None = None
    log: ReportLog | None = None
    log_problem: str | None = None
    kind: str = "tests"  # or "freshness": the check of the project's nightly uploads

    @property
    def outcome(self) -> str:
        """passed, tests-failed, not-run, or absent (no readable report).

        A freshness report's outcome is fresh, stale, missing or error instead.
        """
        if self.problem is not None:
            return "absent"
        return str(self.data.get("outcome", "not-run"))

    @property
    def failing(self) -> bool:
        return self.outcome not in ("passed", "fresh")

    @property
    def python(self) -> str:
        value = self.data.get("python")
        if isinstance(value, str) and value:
            return value
        match = _JOB_NAME.match(self.job)
        return match["python"] if match else "?"

    @property
    def os(self) -> str:
        value = self.data.get("os")
        if isinstance(value, str) and value:
            return value
        match = _JOB_NAME.match(self.job)
        return match["os"] if match else "?"

    @property
    def packages(self) -> list[Mapping[str, Any]]:
        packages = self.data.get("packages")
        if not isinstance(packages, list):
            return []
        return [p for p in packages if isinstance(p, dict) and isinstance(p.get("name"), str)]

    @functools.cached_property
    def groups(self) -> list[FailureGroup]:
        return group_failures(self.log.failures) if self.log else []


def load_jobs(folder: Path, expected: Sequence[str] = ()) -> list[JobReport]:
    """Every job under `folder` (reports found recursively) plus expected jobs without one."""
    jobs: dict[str, JobReport] = {}
    if folder.is_dir():
        for path in sorted(folder.rglob(REPORT_NAME)):
            job = _load_job(path, folder)
            previous = jobs.get(job.job)
            if previous is None or _created(job) > _created(previous):
                jobs[job.job] = job
        for path in sorted(folder.rglob(FRESHNESS_NAME)):
            job = _load_freshness(path)
            previous = jobs.get(job.job)
            if previous is None or _created(job) > _created(previous):
                jobs[job.job] = job
        for artifact in sorted(folder.glob(f"{ARTIFACT_PREFIX}*")):
            name = artifact.name[len(ARTIFACT_PREFIX) :]
            reports = itertools.chain(artifact.rglob(REPORT_NAME), artifact.rglob(FRESHNESS_NAME))
            if artifact.is_dir() and name not in jobs and not any(reports):
                jobs[name] = JobReport(
                    job=name,
                    folder=artifact,
                    problem=f"the artifact {artifact.name} holds no {REPORT_NAME}",
                )
    elif folder.exists():
        raise ConfigError(
            f"{folder} is not a folder; give the folder the reports were downloaded to."
        )
    for name in expected:
        if name not in jobs:
            jobs[name] = JobReport(job=name, problem="no report was uploaded for this job")
    return [jobs[name] for name in sorted(jobs)]


def _load_job(path: Path, root: Path) -> JobReport:
    fallback = _job_from_folder(path.parent, root)
    data, problem = load_report(path)
    if data is None:
        return JobReport(job=fallback, folder=path.parent, problem=problem)
    job = data["job"] or fallback
    log, log_problem = _load_log(path.parent, data)
    return JobReport(job=str(job), data=data, folder=path.parent, log=log, log_problem=log_problem)


def _load_freshness(path: Path) -> JobReport:
    """The freshness check's report; unreadable, it fails like an absent job report."""

    def absent(problem: str) -> JobReport:
        return JobReport(job="freshness", folder=path.parent, problem=problem, kind="freshness")

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not valid JSON"
        return absent(f"{path.name} is unreadable ({reason})")
    if not isinstance(data, dict) or (data.get("schema"), data.get("kind")) != (1, "freshness"):
        return absent(f"{path.name} is not a schema-1 freshness report")
    return JobReport(job="freshness", data=data, folder=path.parent, kind="freshness")


def _load_log(folder: Path, data: Mapping[str, Any]) -> tuple[ReportLog | None, str | None]:
    pytest_info = data.get("pytest")
    if not isinstance(pytest_info, dict):
        return None, None
    name = pytest_info.get("report_log")
    if not isinstance(name, str) or not name:
        return None, "the report names no pytest report log"
    path = folder / name
    if not path.is_file():
        return None, f"pytest's report log {name} is absent"
    try:
        return read_report_log(path), None
    except ConfigError as exc:
        return None, str(exc)


def _job_from_folder(folder: Path, root: Path) -> str:
    name = folder.name if folder != root else root.name
    return name.removeprefix(ARTIFACT_PREFIX)


def _created(job: JobReport) -> str:
    return str(job.data.get("created", ""))


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
            old = before.get(name, {}).get("installed")
            new = now.get(name, {}).get("installed")
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


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


# Rendering.


@dataclass(frozen=True)
class Detail:
    """How much of the failures to show; each level below the first says what it left out."""

    traceback_lines: int | None = None
    line_width: int | None = None
    variants: int | None = None
    groups: int | None = None
    lists: bool = True
    versions: bool = True
    note: str = ""


LEVELS: tuple[Detail, ...] = (
    Detail(),
    Detail(traceback_lines=30, line_width=300, note="tracebacks were cut to their last 30 lines"),
    Detail(traceback_lines=0, line_width=300, note="tracebacks were left out"),
    Detail(
        traceback_lines=0,
        line_width=200,
        variants=5,
        groups=20,
        note="tracebacks were left out and long lists of failing tests were cut",
    ),
    Detail(
        traceback_lines=0,
        line_width=200,
        lists=False,
        note="tracebacks and lists of failing tests were left out; only counts are shown",
    ),
    Detail(
        traceback_lines=0,
        line_width=200,
        lists=False,
        versions=False,
        note="tracebacks, lists of failing tests and version tables were left out",
    ),
)


def marker(key: str) -> str:
    """The hidden line that identifies the tracking issue of `key`."""
    return MARKER.format(key=key)


def fenced(text: str, info: str = "text") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def code(text: str) -> str:
    """`text` as an inline code span safe in a table cell (no ping, no link, no pipe)."""
    text = strip_ansi(text).replace("\n", " ").replace("|", "\\|")
    ticks = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


@dataclass(frozen=True)
class FailureState:
    """Which failures a body showed: a digest of them all, and their keys when few enough."""

    digest: str
    count: int
    keys: frozenset[str]

    @property
    def complete(self) -> bool:
        return len(self.keys) == self.count

    def to_json(self) -> str:
        keys = sorted(self.keys) if self.complete else []
        data = {"digest": self.digest, "count": self.count, "failing": keys}
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
    combined = digest("\n".join(sorted(keys)))
    return FailureState(
        combined, len(keys), frozenset(keys) if len(keys) <= MAX_STATE_KEYS else frozenset()
    )


def digest(text: str) -> str:
    """A short, stable fingerprint of `text` for the hidden state in issue bodies."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def read_state(body: str) -> FailureState | None:
    """The failure state an earlier body recorded, or None when it recorded none."""
    match = _STATE.search(body)
    if match is None:
        return None
    try:
        state = json.loads(match["state"])
    except ValueError:
        return None
    if not isinstance(state, dict):
        return None
    keys = state.get("failing")
    count = state.get("count")
    if not isinstance(keys, list) or not isinstance(count, int):
        return None
    return FailureState(str(state.get("digest")), count, frozenset(str(key) for key in keys))


def render_body(
    jobs: Sequence[JobReport],
    run: RunInfo,
    *,
    key: str = DEFAULT_KEY,
    green: GreenRun | None = None,
    tests_result: str | None = None,
    limit: int = BODY_BUDGET,
) -> str:
    """The issue body, shortened level by level until it fits `limit` characters."""
    body = ""
    for detail in LEVELS:
        body = redact(
            _body(jobs, run, key=key, green=green, tests_result=tests_result, detail=detail)
        )
        if len(body) <= limit:
            return body
    note = "\n\n_The rest was cut to fit GitHub's size limit; see the run page._\n"
    cut = body[: limit - len(note)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return _close_fence(cut) + note


def _close_fence(text: str) -> str:
    """`text` with a code fence that a cut left open closed again."""
    opened = ""
    for line in text.splitlines():
        ticks = len(line) - len(line.lstrip("`"))
        if not opened and ticks >= 3:
            opened = "`" * ticks
        elif opened and line.strip() and set(line.strip()) == {"`"} and ticks >= len(opened):
            opened = ""
    return f"{text}\n{opened}" if opened else text


def _body(
    jobs: Sequence[JobReport],
    run: RunInfo,
    *,
    key: str,
    green: GreenRun | None,
    tests_result: str | None,
    detail: Detail,
) -> str:
    failing = [job for job in jobs if job.failing and job.kind == "tests"]
    state = failure_state(jobs).to_json()
    parts = [marker(key), f"<!-- nightly-sessions:state {state} -->", _headline(jobs, run)]
    if detail.note:
        parts.append(
            f"> [!NOTE]\n> Shortened to fit GitHub's {BODY_LIMIT:,}-character limit: "
            f"{detail.note}. The run page has everything."
        )
    if jobs:
        parts.append(_jobs_table(jobs))
    else:
        parts.append(
            "No nightly report was found at all: the test jobs never ran, or none of them "
            "uploaded its report folder. The run page shows which step failed."
        )
    if tests_result == "failure" and not failing and jobs:
        parts.append(
            "The test jobs ended with result `failure`, yet every report says the tests "
            "passed: a step after the tests failed. The run page shows which."
        )
    if green is not None:
        parts.append(_changes_section(jobs, green, detail))
    tables: dict[str, str] = {}
    for job in failing:
        parts.append(_job_section(job, detail, tables))
    freshness = [job for job in jobs if job.kind == "freshness"]
    parts.extend(_freshness_section(job) for job in freshness if job.failing or _warnings(job))
    return "\n\n".join(parts) + "\n"


def _headline(jobs: Sequence[JobReport], run: RunInfo) -> str:
    failing = sum(job.failing for job in jobs)
    where = ""
    if run.branch:
        where += f" on {code(run.branch)}"
    if run.sha:
        where += f" at {code(run.sha[:12])}"
    if not jobs:
        return f"## Nightly tests failed\n\nThe nightly tests failed in {run.link}{where}."
    if {job.kind for job in jobs if job.failing} == {"freshness"}:
        return (
            "## Nightly uploads need attention\n\nThe check of this project's nightly uploads "
            f"failed in {run.link}{where}."
        )
    return (
        f"## Nightly tests failed\n\nThe nightly tests failed in {run.link}{where}: "
        f"{failing} of {len(jobs)} job{'s' if len(jobs) != 1 else ''} failed."
    )


def _jobs_table(jobs: Sequence[JobReport]) -> str:
    rows = ["| Job | Python | OS | Result |", "| --- | --- | --- | --- |"]
    for job in jobs:
        if job.kind == "freshness":
            rows.append(f"| {code(job.job)} | — | — | {_FRESHNESS.get(job.outcome, 'failed')} |")
            continue
        rows.append(f"| {code(job.job)} | {code(job.python)} | {code(job.os)} | {_result(job)} |")
    return "\n".join(rows)


_FRESHNESS = {
    "fresh": "fresh",
    "stale": "stale: the channel will delete the nightlies",
    "missing": "no nightly on the channel",
    "error": "could not be checked",
    "absent": "report unreadable",
}


def _freshness_section(job: JobReport) -> str:
    """The freshness check: its sentence (what to do) and the dependency warnings."""
    parts = ["### Nightly uploads on the channel"]
    if job.problem is not None:
        parts.append(f"The freshness check left no usable report: {job.problem}.")
    message = job.data.get("message")
    if job.failing and isinstance(message, str) and message:
        parts.append(fenced(message))
    warnings = [text for text in _warnings(job) if text != message]
    if warnings:
        parts.append(
            "Dependencies whose nightlies are not fresh (the tests may have run on old code):\n\n"
            + fenced("\n".join(warnings))
        )
    return "\n\n".join(parts)


def _warnings(job: JobReport) -> list[str]:
    found = job.data.get("warnings") if job.kind == "freshness" else None
    return [str(text) for text in found if isinstance(text, str)] if isinstance(found, list) else []


def _result(job: JobReport) -> str:
    outcome = job.outcome
    if outcome == "absent":
        return "tests never ran / report absent"
    if outcome == "not-run":
        return f"tests never ran (stopped at {code(str(job.data.get('stage', '?')))})"
    counts = _counts(job)
    if job.log is not None and not job.log.finished:
        return f"crashed{f' ({counts})' if counts else ''}"
    if outcome == "passed":
        return f"passed{f' ({counts})' if counts else ''}"
    return f"failed{f' ({counts})' if counts else ''}"


def _counts(job: JobReport) -> str:
    numbers: Mapping[str, Any] = job.log.counts if job.log else {}
    pytest_info = job.data.get("pytest")
    if not numbers and isinstance(pytest_info, dict):
        numbers = pytest_info
    words = []
    for name, label in (("failed", "failed"), ("errors", "errors"), ("passed", "passed")):
        value = numbers.get(name)
        if isinstance(value, int) and value:
            words.append(f"{value} {label if value != 1 or name != 'errors' else 'error'}")
    return ", ".join(words)


def _changes_section(jobs: Sequence[JobReport], green: GreenRun, detail: Detail) -> str:
    title = "### Changed since the last green run"
    if green.problem:
        return f"{title}\n\n{green.problem}"
    link = f"[run {green.run_id}]({green.url})" if green.url else "the last green run"
    changes = version_changes(jobs, green.reports)
    if not changes:
        return (
            f"{title}\n\nNo installed version differs from {link}: the change is likely in "
            "this project, or in something the reports do not list."
        )
    rows = [
        f"{title}\n\nCompared with {link}; look here first for the upstream change:\n",
        "| Package | Source | Last green | This run | Jobs |",
        "| --- | --- | --- | --- | --- |",
    ]
    all_jobs = {job.job for job in jobs if job.problem is None}
    shown = changes if detail.versions else changes[:30]
    for change in shown:
        where = "all" if set(change.jobs) == all_jobs else ", ".join(change.jobs)
        rows.append(
            f"| {code(change.package)} | {change.source} | {_version(change.before)} "
            f"| {_version(change.after)} | {code(where)} |"
        )
    if len(shown) < len(changes):
        rows.append(f"\n…and {len(changes) - len(shown)} more.")
    return "\n".join(rows)


def _version(value: str | None) -> str:
    return code(value) if value else "—"


def _job_section(job: JobReport, detail: Detail, tables: dict[str, str]) -> str:
    title = f"### {code(job.job)}: Python {code(job.python)} on {code(job.os)}"
    parts = [title]
    if job.outcome == "absent":
        parts.append(
            f"Tests never ran / report absent: {job.problem}. The job failed before writing "
            "its report, or its upload failed; the run page shows which step."
        )
        return "\n\n".join(parts)
    if job.outcome == "not-run":
        parts.extend(_not_run(job, detail))
    else:
        parts.extend(_tests_failed(job, detail))
    parts.extend(_versions(job, detail, tables))
    return "\n\n".join(parts)


def _not_run(job: JobReport, detail: Detail) -> list[str]:
    stage = str(job.data.get("stage", "?"))
    parts = [f"The tests never ran: the {code(stage)} step failed."]
    error = job.data.get("error")
    if isinstance(error, str) and error:
        parts.append(fenced(_clip(error, None, detail.line_width)))
    parts.extend(_tail(job, detail))
    return parts


def _tests_failed(job: JobReport, detail: Detail) -> list[str]:
    parts: list[str] = []
    log = job.log
    if log is None:
        why = job.log_problem or "the report has no pytest section"
        parts.append(f"The tests failed, but {why}; the last lines of pytest's output:")
        parts.extend(_tail(job, detail, heading=False))
        return parts
    counts = _counts(job)
    version = f" (pytest {log.pytest_version})" if log.pytest_version else ""
    parts.append(f"**{counts or 'no test results'}**{version}")
    exit_code = _exit_code(job)
    if not log.finished:
        how = f" ({_describe_exit(exit_code)})" if exit_code is not None else ""
        last = (
            " The last test it reported on (the crash is in it or just after it):\n\n"
            + fenced(log.last_nodeid)
            if log.last_nodeid
            else ""
        )
        parts.append(f"pytest stopped before the end of the session{how}.{last}")
    if log.bad_lines:
        parts.append(
            f"{log.bad_lines} line(s) of the report log were not readable and were skipped."
        )
    groups = job.groups
    if not groups and log.finished:
        parts.append(
            f"pytest exited with code {exit_code}, yet its report log records no failing test."
        )
    elif groups and detail.lists:
        parts.append(_failure_list(groups, detail))
        if detail.traceback_lines != 0:
            parts.append(_tracebacks(groups, detail))
    if not log.finished or not groups:
        parts.extend(_tail(job, detail))
    return parts


def _exit_code(job: JobReport) -> int | None:
    pytest_info = job.data.get("pytest")
    code = pytest_info.get("exit_code") if isinstance(pytest_info, dict) else None
    if isinstance(code, int):
        return code
    return job.log.exit_status if job.log else None


def _describe_exit(code: int) -> str:
    """'killed by SIGSEGV: a crash' for a negative (signal) exit code, else 'exit code N'."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}: a crash"
    return f"exit code {code}"


def _failure_list(groups: Sequence[FailureGroup], detail: Detail) -> str:
    lines: list[str] = []
    shown = groups if detail.groups is None else groups[: detail.groups]
    for group in shown:
        label = "FAILED" if group.kind == "failed" else "ERROR "
        phase = (
            ""
            if group.when == "call"
            else f" ({'collection' if group.when == 'collect' else group.when})"
        )
        variants = group.variants
        headline = (
            _clip(group.headlines[0], None, detail.line_width or 300) if group.headlines else ""
        )
        if len(variants) > 1:
            lines.append(f"{label} {group.base}{phase} ({len(variants)} variants) - {headline}")
            listed = variants if detail.variants is None else variants[: detail.variants]
            more = (
                f", …and {len(variants) - len(listed)} more" if len(listed) < len(variants) else ""
            )
            lines.append(f"       variants: {', '.join(listed)}{more}")
            if len(group.headlines) > 1:
                lines.append(
                    f"       ({len(group.headlines)} different messages; the first is shown)"
                )
        else:
            lines.append(f"{label} {group.failures[0].nodeid}{phase} - {headline}")
    if len(shown) < len(groups):
        lines.append(f"…and {len(groups) - len(shown)} more failing tests")
    return "Failing tests:\n\n" + fenced("\n".join(lines))


def _tracebacks(groups: Sequence[FailureGroup], detail: Detail) -> str:
    blocks: list[str] = []
    for group in groups:
        first = group.failures[0]
        text = first.traceback or first.message
        if not text:
            continue
        others = f" (first of {len(group.failures)} variants)" if len(group.failures) > 1 else ""
        header = f"{f' {first.nodeid}{others} ':_^70}"
        blocks.append(f"{header}\n{_clip(text, detail.traceback_lines, detail.line_width)}")
    if not blocks:
        return ""
    return (
        "<details><summary>Tracebacks</summary>\n\n"
        + fenced("\n\n".join(blocks))
        + "\n\n</details>"
    )


def _tail(job: JobReport, detail: Detail, *, heading: bool = True) -> list[str]:
    tail = job.data.get("output_tail")
    if not isinstance(tail, str) or not tail.strip():
        return [] if heading else ["(no output was recorded)"]
    lines = 10 if not detail.lists else 30 if detail.traceback_lines is not None else None
    text = fenced(_clip(strip_ansi(tail), lines, detail.line_width))
    return [f"The last lines of its output:\n\n{text}" if heading else text]


def _versions(job: JobReport, detail: Detail, tables: dict[str, str]) -> list[str]:
    packages = job.packages
    if not packages or not detail.versions:
        return []
    rows = [
        "| Package | Source | Installed | Newest nightly | Status |",
        "| --- | --- | --- | --- | --- |",
    ]
    for package in packages:
        status = str(package.get("status", ""))
        if package.get("allowed_missing"):
            status += " (allowed)"
        rows.append(
            f"| {code(str(package['name']))} | {package.get('source', '')} "
            f"| {_version(_optional(package.get('installed')))} "
            f"| {_version(_optional(package.get('newest_nightly')))} | {status} |"
        )
    table = "\n".join(rows)
    repairs = _repairs(job.data.get("repairs"))
    same_as = tables.get(table + repairs)
    if same_as is not None:
        return [f"Nightly versions: the same as in {code(same_as)}."]
    tables[table + repairs] = job.job
    return [f"<details><summary>Nightly versions</summary>\n\n{table}{repairs}\n\n</details>"]


def _repairs(repairs: object) -> str:
    if not isinstance(repairs, list) or not repairs:
        return ""
    items = [
        f"- {code(str(r.get('name')))} {code(str(r.get('installed')))}, "
        f"required by {code(str(r.get('required_by')))}"
        for r in repairs
        if isinstance(r, dict)
    ]
    return "\n\nInstalled from the base index because a nightly needs them:\n\n" + "\n".join(items)


def _clip(text: str, lines: int | None, width: int | None) -> str:
    """The last `lines` lines of `text`, each cut to `width` characters (None: no limit)."""
    rows = text.splitlines()
    cut = lines is not None and len(rows) > lines
    if lines is not None:
        rows = rows[-lines:] if lines else []
    if width is not None:
        rows = [row if len(row) <= width else row[: width - 1] + "…" for row in rows]
    prefix = ["[…earlier lines cut…]"] if cut else []
    return "\n".join(prefix + rows)


# The decision.


@dataclass(frozen=True)
class Issue:
    """The parts of a GitHub issue the decision needs."""

    number: int
    body: str
    url: str = ""


@dataclass(frozen=True)
class Decision:
    """What to do with the tracking issue, and the comment to post with it."""

    action: Action
    reason: str
    issue: Issue | None = None
    comment: str | None = None


def find_tracking_issue(issues: Iterable[Issue], key: str) -> Issue | None:
    """The oldest open issue whose body carries the marker of `key`."""
    mark = marker(key)
    found = [issue for issue in issues if mark in issue.body]
    return min(found, key=lambda issue: issue.number) if found else None


def same_body(old: str, new: str) -> bool:
    """Whether two bodies are equal once GitHub's line-end and trailing-space changes are undone."""
    return _normal(old) == _normal(new)


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines())


def decide(
    jobs: Sequence[JobReport],
    body: str,
    existing: Issue | None,
    run: RunInfo,
    tests_result: str | None = None,
) -> Decision:
    """Open, update, close or leave the tracking issue, so that each change is told once."""
    if tests_result in ("cancelled", "skipped"):
        reason = f"the test jobs were {tests_result}; the tracking issue is left as it is"
        return Decision("nothing", reason, existing)
    return lifecycle(
        is_failing(jobs, tests_result),
        body,
        existing,
        close_comment=f"All nightly jobs passed in {run.link}; closing.",
        what_failed="the nightly tests failed",
        update_comment=lambda issue: _update_comment(jobs, run, issue),
    )


def lifecycle(
    failing: bool,
    body: str,
    existing: Issue | None,
    *,
    close_comment: str,
    what_failed: str,
    update_comment: Callable[[Issue], str],
) -> Decision:
    """The one rule both tracking issues follow: open, update when changed, close when green."""
    if not failing:
        if existing is None:
            return Decision("nothing", "every job passed and no tracking issue is open")
        return Decision("close", "every job passed", existing, close_comment)
    if existing is None:
        return Decision("open", f"{what_failed} and no tracking issue is open")
    if same_body(existing.body, body):
        return Decision("nothing", f"issue #{existing.number} already shows this run", existing)
    return Decision("update", f"{what_failed} again", existing, update_comment(existing))


def _update_comment(jobs: Sequence[JobReport], run: RunInfo, existing: Issue) -> str:
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
