"""One nightly test run: plan, install, prove, run pytest, report.

Plain Python over an `Environment`, so the nox session and the CLI share it. The report
is written whatever happens, so a run that never reached pytest still says why.
"""

from __future__ import annotations

import os
import platform
import re
import signal
import sysconfig
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from textwrap import indent

from nightly_sessions.core import runner
from nightly_sessions.core.artifacts import REPORT_LOG_NAME
from nightly_sessions.core.config import Settings
from nightly_sessions.core.environment import Environment
from nightly_sessions.core.errors import ConfigError, NightlyError, ProofError
from nightly_sessions.core.git_url import at_commit, without_credentials
from nightly_sessions.core.log import Log
from nightly_sessions.core.pyproject import read_project
from nightly_sessions.core.redact import redact
from nightly_sessions.nightly_tests import checks, deprecations, install, warnings_plugin
from nightly_sessions.nightly_tests.culprit import Finding
from nightly_sessions.nightly_tests.culprit_run import find_culprit
from nightly_sessions.nightly_tests.plan import InstallPlan, Target, make_plan
from nightly_sessions.nightly_tests.probe import Probe, probe
from nightly_sessions.nightly_tests.report import (
    Outcome,
    RunReport,
    count_tests,
    version_table,
    write_report,
)
from nightly_sessions.nightly_tests.upstream import DraftContext, drafts_for
from nightly_sessions.nightly_tests.verify import VersionReport, verify

# Every exit code pytest's process can end with: a failing run is reported, never raised.
ANY_EXIT_CODE = runner.ANY_EXIT_CODE


@dataclass(frozen=True)
class PytestEnd:
    """What pytest's exit code means for the run: its exit code, outcome and sentence.

    pytest's codes 2 to 5 collide with the documented codes of nightly-sessions, so they
    are translated; pytest's own code stays in the report and in the sentence.
    """

    exit_code: int
    outcome: Outcome
    message: str | None


_FAILED = "The tests failed against the nightlies (pytest exit code {code})"
_TAIL = "; its last lines are above and in the report."
_FIX_ARGS = "check 'pytest-args' in [tool.nightly-sessions] and the arguments after --"
_PYTEST_ENDS: dict[int, PytestEnd] = {
    0: PytestEnd(0, "passed", None),
    2: PytestEnd(
        1, "tests-failed",
        _FAILED.format(code=2) + ": the run was interrupted, usually by errors while "
        "collecting the tests" + _TAIL,
    ),
    3: PytestEnd(
        1, "tests-failed",
        _FAILED.format(code=3) + ": pytest crashed with an internal error, often in a plugin "
        "that breaks on a nightly" + _TAIL,
    ),
    4: PytestEnd(
        ConfigError.exit_code, "not-run",
        f"The pytest arguments are wrong: pytest refused them (pytest exit code 4); {_FIX_ARGS}.",
    ),
    5: PytestEnd(
        1, "not-run",
        "No tests ran (pytest exit code 5: none collected), so the run proved nothing against "
        f"the nightlies; {_FIX_ARGS} (test paths, -k, -m).",
    ),
}  # fmt: skip
# pytest also ends with 4 when a conftest.py or plugin fails to import, which a nightly
# can cause: that is a failed test run, not a bad argument.
_LOAD_FAILURE = re.compile(
    r"^(ImportError while loading conftest|ERROR: Error importing plugin)", re.MULTILINE
)
_LOAD_FAILED = PytestEnd(
    1, "tests-failed",
    _FAILED.format(code=4) + ": pytest could not load a conftest.py or plugin, which a nightly "
    "can break (or a -p option names one that is not installed)" + _TAIL,
)  # fmt: skip


def judge_pytest(code: int, output: str = "") -> PytestEnd:
    """Translate pytest's exit code into the run's: only documented codes leave nightly-sessions.

    `output` (pytest's own) tells a conftest that fails to import from a bad argument.
    """
    if code == 4 and _LOAD_FAILURE.search(output):
        return _LOAD_FAILED
    if code in _PYTEST_ENDS:
        return _PYTEST_ENDS[code]
    if 0 < code < 256:
        return PytestEnd(1, "tests-failed", _FAILED.format(code=code) + ".")
    how = _signal_name(-code) if code < 0 else f"status {code:#x}"
    return PytestEnd(
        1, "tests-failed", _FAILED.format(code=code) + f": the run crashed, ended by {how}" + _TAIL
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class RunResult:
    """How the run ended: the exit code, a sentence when it is not 0, and the report."""

    exit_code: int
    message: str | None
    report_path: Path | None  # None when the report could not be written


def job_name(python: str) -> str:
    """The matrix job's name: $NIGHTLY_JOB, else Python version and OS."""
    return os.environ.get("NIGHTLY_JOB") or f"py{python}-{platform.system()}"


def plan_for(settings: Settings, target: Target, *, wider: bool = False) -> InstallPlan:
    """Read the project and the channel and decide each package's source."""
    return make_plan(settings, read_project(settings.project_root), target, wider=wider)


def require_channel(plan: InstallPlan, settings: Settings) -> None:
    """In strict mode, stop before installing when the channel lacks a planned package.

    The proof would fail on it anyway, after the whole install.
    """
    if settings.strict and plan.missing:
        sentences = " ".join(plan.absent_sentence(package) for package in plan.missing)
        raise ProofError(
            f"{sentences} Strict mode stops here, before installing anything; set "
            "'strict = false' to test anyway."
        )
    empty = plan.empty_sentence()
    if settings.strict and empty:
        raise ProofError(
            f"{empty} Strict mode stops here, before installing anything; set "
            "'strict = false' to run the tests without nightlies."
        )


def install_all(
    plan: InstallPlan, env: Environment, report: RunReport, *, base: bool = True
) -> tuple[Probe, Future[install.DependencyCheck]]:
    """Base install, nightlies, git packages, repairs; record the repairs; start the
    dependency check; return the environment as the repairs left it (the check changes
    nothing), which the proof reads instead of probing again, and the running check.

    `base=False` skips the base install where the runner (tox) has already installed the
    project and its test requirements from its own configuration.
    """
    if base:
        install.install_base(plan, env)
    install.install_nightlies(plan, env)
    install.install_git(plan, env)
    repairs, state = install.repair(plan, env)
    report.repairs = [
        {
            "name": r.name,
            "requirement": r.requirement,
            "required_by": r.required_by,
            "installed": r.installed,
        }
        for r in repairs
    ]
    return state, install.start_dependency_check(env)


def record_check(report: RunReport, checking: Future[install.DependencyCheck], log: Log) -> None:
    """Wait for the dependency check; record it, and show a failed one as a warning."""
    check = checking.result()
    report.dependency_check = {"ok": check.ok, "output": check.output, "command": check.command}
    if not check.ok:
        log(dependency_warning(check))


def dependency_warning(check: install.DependencyCheck) -> str:
    """The warning for a failed dependency check; it does not stop the run.

    Nightlies often exceed another package's upper cap; the tests then show whether that
    matters, so the conflict is shown, not fatal.
    """
    return (
        f"Warning: the dependency check (`{check.command}`) found conflicts; the run goes on "
        "and the tests show whether they matter:\n" + indent(redact(check.output), "  ")
    )


def prove(
    plan: InstallPlan, env: Environment, log: Log, state: Probe | None = None
) -> VersionReport:
    """Classify each planned package against what is installed: `state` when the caller
    has just read the environment, else a probe read now."""
    versions = verify(plan, state or probe(env.python))
    log("Installed versions of the planned packages:\n" + version_table(versions))
    return versions


def require_nightlies(versions: VersionReport, settings: Settings) -> None:
    """In strict mode, stop unless every planned package is the newest nightly (or allowed)."""
    if settings.strict and versions.failures:
        raise ProofError(
            f"{versions.summary()} Strict mode stops before pytest; add such packages to "
            "'allow-missing' or set 'strict = false' to test anyway."
        )


def run_pytest(
    settings: Settings, env: Environment, pytest_args: Sequence[str], folder: Path
) -> runner.Completed:
    """Run pytest with its report log in `folder`; return how it ended, with its output tail."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / REPORT_LOG_NAME
    log_path.unlink(missing_ok=True)  # an earlier run's log must not pass for this one's
    warnings_log = folder / warnings_plugin.WARNINGS_LOG_NAME
    warnings_log.unlink(missing_ok=True)
    args = [str(env.python), "-m", "pytest", f"--report-log={log_path}"]
    args += warnings_plugin.plugin_args(warnings_log, settings.warnings_as_errors)
    args += [*settings.pytest_args, *pytest_args]
    return runner.run(
        args, what="run the tests", env=warnings_plugin.plugin_environment(),
        ok_codes=ANY_EXIT_CODE, cwd=settings.project_root,
    )  # fmt: skip


def run_nightly_tests(
    settings: Settings,
    env: Environment,
    pytest_args: Sequence[str] = (),
    log: Log = print,
    *,
    interpreter: Future[Probe] | None = None,
) -> RunResult:
    """Plan, install, prove and test in `env`; always write the report.

    Each job's report goes into its own folder below `report-dir`, so runs for several
    Pythons (or a CI matrix's artifacts gathered in one place) never overwrite each other.
    `interpreter` is the probe of `env.python` the caller started (`start_probe`), if any.
    """
    # Only the interpreter: its packages are about to change.
    state = interpreter.result() if interpreter else probe(env.python, distributions=False)
    report = start_report(settings, state, job_name(state.python))
    folder = settings.report_path / report.job
    try:
        end = _stages(
            settings, env, report, state=state, pytest_args=pytest_args, folder=folder, log=log
        )
        exit_code, message = end.exit_code, end.message
    except NightlyError as exc:
        report.error, report.output_tail = str(exc), exc.detail
        exit_code, message = exc.exit_code, str(exc)
    return finish(report, folder, exit_code, message, log)


def start_report(settings: Settings, state: Probe, job: str) -> RunReport:
    """An empty report for `job`, filled in stage by stage."""
    return RunReport(
        project=None,
        job=job,
        python=state.python,
        nightly_index=settings.nightly_index_url,
        base_index=settings.base_index_url,
    )


def finish(
    report: RunReport, folder: Path, exit_code: int, message: str | None, log: Log
) -> RunResult:
    """Write the report into `folder`; a failure to write never hides the run's own."""
    try:
        path = write_report(report, folder, log=log)
    except NightlyError as exc:  # the run's own failure, if any, stays the one reported
        log(str(exc))
        return RunResult(exit_code or exc.exit_code, message or str(exc), None)
    log(f"Report: {path} (and {path.with_suffix('.md').name})")
    return RunResult(exit_code, message, path)


def _stages(
    settings: Settings,
    env: Environment,
    report: RunReport,
    *,
    state: Probe,
    pytest_args: Sequence[str],
    folder: Path,
    log: Log,
) -> PytestEnd:
    """Plan, install, prove, test; record each stage in `report`; return how pytest ended.

    When the tests fail, the culprit search (on unless 'culprit = false') re-runs the
    failing ones to name the nightly that breaks them.
    """
    started = time.monotonic()
    plan, checking = prepare(settings, env, report, state, log)
    try:
        pytest_run = run_pytest(settings, env, pytest_args, folder)
    finally:  # the dependency check ran beside the tests
        record_check(report, checking, log)
    report.tests = count_tests(folder / REPORT_LOG_NAME, pytest_run.returncode)
    return conclude(
        settings, env, report, judge_pytest(pytest_run.returncode, pytest_run.output),
        plan=plan, state=state, pytest_args=pytest_args, folder=folder, tail=pytest_run.tail,
        pytest_code=pytest_run.returncode, run_seconds=time.monotonic() - started, log=log,
    )  # fmt: skip


def conclude(
    settings: Settings,
    env: Environment,
    report: RunReport,
    end: PytestEnd,
    *,
    plan: InstallPlan,
    state: Probe,
    pytest_args: Sequence[str] | None,
    folder: Path,
    tail: str | None,
    pytest_code: int | None,
    run_seconds: float,
    log: Log,
) -> PytestEnd:
    """After the tests: warnings, other checks and the culprit search; record them and
    return how the run ends. tox's plugin runs this after the env's commands.

    `pytest_args` None: the tests did not run through a pytest command the search can
    repeat. `run_seconds` (plan to tests' end) is the culprit budget's base.
    """
    end = with_warnings(settings, report, end, plan=plan, folder=folder, python=state.python)
    report.outcome = end.outcome
    if end.exit_code != 0:
        # A run that fails before or outside the report log (a conftest that cannot be
        # imported, a usage error, a crash) is explained only by pytest's last lines.
        report.output_tail = tail
    if end.exit_code != 0 and pytest_code != 1:
        report.error = end.message  # why a run without plain test failures failed
    if settings.checks and report.versions is not None:  # a failing test hides no check
        report.checks = checks.run_checks(
            checks.prepare(settings.checks, plan), env, plan, report.versions, log
        )
        end = with_checks(end, report.checks)
        report.outcome = end.outcome
    if end.outcome == "tests-failed" and settings.culprit:
        if pytest_args is None:
            reason = "the failing command is not pytest, so the search cannot re-run its tests"
            report.culprit = Finding("not-run", reason=reason)
            log(f"No culprit search: {reason}.")
            return end
        search_culprit(
            settings, env, report, plan=plan, state=state, pytest_args=pytest_args,
            folder=folder, run_seconds=run_seconds, log=log,
        )  # fmt: skip
    return end


def with_warnings(
    settings: Settings,
    report: RunReport,
    end: PytestEnd,
    *,
    plan: InstallPlan,
    folder: Path,
    python: str,
) -> PytestEnd:
    """Record the run's warnings; new deprecations fail a green run only when the project
    asks ('fail-on-new-deprecations'), as a failed check: the tests themselves passed."""
    planned = [str(p["name"]) for p in report.planned]
    report.warnings = deprecations.collect(
        settings, planned=planned, project=plan.project_name, job=report.job, python=python,
        folder=folder,
    )  # fmt: skip
    if end.exit_code or not settings.fail_on_new_deprecations:
        return end
    if not deprecations.new_deprecations(report.warnings):
        return end
    return PytestEnd(1, "checks-failed", deprecations.new_sentence(report.warnings))


def with_checks(end: PytestEnd, results: Sequence[checks.CheckResult]) -> PytestEnd:
    """How the run ends with its checks: a failing one fails a run whose tests passed
    (exit 1, outcome checks-failed); after failing tests it joins pytest's sentence."""
    phrase = checks.failure_phrase(results)
    if phrase is None:
        return end
    if end.exit_code == 0:
        return PytestEnd(1, "checks-failed", f"The tests passed, but {phrase}{_TAIL}")
    return PytestEnd(end.exit_code, end.outcome, f"{end.message} Also, {phrase}.")


def prepare(
    settings: Settings,
    env: Environment,
    report: RunReport,
    state: Probe,
    log: Log,
    *,
    base: bool = True,
) -> tuple[InstallPlan, Future[install.DependencyCheck]]:
    """Plan, install and prove, recording each stage; strict mode raises before the tests.

    The part of a run before the tests, which tox's plugin runs before the env's commands.
    The dependency check is left running: the caller records it (`record_check`) after
    the tests, which it does not slow down. A failure here records it first.
    """
    plan = plan_for(settings, Target.for_python(state.python, state.implementation))
    report.project, report.planned = plan.project_name, plan.to_dict()["packages"]
    log(plan.render())
    require_channel(plan, settings)
    checks.prepare(settings.checks, plan)  # a check naming no group stops before the install
    report.stage = "install"
    installed, checking = install_all(plan, env, report, base=base)
    report.stage = "verify"
    try:
        report.versions = prove(plan, env, log, installed)
        require_nightlies(report.versions, settings)
    except NightlyError:
        record_check(report, checking, log)
        raise
    report.stage = "tests"
    return plan, checking


def search_culprit(
    settings: Settings,
    env: Environment,
    report: RunReport,
    *,
    plan: InstallPlan,
    state: Probe,
    pytest_args: Sequence[str],
    folder: Path,
    run_seconds: float,
    log: Log,
) -> None:
    """Find the culprit of the failing tests; record it and the upstream drafts in `report`.

    The search never fails the run: whatever stops it becomes its reason in the report.
    """
    if report.versions is None:  # the tests ran, so the versions were proven; never None
        return
    target = Target.for_python(state.python, state.implementation)
    try:
        finding, failing = find_culprit(
            settings, env, plan, report.versions, target, job=report.job, folder=folder,
            pytest_args=pytest_args, run_seconds=run_seconds, log=log,
        )  # fmt: skip
    except NightlyError as exc:
        report.culprit = Finding("not-run", reason=f"the search failed: {exc}")
        log(f"No culprit search: the search failed: {exc}")
        return
    report.culprit = finding
    context = draft_context(settings, env, plan, report.versions, state)
    report.drafts = drafts_for(finding.culprits, failing, context)


def draft_context(
    settings: Settings, env: Environment, plan: InstallPlan, versions: VersionReport, state: Probe
) -> DraftContext:
    """What an upstream draft says about this run: Python, platform, indexes, pins, source."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return DraftContext(
        project=plan.project_name,
        python=python_text(state),
        platform=sysconfig.get_platform(),
        os=platform.system(),
        installer=env.installer,
        nightly_index=redact(settings.nightly_index_url),
        base_index=redact(settings.base_index_url),
        nightly_pins=tuple(
            (p.name, p.installed)
            for p in versions.packages
            if p.installed and p.status in ("nightly", "older-nightly")
        ),
        install=(*plan.group_requirements, "pytest"),
        extras=plan.extras,
        source=f"{server}/{repository}" if server and repository else None,
        commit=os.environ.get("GITHUB_SHA") or None,
        git_pins=tuple(
            (p.name, redact(at_commit(without_credentials(p.git_url), p.commit)))
            for p in versions.packages
            if p.status == "git" and p.git_url and p.commit
        ),
    )


def python_text(state: Probe) -> str:
    """The Python an upstream report names: the full version, and the build when it is
    free-threaded (a nightly may break only there, and its maintainers test it apart)."""
    version = state.markers.get("python_full_version", state.python)
    return f"{version} (free-threaded)" if state.free_threaded else version
