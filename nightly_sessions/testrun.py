"""One nightly test run: plan, install, prove, run pytest, report.

Plain Python over an `Environment`, so the nox session and the CLI share it. The report
is written whatever happens, so a run that never reached pytest still says why.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from textwrap import indent

from nightly_sessions import install, runner
from nightly_sessions.config import Settings
from nightly_sessions.errors import NightlyError, ProofError
from nightly_sessions.plan import InstallPlan, Target, make_plan
from nightly_sessions.probe import probe
from nightly_sessions.pyproject import read_project
from nightly_sessions.redact import redact
from nightly_sessions.report import (
    REPORT_LOG_NAME,
    RunReport,
    count_tests,
    version_table,
    write_report,
)
from nightly_sessions.verify import VersionReport, verify

Log = Callable[[str], None]
# Every exit code pytest's process can end with: a failing run is reported, never raised,
# including a crash (-11 for SIGSEGV on POSIX, 0xC0000005 on Windows).
ANY_EXIT_CODE = range(-(2**31), 2**32)


@dataclass(frozen=True)
class RunResult:
    """How the run ended: the exit code, a sentence when it is not 0, and the report."""

    exit_code: int
    message: str | None
    report_path: Path | None  # None when the report could not be written


def job_name(python: str) -> str:
    """The matrix job's name: $NIGHTLY_JOB, else Python version and OS."""
    return os.environ.get("NIGHTLY_JOB") or f"py{python}-{platform.system()}"


def plan_for(settings: Settings, target: Target) -> InstallPlan:
    """Read the project and the channel and decide each package's source."""
    return make_plan(settings, read_project(settings.project_root), target)


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


def install_all(
    plan: InstallPlan, env: install.Environment, report: RunReport, log: Log = print
) -> None:
    """Base install, nightlies, repairs, dependency check; record repairs and the check."""
    install.install_base(plan, env)
    install.install_nightlies(plan, env)
    report.repairs = [
        {
            "name": r.name,
            "requirement": r.requirement,
            "required_by": r.required_by,
            "installed": r.installed,
        }
        for r in install.repair(plan, env)
    ]
    check = install.dependency_check(env)
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


def prove(plan: InstallPlan, env: install.Environment, log: Log) -> VersionReport:
    """Read back what is installed and classify each planned package."""
    versions = verify(plan, probe(env.python))
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
    settings: Settings, env: install.Environment, pytest_args: Sequence[str], folder: Path
) -> runner.Completed:
    """Run pytest with its report log in `folder`; return how it ended, with its output tail."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / REPORT_LOG_NAME
    log_path.unlink(missing_ok=True)  # an earlier run's log must not pass for this one's
    args = [str(env.python), "-m", "pytest", f"--report-log={log_path}"]
    args += [*settings.pytest_args, *pytest_args]
    return runner.run(args, what="run the tests", ok_codes=ANY_EXIT_CODE, cwd=settings.project_root)


def run_nightly_tests(
    settings: Settings,
    env: install.Environment,
    pytest_args: Sequence[str] = (),
    log: Log = print,
) -> RunResult:
    """Plan, install, prove and test in `env`; always write the report.

    Each job's report goes into its own folder below `report-dir`, so runs for several
    Pythons (or a CI matrix's artifacts gathered in one place) never overwrite each other.
    """
    state = probe(env.python)
    target = Target.for_python(state.python, state.implementation)
    report = RunReport(
        project=None,
        job=job_name(state.python),
        python=state.python,
        nightly_index=settings.nightly_index_url,
        base_index=settings.base_index_url,
    )
    folder = settings.report_path / report.job
    try:
        exit_code = _stages(
            settings, env, report, target=target, pytest_args=pytest_args, folder=folder, log=log
        )
        message = (
            None
            if exit_code == 0
            else f"The tests failed against the nightlies (pytest exit code {exit_code})."
        )
        if not 0 <= exit_code < 256:
            exit_code = 1  # a crash (a signal, a Windows status) is a failed test run
    except NightlyError as exc:
        report.error, report.output_tail = str(exc), exc.detail
        exit_code, message = exc.exit_code, str(exc)
    try:
        path = write_report(report, folder, log=log)
    except NightlyError as exc:  # the run's own failure, if any, stays the one reported
        log(str(exc))
        return RunResult(exit_code or exc.exit_code, message or str(exc), None)
    log(f"Report: {path} (and {path.with_suffix('.md').name})")
    return RunResult(exit_code, message, path)


def _stages(
    settings: Settings,
    env: install.Environment,
    report: RunReport,
    *,
    target: Target,
    pytest_args: Sequence[str],
    folder: Path,
    log: Log,
) -> int:
    """Plan, install, prove, test; record each stage in `report`; return pytest's code."""
    plan = plan_for(settings, target)
    report.project, report.planned = plan.project_name, plan.to_dict()["packages"]
    log(plan.render())
    require_channel(plan, settings)
    report.stage = "install"
    install_all(plan, env, report, log)
    report.stage = "verify"
    report.versions = prove(plan, env, log)
    require_nightlies(report.versions, settings)
    report.stage = "tests"
    pytest_run = run_pytest(settings, env, pytest_args, folder)
    exit_code = pytest_run.returncode
    report.tests = count_tests(folder / REPORT_LOG_NAME, exit_code)
    report.outcome = "passed" if exit_code == 0 else "tests-failed"
    if exit_code != 0:
        # A run that fails before or outside the report log (a conftest that cannot be
        # imported, a usage error, a crash) is explained only by pytest's last lines.
        report.output_tail = pytest_run.tail
    return exit_code
