"""Report folders for the tracking-issue tests, with report logs written by real pytest runs.

`SampleRuns.get(suite)` runs pytest with `--report-log` on a copy of
tests/samples/suites/<suite> once per test session; `job_folder` lays out what a matrix
job uploads (nightly-report.json in report schema 1, pytest-log.jsonl next to it)
under `nightly-reports-<job>`, as actions/download-artifact puts it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nightly_sessions.core import runner
from nightly_sessions.nightly_tests.report import count_tests
from nightly_sessions.nightly_tests.run import ANY_EXIT_CODE

SUITES = Path(__file__).parent / "samples" / "suites"
LOG_NAME = "pytest-log.jsonl"

NUMPY_NOW = "2.5.0.dev0+git20261124.abc1234"
NUMPY_GREEN = "2.5.0.dev0+git20261117.0ff1ce0"
PANDAS_NOW = "3.1.0.dev0+456.gdeadbee"


@dataclass(frozen=True)
class SampleRun:
    """One real pytest run: its report log, exit code and the tail of its output."""

    log: Path
    exit_code: int
    tail: str
    summary: str


@dataclass
class SampleRuns:
    """Runs each sample suite at most once per test session (pytest runs cost time)."""

    root: Path
    _runs: dict[str, SampleRun] = field(default_factory=dict)

    def get(self, suite: str) -> SampleRun:
        if suite not in self._runs:
            self._runs[suite] = run_suite(suite, self.root / suite)
        return self._runs[suite]


def run_suite(suite: str, folder: Path) -> SampleRun:
    """Run pytest --report-log (coloured output, like CI) on a copy of a sample suite.

    It runs through `runner.run`, as `testrun.run_pytest` does, so `tail` is exactly the
    output tail the product records for a failing run.
    """
    work = folder / "suite"
    shutil.copytree(SUITES / suite, work)
    log = folder / LOG_NAME
    unset: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("PYTEST_", "COV_"))
    }
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
        "--color=yes", f"--report-log={log}", "-rfE", str(work),
    ]  # fmt: skip
    result = runner.run(
        command, what="run a sample suite", env=unset, ok_codes=ANY_EXIT_CODE, echo=False,
        cwd=work,
    )  # fmt: skip
    lines = [line for line in result.output.splitlines() if line.strip()]
    summary = lines[-1] if lines else ""
    return SampleRun(log, result.returncode, result.tail, summary)


def packages(numpy: str = NUMPY_NOW, *, pandas: str | None = PANDAS_NOW) -> list[dict[str, Any]]:
    """The `packages` rows of a report: numpy and pandas nightlies, one base package."""
    rows: list[dict[str, Any]] = [
        {"name": "numpy", "source": "nightly", "installed": numpy, "newest_nightly": numpy,
         "status": "nightly", "allowed_missing": False},
        {"name": "pandas", "source": "nightly", "installed": pandas, "newest_nightly": PANDAS_NOW,
         "status": "nightly" if pandas else "missing", "allowed_missing": False},
        {"name": "packaging", "source": "base", "installed": "25.0", "newest_nightly": None,
         "status": "release", "allowed_missing": False},
    ]  # fmt: skip
    return rows


def job_folder(
    root: Path,
    job: str,
    run: SampleRun | None,
    *,
    outcome: str | None = None,
    stage: str = "tests",
    error: str | None = None,
    output_tail: str | None = None,
    package_rows: list[dict[str, Any]] | None = None,
    keep_log: bool = True,
) -> Path:
    """Write `nightly-reports-<job>/` as a matrix job uploads it; return the folder."""
    python, _, os_name = job.removeprefix("py").partition("-")
    folder = root / f"nightly-reports-{job}"
    folder.mkdir(parents=True)
    pytest_info = None
    if run is not None:
        if keep_log:
            shutil.copy(run.log, folder / LOG_NAME)
        pytest_info = count_tests(run.log, run.exit_code).to_dict(LOG_NAME)
        if outcome is None:
            outcome = "passed" if run.exit_code == 0 else "tests-failed"
        if output_tail is None and run.exit_code != 0:
            output_tail = run.tail  # what `testrun` records whenever pytest's exit code is not 0
    report = {
        "schema": 1,
        "project": "sample",
        "job": job,
        "python": python,
        "os": os_name,
        "platform": f"{os_name.lower()}-x86_64",
        "created": "2026-11-24T01:02:03+00:00",
        "nightly_index": "http://127.0.0.1:1/simple",
        "base_index": "http://127.0.0.1:2/simple",
        "outcome": outcome or "not-run",
        "stage": stage,
        "error": error,
        "output_tail": output_tail,
        "packages": packages() if package_rows is None else package_rows,
        "repairs": [],
        "pytest": pytest_info,
    }
    (folder / "nightly-report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return folder


def three_jobs(root: Path, runs: SampleRuns) -> Path:
    """Three jobs under `root`: failures in one, a collection error in another, one passing."""
    job_folder(root, "py3.12-Linux", runs.get("mixed"))
    job_folder(root, "py3.13-Linux", runs.get("collection"))
    job_folder(root, "py3.11-Linux", runs.get("passing"))
    return root


def report_bytes(job: str, numpy: str = NUMPY_GREEN) -> bytes:
    """A passing report as bytes, to put into a green run's artifact."""
    python, _, os_name = job.removeprefix("py").partition("-")
    report = {
        "schema": 1, "project": "sample", "job": job, "python": python, "os": os_name,
        "platform": f"{os_name.lower()}-x86_64", "nightly_index": "http://127.0.0.1:1/simple",
        "outcome": "passed", "stage": "tests", "error": None, "output_tail": None,
        "packages": packages(numpy), "repairs": [], "pytest": None,
    }  # fmt: skip
    return json.dumps(report).encode()
