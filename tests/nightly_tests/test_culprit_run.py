"""The culprit search's edges without nox: the report log, the re-run command, one trial
with real pytest, the last green report, the versions on real loopback indexes."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nightly_world import BETA_BROKEN_NIGHTLY, build_culprit_world

from nightly_sessions.core import runner
from nightly_sessions.core.config import Settings
from nightly_sessions.core.environment import Environment, find_uv, index_environment
from nightly_sessions.nightly_tests import culprit_run
from nightly_sessions.nightly_tests.culprit import Candidate, PutBack
from nightly_sessions.nightly_tests.plan import InstallPlan, Target
from nightly_sessions.nightly_tests.probe import probe
from nightly_sessions.nightly_tests.rerun import parse_log, read_log, rerun_options
from nightly_sessions.nightly_tests.verify import PackageVersion, VersionReport
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.simple_index import SimpleIndexServer, serve_simple_index
from nightly_sessions.testing.wheelhouse import make_wheel

SUITE = """
import pytest


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_ok():
    pass


def test_fails():
    value = 3
    assert value == 2, "ask @octocat"


def test_error(broken):
    pass


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
"""


def pytest_run(folder: Path, *args: str) -> Path:
    """Run pytest on `folder`/tests with a report log; return the log."""
    log = folder / "log.jsonl"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--report-log={log}", *args],
        cwd=folder, capture_output=True, check=False,
    )  # fmt: skip
    return log


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_suite.py").write_text(SUITE, encoding="utf-8")
    return tmp_path


def test_the_failing_tests_and_their_excerpts_from_a_real_log(project: Path) -> None:
    summary = read_log(pytest_run(project, "tests"))
    assert summary.finished
    assert [(t.nodeid, t.when) for t in summary.failing] == [
        ("tests/test_suite.py::test_fails", "call"),
        ("tests/test_suite.py::test_error", "setup"),
    ]
    fails = summary.failing[0]
    assert fails.message == "AssertionError: ask @octocat"
    assert ">       assert value == 2" in fails.excerpt
    assert fails.excerpt.endswith("tests/test_suite.py:16: AssertionError")
    assert "RuntimeError: fixture broke" in summary.failing[1].excerpt
    assert summary.passed == {"tests/test_suite.py::test_ok"}  # skipped is not passed


def test_a_cut_log_is_not_finished_and_bad_lines_are_skipped() -> None:
    lines = [
        (
            '{"$report_type": "TestReport", "nodeid": "t.py::a", "when": "call", "outcome": "failed",'
            ' "longrepr": "E   assert 1 == 2"}'
        ),
        "not json",
        '{"$report_type": "TestReport", "nodeid": "t.py::b", "when": "ca',
    ]
    summary = parse_log(lines)
    assert not summary.finished
    assert [(t.nodeid, t.message) for t in summary.failing] == [("t.py::a", "assert 1 == 2")]
    assert read_log(Path("/nonexistent/log.jsonl")).failing == ()


def test_the_re_run_keeps_options_and_drops_paths_and_early_stops(project: Path) -> None:
    args = [
        "tests", "-x", "--maxfail=3", "-k", "fft", "-p", "no:cacheprovider", "-W", "error",
        "--rootdir", "tests", "tests/test_suite.py::test_ok", "--maxfail", "2", "-q",
        "--deselect=tests/test_suite.py::test_ok", "--lf",
    ]  # fmt: skip
    assert rerun_options(args, project) == [
        "-p", "no:cacheprovider", "-W", "error", "--rootdir", "tests", "-q",
    ]  # fmt: skip


def settings_for(root: Path, **fields: object) -> Settings:
    return Settings(project_root=root, **fields)  # type: ignore[arg-type]


def plan_for(root: Path) -> InstallPlan:
    return InstallPlan(
        project_root=root, project_name="demo", extras=(), groups=(), group_requirements=(),
        nightly_index_url="http://127.0.0.1:1/simple", base_index_url="http://127.0.0.1:1/simple",
        python="3.12", packages=(),
    )  # fmt: skip


def test_a_trial_re_runs_only_the_given_tests_and_a_failed_install_is_its_problem(
    project: Path,
) -> None:
    lines: list[str] = []
    # An "installer" that always fails: the Python itself, asked to run a file named `pip`.
    env = Environment(Path(sys.executable), "uv", uv=sys.executable)
    attempt = culprit_run._Attempts(
        settings_for(project), env, plan=plan_for(project), pytest_args=["tests", "-x"],
        log=lines.append, clock=lambda: 0.0,
    )  # fmt: skip
    tests = ("tests/test_suite.py::test_fails", "tests/test_suite.py::test_ok")
    plain = attempt((), tests)
    assert (plain.problem, plain.failed) == (None, ("tests/test_suite.py::test_fails",))
    assert plain.passed == ("tests/test_suite.py::test_ok",)
    put = PutBack("numpy", "2.5.0.dev0", "2.4.1", "base-release", "base")
    tried = attempt((put,), tests)
    assert tried.problem is not None
    assert tried.problem.startswith(
        "failed to put back numpy 2.4.1 (newest release on the base index) from "
        "http://127.0.0.1:1/simple"
    )
    assert tried.restore_problem is None  # nothing was put back, so nothing to restore
    assert lines[0] == "  as installed (the plain re-run): 1 of 2 pass (0.0 s)"
    assert lines[1].startswith("  numpy 2.4.1 (newest release on the base index): not tried: ")


def test_a_re_run_that_pytest_refuses_is_a_problem(project: Path) -> None:
    env = Environment(Path(sys.executable), "pip")
    attempt = culprit_run._Attempts(
        settings_for(project), env, plan=plan_for(project), pytest_args=[], log=print,
        clock=lambda: 0.0,
    )  # fmt: skip
    trial = attempt((), ("tests/test_gone.py::test_x",))
    assert trial.problem is not None
    assert trial.problem.startswith("pytest ended with exit code 4 (ERROR: ")


def report_file(folder: Path, job: str, python: str, outcome: str, numpy: str) -> Path:
    folder.mkdir(parents=True)
    data = {
        "schema": 1, "project": "demo", "job": job, "python": python, "platform": "linux-x86_64",
        "stage": "tests", "outcome": outcome, "nightly_index": "http://127.0.0.1:1/simple",
        "packages": [{"name": "numpy", "installed": numpy}, {"name": "gone", "installed": None}],
        "repairs": [],
    }  # fmt: skip
    path = folder / "nightly-report.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_last_green_report_is_a_file_or_this_jobs_report_in_a_folder(tmp_path: Path) -> None:
    green = tmp_path / "green"
    report_file(green / "nightly-reports-py3.12-Linux", "py3.12-Linux", "3.12", "passed", "2.4")
    report_file(green / "nightly-reports-py3.13-Linux", "py3.13-Linux", "3.13", "passed", "2.5")
    settings = settings_for(tmp_path, last_green="green")
    assert culprit_run.last_green_versions(settings, "py3.13-Linux", "3.13") == (
        {"numpy": "2.5"},
        [],
    )
    # Another job name (a local run, say): the report of the same Python.
    assert culprit_run.last_green_versions(settings, "mine", "3.12")[0] == {"numpy": "2.4"}
    assert culprit_run.last_green_versions(settings, "mine", "3.11") == (
        None,
        [f"the last green folder {tmp_path / 'green'} holds no report for mine"],
    )
    red = report_file(tmp_path / "red", "py3.12-Linux", "3.12", "tests-failed", "2.6")
    assert culprit_run.last_green_versions(
        settings_for(tmp_path, last_green=str(red)), "py3.12-Linux", "3.12"
    ) == (None, [f"the report given as the last green run ({red}) did not pass"])
    absent = culprit_run.last_green_versions(
        settings_for(tmp_path, last_green="absent.json"), "j", "3.12"
    )
    assert absent == (None, ["the last green report could not be used: absent.json is absent"])
    assert culprit_run.last_green_versions(settings_for(tmp_path), "j", "3.12") == (None, [])


@pytest.fixture
def indexes(tmp_path: Path) -> Iterator[tuple[SimpleIndexServer, SimpleIndexServer]]:
    with (
        serve_simple_index(tmp_path / "nightly", prefix="/t/tok-123456/chan") as nightly,
        serve_simple_index(tmp_path / "base") as base,
    ):
        yield nightly, base


def test_versions_to_go_back_to_come_from_both_indexes(
    indexes: tuple[SimpleIndexServer, SimpleIndexServer],
) -> None:
    nightly, base = indexes
    for version in ("2.5.0.dev1", "2.5.0.dev2"):
        make_wheel(nightly.directory, "numpy", version)
    make_wheel(nightly.directory, "scipy", "1.17.0.dev1")
    make_wheel(nightly.directory, "fresh", "0.1.dev1")
    make_wheel(base.directory, "numpy", "2.4.1")
    make_wheel(base.directory, "numpy", "2.5.0rc1")  # a pre-release is no "newest release"
    make_wheel(base.directory, "numpy", "2.6.0", tag="cp99-cp99-manylinux_2_99_x86_64")
    make_wheel(base.directory, "scipy", "1.16.0")
    settings = Settings(nightly_index_url=nightly.url, base_index_url=base.url, retries=0)
    candidates = [
        Candidate("numpy", "2.5.0.dev2", "2.5.0.dev1", known=True),
        Candidate("scipy", "1.17.0.dev1", "1.17.0.dev0", known=True),  # gone from the channel
        Candidate("fresh", "0.1.dev1", None, known=True),
    ]
    put_backs, cannot, notes = culprit_run.choose_versions(candidates, settings, Target.current())
    assert [(p.name, p.version, p.origin, p.index) for p in put_backs] == [
        ("numpy", "2.5.0.dev1", "last-green", "nightly"),
        ("scipy", "1.16.0", "base-release", "base"),
    ]
    assert cannot == [("fresh", "the base index has no release of fresh for this platform")]
    assert notes == [
        (
            "scipy: the last green run's scipy 1.17.0.dev0 is no longer on the channel or the base "
            "index for this platform"
        )
    ]


def test_an_unreadable_index_is_a_note_not_a_failure() -> None:
    settings = Settings(
        nightly_index_url="http://127.0.0.1:1/t/tok-123456/chan/simple",
        base_index_url="http://127.0.0.1:1/simple",
        retries=0,
        timeout=2,
    )
    put_backs, cannot, notes = culprit_run.choose_versions(
        [Candidate("numpy", "2.5.0.dev2")], settings, Target.current()
    )
    assert put_backs == []
    assert cannot == [("numpy", "the base index has no release of numpy for this platform")]
    assert len(notes) == 2
    assert notes[0].startswith("the nightly index could not be read, so its versions were not")
    assert "tok-123456" not in " ".join(notes)


def test_the_environment_is_checked_against_the_version_table() -> None:
    env = Environment(Path(sys.executable), "pip")
    installed = probe(sys.executable).version_of("pytest")
    same = VersionReport(
        (PackageVersion("pytest", "nightly", installed, installed, "nightly", False),)
    )
    assert culprit_run.restored_problem(env, same) is None
    other = VersionReport((PackageVersion("pytest", "nightly", "0.1", "0.1", "nightly", False),))
    assert culprit_run.restored_problem(env, other) == (
        f"the environment was not put back as the tests ran: pytest is {installed}, not 0.1 "
        "(the version table shows what the tests ran with)"
    )


@pytest.mark.integration
def test_pip_puts_a_package_back_and_installs_the_nightly_again(
    tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer
) -> None:
    """uv does it in the nox test of the whole search; here pip, on the same indexes."""
    world = build_culprit_world(tmp_path, base_index, nightly_index)
    uv = find_uv()
    assert uv is not None
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--seed", "--python", sys.executable, str(venv)], check=True)
    env = Environment(venv / "bin" / "python", "pip")
    runner.run(
        culprit_run.put_back_args(env, "beta", BETA_BROKEN_NIGHTLY),
        what="install the nightly", env=index_environment(world.nightly.url),
    )  # fmt: skip
    plan = dataclasses.replace(
        plan_for(world.project), nightly_index_url=world.nightly.url, base_index_url=world.base.url
    )
    attempt = culprit_run._Attempts(
        settings_for(world.project), env, plan=plan, pytest_args=[], log=print, clock=lambda: 0.0
    )  # fmt: skip
    put = PutBack("beta", BETA_BROKEN_NIGHTLY, "1.0", "base-release", "base")
    attempt._install(put.name, put.version, put.index, "put back beta")
    assert probe(env.python).version_of("beta") == "1.0"
    assert attempt._restore([put]) is None
    assert probe(env.python).version_of("beta") == BETA_BROKEN_NIGHTLY
