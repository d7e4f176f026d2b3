"""The culprit search's edges: the indexes, the last green report, installs and re-runs.

`culprit.search` decides; this module gives it what it needs. It reads which versions a
package can go back to (the last green run's report, the channel and the base index),
and makes each `Trial`: install the put-back versions into the run's own environment
(pinned, as wheels, without dependencies, each from its one index), re-run the failing
node ids, then install the nightlies the tests ran with again. Afterwards it reads the
environment back, so the report's version table stays what the tests ran with.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nightly_sessions.core import runner
from nightly_sessions.core.artifacts import REPORT_LOG_NAME, find_reports
from nightly_sessions.core.config import Settings
from nightly_sessions.core.environment import Environment, index_environment
from nightly_sessions.core.errors import NightlyError
from nightly_sessions.core.index import DistFile, IndexClient, newest_compatible
from nightly_sessions.core.log import Log
from nightly_sessions.core.run_report import load_report
from nightly_sessions.nightly_tests.culprit import (
    MAX_TESTS,
    Candidate,
    Finding,
    PutBack,
    Trial,
    choose_put_back,
    duration,
    effort,
    make_budget,
    order_candidates,
    search,
    verdict,
)
from nightly_sessions.nightly_tests.plan import InstallPlan, Target, is_prerelease
from nightly_sessions.nightly_tests.probe import probe
from nightly_sessions.nightly_tests.rerun import FailingTest, read_log, rerun_options
from nightly_sessions.nightly_tests.verify import VersionReport, same_version
from nightly_sessions.nightly_tests.warnings_plugin import plugin_args, plugin_environment

_ANY_EXIT_CODE = range(-(2**31), 2**32)
# pytest ran nothing it was asked to: an internal error, a usage error, nothing collected.
_NOT_RUN_CODES = (3, 4, 5)
_TRIED_STATUSES = ("nightly", "older-nightly")  # installed from the channel
# Why a 'git-packages' upstream is left out: its way back is its release, but its way
# forward again is a fresh build from git (minutes for a compiled package, a moving
# branch meanwhile), which a re-run per package cannot afford or keep to one commit.
GIT_NOT_TRIED = (
    "installed from git by 'git-packages': the search puts back only nightlies, since "
    "installing a git branch again means building it anew"
)


def find_culprit(
    settings: Settings,
    env: Environment,
    plan: InstallPlan,
    versions: VersionReport,
    target: Target,
    *,
    job: str,
    folder: Path,
    pytest_args: Sequence[str],
    run_seconds: float,
    log: Log,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Finding, tuple[FailingTest, ...]]:
    """Search for the nightly that breaks the run's failing tests; never raises.

    Returns the finding and the failing tests the report log names (for the drafts).
    """
    summary = read_log(folder / REPORT_LOG_NAME)
    if not summary.finished:
        return Finding(
            "not-run",
            reason="pytest stopped before the end of its session, so its report log does not "
            "name every failing test",
        ), summary.failing
    if not summary.failing:
        return Finding(
            "not-run", reason="pytest's report log names no failing test to re-run"
        ), summary.failing
    tests = tuple(test.nodeid for test in summary.failing)[:MAX_TESTS]
    last_green, notes = last_green_versions(settings, job, target.python)
    candidates = [
        Candidate(p.name, p.installed, (last_green or {}).get(p.name), last_green is not None)
        for p in versions.packages
        if p.status in _TRIED_STATUSES and p.installed
    ]
    to_try, capped = order_candidates(candidates, settings.culprit_max_packages)
    put_backs, cannot, lookup_notes = choose_versions(to_try, settings, target)
    budget = make_budget(settings.culprit_budget, run_seconds)
    count = f"{len(tests)} failing test{'s' if len(tests) != 1 else ''}"
    log(
        f"Culprit search: re-running the {count} as installed, then with each nightly put "
        f"back, one at a time (budget {duration(budget.seconds)}: {budget.rule}; at most "
        f"{settings.culprit_max_packages} packages)."
    )
    attempt = _Attempts(settings, env, plan=plan, pytest_args=pytest_args, log=log, clock=clock)
    finding = search(
        tests,
        put_backs,
        attempt,
        budget,
        clock,
        total_failing=len(summary.failing),
        could_not_try=cannot,
        not_tried=[
            *((c.name, f"culprit-max-packages is {len(to_try)}") for c in capped),
            *((p.name, GIT_NOT_TRIED) for p in versions.packages if p.source == "git"),
        ],
    )
    finding = finding.with_notes(*notes, *lookup_notes)
    if finding.trials:
        problem = restored_problem(env, versions)
        if problem:
            finding = finding.with_notes(problem)
    for line in [*verdict(finding), effort(finding) or ""]:
        if line:
            log(line)
    return finding, summary.failing


def last_green_versions(
    settings: Settings, job: str, python: str
) -> tuple[dict[str, str] | None, list[str]]:
    """The installed versions of the last green run's report for this job, and notes."""
    data, notes = last_green_report(settings, job, python)
    if data is None:
        return None, notes
    return {
        str(p["name"]): str(p["installed"])
        for p in data["packages"]
        if isinstance(p.get("installed"), str)
    }, []


def last_green_report(
    settings: Settings, job: str, python: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The last green run's report for this job, or None and why (notes; none when unset).

    `last-green` names a nightly-report.json or a folder of them (a downloaded artifact
    set); from a folder, the report of the same job is taken, else one of the same Python.
    """
    path = settings.last_green_path
    if path is None:
        return None, []
    if path.is_dir():
        chosen = _report_for(path, job, python)
        if chosen is None:
            return None, [f"the last green folder {path} holds no report for {job}"]
        path = chosen
    data, problem = load_report(path)
    if data is None:
        return None, [f"the last green report could not be used: {problem}"]
    if data.get("outcome") != "passed":
        return None, [f"the report given as the last green run ({path}) did not pass"]
    return data, []


def _report_for(folder: Path, job: str, python: str) -> Path | None:
    reports: list[tuple[Path, Mapping[str, Any]]] = []
    for path in find_reports(folder):
        data, _ = load_report(path)
        if data is not None:
            reports.append((path, data))
    for matches in (
        lambda data: data.get("job") == job,
        lambda data: str(data.get("python", "")).split(".")[:2] == python.split(".")[:2],
    ):
        found = [path for path, data in reports if matches(data)]
        if found:
            return found[0]
    return reports[0][0] if len(reports) == 1 else None


def choose_versions(
    candidates: Sequence[Candidate], settings: Settings, target: Target
) -> tuple[list[PutBack], list[tuple[str, str]], list[str]]:
    """(put-backs, packages without a version to go back to, notes) from both indexes."""
    names = [candidate.name for candidate in candidates]
    channel, channel_note = _files(settings.nightly_index_url, names, settings, "nightly index")
    base, base_note = _files(settings.base_index_url, names, settings, "base index")
    put_backs: list[PutBack] = []
    cannot: list[tuple[str, str]] = []
    for candidate in candidates:
        chosen = choose_put_back(
            candidate,
            channel_versions=_compatible(channel.get(candidate.name, []), target),
            base_versions=_compatible(base.get(candidate.name, []), target),
            newest_release=_newest_release(base.get(candidate.name, []), target),
        )
        if isinstance(chosen, str):
            cannot.append((candidate.name, chosen))
        else:
            put_backs.append(chosen)
    notes = [note for note in (channel_note, base_note) if note]
    notes += [f"{put.name}: {put.note}" for put in put_backs if put.note]
    return put_backs, cannot, notes


def _files(
    url: str, names: Sequence[str], settings: Settings, what: str
) -> tuple[Mapping[str, list[DistFile]], str | None]:
    if not names:
        return {}, None
    try:
        client = IndexClient(url, timeout=settings.timeout, retries=settings.retries)
        return client.files_many(names), None
    except NightlyError as exc:
        return {}, f"the {what} could not be read, so its versions were not tried ({exc})"


def _compatible(files: Sequence[DistFile], target: Target) -> set[str]:
    return {
        str(file.version)
        for file in files
        if newest_compatible([file], target.tags, target.python) is not None
    }


def _newest_release(files: Sequence[DistFile], target: Target) -> str | None:
    releases = [file for file in files if not file.version.is_prerelease]
    newest = newest_compatible(releases, target.tags, target.python)
    return str(newest.version) if newest else None


def put_back_args(env: Environment, name: str, version: str) -> list[str]:
    """Install exactly `name==version` as a wheel, without touching anything else."""
    flags = [env.prerelease_flag()] if is_prerelease(version) else []
    return env.install(*flags, "--only-binary", ":all:", "--no-deps", f"{name}=={version}")


class _Attempts:
    """Makes each `Trial`: put back, re-run the failing tests, restore the nightlies."""

    def __init__(
        self,
        settings: Settings,
        env: Environment,
        *,
        plan: InstallPlan,
        pytest_args: Sequence[str],
        log: Log,
        clock: Callable[[], float],
    ) -> None:
        self.settings, self.env, self.plan, self.log, self.clock = settings, env, plan, log, clock
        root = settings.project_root
        self.options = rerun_options([*settings.pytest_args, *pytest_args], root)

    def __call__(self, put_backs: tuple[PutBack, ...], tests: tuple[str, ...]) -> Trial:
        started = self.clock()
        done: list[PutBack] = []
        problem = None
        try:
            for put in put_backs:
                self._install(put.name, put.version, put.index, f"put back {put.label}")
                done.append(put)
        except NightlyError as exc:  # "Failed to put back numpy 2.4.1 (...) from URL (...)"
            text = _first_line(exc)
            problem = text[:1].lower() + text[1:]
        failed, passed_note = tests, ""
        if problem is None:
            failed, problem = self._rerun(tests)
        restore_problem = self._restore(done if problem else put_backs)
        trial = Trial(put_backs, tests, failed, self.clock() - started, problem, restore_problem)
        what = ", ".join(put.label for put in put_backs) or "as installed (the plain re-run)"
        if problem:
            passed_note = f"not tried: {problem}"
        else:
            passed_note = f"{len(trial.passed)} of {len(tests)} pass"
        self.log(f"  {what}: {passed_note} ({duration(trial.seconds)})")
        return trial

    def _install(self, name: str, version: str, index: str, what: str) -> None:
        url = self.plan.nightly_index_url if index == "nightly" else self.plan.base_index_url
        runner.run(
            put_back_args(self.env, name, version),
            what=f"{what} from {url}",
            env=index_environment(url),
            echo=False,
        )

    def _rerun(self, tests: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
        """(the tests that still fail, None), or (all of them, why pytest ran none)."""
        with tempfile.TemporaryDirectory(prefix="nightly-culprit-") as folder:
            log_path = Path(folder) / REPORT_LOG_NAME
            args = [str(self.env.python), "-m", "pytest", f"--report-log={log_path}"]
            # The warnings made errors stay errors, so a test failing on one fails again.
            as_errors = self.settings.warnings_as_errors
            args += plugin_args(None, as_errors) if as_errors else []
            result = runner.run(
                [*args, *self.options, *tests],
                what="re-run the failing tests",
                env=plugin_environment() if as_errors else None,
                ok_codes=_ANY_EXIT_CODE,
                cwd=self.settings.project_root,
                echo=False,
            )
            summary = read_log(log_path)
        passed = summary.passed & set(tests)
        if result.returncode in _NOT_RUN_CODES and not passed:
            last = next(
                (line.strip() for line in reversed(result.tail.splitlines()) if line.strip()),
                "no output",
            )
            return tests, f"pytest ended with exit code {result.returncode} ({last})"
        return tuple(test for test in tests if test not in passed), None

    def _restore(self, put_backs: Sequence[PutBack]) -> str | None:
        for put in put_backs:
            try:
                self._install(put.name, put.nightly, "nightly", f"install {put.name} again")
            except NightlyError as exc:
                return (
                    f"the nightly {put.name} {put.nightly} could not be installed again "
                    f"({_first_line(exc)})"
                )
        return None


def _first_line(exc: NightlyError) -> str:
    return str(exc).splitlines()[0].rstrip(".") if str(exc) else type(exc).__name__


def restored_problem(env: Environment, versions: VersionReport) -> str | None:
    """A sentence when the environment no longer holds what the tests ran with."""
    try:
        state = probe(env.python)
    except NightlyError as exc:
        return f"the environment could not be read back after the search ({_first_line(exc)})"
    wrong = [
        f"{package.name} is {state.version_of(package.name) or 'absent'}, not {package.installed}"
        for package in versions.packages
        if package.installed and not same_version(state.version_of(package.name), package.installed)
    ]
    if not wrong:
        return None
    return (
        "the environment was not put back as the tests ran: "
        + "; ".join(wrong)
        + " (the version table shows what the tests ran with)"
    )
