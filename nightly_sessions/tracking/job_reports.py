"""The reports a nightly run's test jobs uploaded, read into one `JobReport` per job.

A job whose report is missing or unreadable still gets a `JobReport`, with a `problem`
saying why, so that it counts as failing instead of vanishing. The freshness check's
report joins them as a job of kind "freshness".
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nightly_sessions.core.artifacts import FRESHNESS_NAME, REPORT_NAME
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.run_report import load_report
from nightly_sessions.tracking.reportlog import (
    FailureGroup,
    ReportLog,
    group_failures,
    read_report_log,
)

ARTIFACT_PREFIX = "nightly-reports-"
_JOB_NAME = re.compile(r"^py(?P<python>\d+\.\d+t?)-(?P<os>.+)$")


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
        """passed, tests-failed, checks-failed, not-run, or absent (no readable report).

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

    @property
    def culprit(self) -> Mapping[str, Any] | None:
        """The culprit search's section of the report (schema 2), when it ran."""
        culprit = self.data.get("culprit") if self.kind == "tests" else None
        return culprit if isinstance(culprit, dict) else None

    @property
    def checks(self) -> list[Mapping[str, Any]]:
        """The other checks run after pytest (mypy, a docs build), each a table with a name."""
        checks = self.data.get("checks") if self.kind == "tests" else None
        if not isinstance(checks, list):
            return []
        return [c for c in checks if isinstance(c, dict) and isinstance(c.get("name"), str)]

    @property
    def failed_checks(self) -> list[Mapping[str, Any]]:
        """The checks that failed or could not run: each fails the job on its own."""
        return [check for check in self.checks if check.get("outcome") != "passed"]

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
