"""The nightly steps around a tox env's commands, in plain Python (no tox here).

tox has built the env from its own configuration (deps, extras, the package); before the
commands, `before` plans, installs the nightlies strictly from the nightly index, repairs,
checks and proves them, as a nox run does, points pytest's report log into the report
folder and loads the warnings plugin there. The commands are the user's: `after` records
how they ended and writes the same nightly-report.json/.md, so `nightly_issue` reads
tox-made reports unchanged.
"""

from __future__ import annotations

import ntpath
import os
import platform
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nightly_sessions.core import runner
from nightly_sessions.core.artifacts import REPORT_LOG_NAME
from nightly_sessions.core.config import Settings
from nightly_sessions.core.environment import Environment, index_environment
from nightly_sessions.core.errors import NightlyError
from nightly_sessions.core.log import Log
from nightly_sessions.nightly_tests.install import REPORTLOG_REQUIREMENT
from nightly_sessions.nightly_tests.plan import InstallPlan
from nightly_sessions.nightly_tests.probe import Probe, probe
from nightly_sessions.nightly_tests.report import RunReport, count_tests
from nightly_sessions.nightly_tests.run import (
    PytestEnd,
    RunResult,
    conclude,
    finish,
    judge_pytest,
    prepare,
    record_check,
    start_report,
)
from nightly_sessions.nightly_tests.warnings_plugin import (
    WARNINGS_LOG_NAME,
    plugin_args,
    plugin_environment,
)


@dataclass(frozen=True)
class Prepared:
    """A tox env whose nightlies are installed and proven, waiting for its commands."""

    env_name: str
    settings: Settings
    env: Environment
    report: RunReport
    folder: Path
    state: Probe
    plan: InstallPlan
    started: float
    pytest_options: list[str] | None  # for the commands' pytest (None: no pytest in the env)

    @property
    def report_log(self) -> Path:
        return self.folder / REPORT_LOG_NAME


@dataclass(frozen=True)
class CommandsEnd:
    """How the env's commands ended, as tox saw it: the exit code, and the failing command."""

    exit_code: int
    command: Sequence[str] = ()  # the failing command's arguments, as run
    output: str = ""  # its output, stdout then stderr


def job_for(env_name: str) -> str:
    """The report's job name: $NIGHTLY_JOB (a CI matrix entry), else the env's name and OS.

    Each tox env writes its own report folder, so `tox -e py312-nightly,py313-nightly`
    gives one report per env.
    """
    return os.environ.get("NIGHTLY_JOB") or f"{env_name}-{platform.system()}"


def before(settings: Settings, env: Environment, env_name: str, log: Log) -> Prepared | RunResult:
    """Plan, install the nightlies (tox did the base install), prove; point pytest's log.

    A failure (strict mode included) writes the report and comes back as the RunResult
    that stops the env before its commands.
    """
    state = probe(env.python)
    report = start_report(settings, state, job_for(env_name))
    folder = settings.report_path / report.job
    started = time.monotonic()
    try:
        plan, checking = prepare(settings, env, report, state, log, base=False)
        # Waited for here: the options below may install pytest-reportlog into the env.
        record_check(report, checking, log)
        options = pytest_options(settings, env, state, folder)  # tox installed pytest
    except NightlyError as exc:
        report.error, report.output_tail = str(exc), exc.detail
        return finish(report, folder, exc.exit_code, str(exc), log)
    return Prepared(env_name, settings, env, report, folder, state, plan, started, options)


def pytest_options(
    settings: Settings, env: Environment, state: Probe, folder: Path
) -> list[str] | None:
    """The options a nox run gives pytest: the report log and the warnings plugin with its
    log and error filters; None when the env has no pytest.

    pytest-reportlog comes from the base index without dependencies, so it changes
    nothing tox installed; the report then counts the tests and names the failing ones.
    """
    if state.version_of("pytest") is None:
        return None
    if state.version_of("pytest-reportlog") is None:
        runner.run(
            env.install("--no-deps", REPORTLOG_REQUIREMENT),
            what=f"install {REPORTLOG_REQUIREMENT} from {settings.base_index_url}",
            env=index_environment(settings.base_index_url),
        )
    folder.mkdir(parents=True, exist_ok=True)
    report_log, warnings_log = folder / REPORT_LOG_NAME, folder / WARNINGS_LOG_NAME
    for path in (report_log, warnings_log):  # an earlier run's logs must not pass for these
        path.unlink(missing_ok=True)
    return [
        f"--report-log={report_log}",
        *plugin_args(warnings_log, settings.warnings_as_errors),
    ]


def pytest_environment(existing: Mapping[str, str], options: Sequence[str]) -> dict[str, str]:
    """The env's PYTEST_ADDOPTS (the user's, then `options`) and PYTHONPATH (the warnings
    plugin's folder, which holds it alone, first)."""
    addopts = shlex.join(options)
    own = existing.get("PYTEST_ADDOPTS", "").strip()
    return {
        "PYTEST_ADDOPTS": f"{own} {addopts}" if own else addopts,
        **plugin_environment(existing),
    }


def judge_commands(end: CommandsEnd, logged: int | None, env_name: str) -> PytestEnd:
    """The run's end from the commands': pytest's code when pytest failed, else tox's.

    pytest's own exit code (from its report log) is translated as in a nox run; another
    failing command fails the run with its exit code in the sentence.
    """
    if end.exit_code == 0:
        return PytestEnd(0, "passed", None)
    if logged not in (None, 0):
        return judge_pytest(logged, end.output)
    return PytestEnd(
        1,
        "tests-failed",
        f"A command of tox env {env_name} failed (exit code {end.exit_code}) after the "
        "nightlies were installed and proven; its output is above and in the report.",
    )


def pytest_arguments(command: Sequence[str]) -> list[str] | None:
    """The arguments of a pytest command (`pytest ...`, `python -m pytest ...`), else None."""
    if not command:
        return None
    program = ntpath.basename(command[0]).lower().removesuffix(".exe")  # / and \ alike
    if program in ("pytest", "py.test"):
        return list(command[1:])
    if program.startswith("python") and list(command[1:3]) == ["-m", "pytest"]:
        return list(command[3:])
    return None


def after(prepared: Prepared, end: CommandsEnd, log: Log) -> RunResult:
    """Record how the commands ended; then, as a nox run: warnings, other checks, the
    culprit search of failing tests; write the report."""
    report = prepared.report
    run_seconds = time.monotonic() - prepared.started
    counts = count_tests(prepared.report_log)
    report.tests = counts if prepared.report_log.is_file() else None
    verdict = conclude(
        prepared.settings, prepared.env, report,
        judge_commands(end, counts.exit_code, prepared.env_name), plan=prepared.plan,
        state=prepared.state, pytest_args=pytest_arguments(end.command), folder=prepared.folder,
        tail="".join(end.output.splitlines(keepends=True)[-runner.TAIL_LINES :]),
        pytest_code=counts.exit_code, run_seconds=run_seconds, log=log,
    )  # fmt: skip
    return finish(report, prepared.folder, verdict.exit_code, verdict.message, log)
