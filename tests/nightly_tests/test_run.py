from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from nightly_sessions.core.config import load_settings
from nightly_sessions.core.environment import Environment
from nightly_sessions.core.errors import ProofError
from nightly_sessions.nightly_tests import run
from nightly_sessions.nightly_tests.install import DependencyCheck
from nightly_sessions.nightly_tests.plan import InstallPlan, PlannedPackage
from nightly_sessions.nightly_tests.probe import Probe
from nightly_sessions.nightly_tests.run import dependency_warning, judge_pytest, require_channel

NIGHTLY = "https://h/t/tok-testrun-1/chan/simple"


def plan_with(*packages: PlannedPackage) -> InstallPlan:
    return InstallPlan(Path(), "demo", (), (), (), NIGHTLY, "http://b", "3.11", packages)


def package(name: str, newest: str | None, *, allowed: bool = False) -> PlannedPackage:
    versions = (newest,) if newest else ()
    return PlannedPackage(name, "nightly" if newest else "base", newest, versions, allowed, "x")


def test_strict_mode_stops_before_installing_a_name_the_channel_lacks(tmp_path: Path) -> None:
    plan = plan_with(package("tinyarray", "1.1.dev0"), package("tinyaray", None))
    with pytest.raises(ProofError) as caught:
        require_channel(plan, load_settings(tmp_path, environ={}))
    message = str(caught.value)
    assert message.startswith(
        "The nightly index https://h/t/***/chan/simple has no wheel of tinyaray at all: "
        "check the spelling of the name, or add it to 'allow-missing'"
    )
    assert "before installing anything" in message
    assert "tok-testrun-1" not in message


def test_allowed_or_lenient_runs_go_on(tmp_path: Path) -> None:
    plan = plan_with(package("tinyarray", "1.1.dev0"), package("pandas", None, allowed=True))
    require_channel(plan, load_settings(tmp_path, environ={}))
    lenient = load_settings(tmp_path, environ={"NIGHTLY_STRICT": "false"})
    require_channel(plan_with(package("tinyaray", None)), lenient)


def test_dependency_warning_shows_the_redacted_output() -> None:
    output = "consumer 1.0 has requirement tinyarray<1.1 (from https://h/t/tok-dep-2/x)"
    warning = dependency_warning(DependencyCheck(ok=False, output=output, command="pip check"))
    assert warning.startswith("Warning: the dependency check (`pip check`) found conflicts")
    assert "  consumer 1.0 has requirement tinyarray<1.1" in warning
    assert "tok-dep-2" not in warning


DOCUMENTED_CODES = {0, 1, 2, 3, 4, 5, 130}


CONFTEST_FAILS = "ImportError while loading conftest '/p/conftest.py'.\n"


@pytest.mark.parametrize(
    ("pytest_code", "output", "exit_code", "outcome", "words"),
    [
        (0, "", 0, "passed", None),
        (1, "", 1, "tests-failed", "The tests failed against the nightlies (pytest exit code 1)."),
        (2, "", 1, "tests-failed", "(pytest exit code 2): the run was interrupted"),
        (3, "", 1, "tests-failed", "(pytest exit code 3): pytest crashed with an internal error"),
        (4, "error: unrecognized arguments: --x", 2, "not-run", "The pytest arguments are wrong"),
        (4, CONFTEST_FAILS, 1, "tests-failed", "could not load a conftest.py or plugin"),
        (4, 'ERROR: Error importing plugin "x"', 1, "tests-failed", "could not load a conftest"),
        (5, "", 1, "not-run", "No tests ran (pytest exit code 5: none collected)"),
        (7, "", 1, "tests-failed", "The tests failed against the nightlies (pytest exit code 7)."),
        (-11, "", 1, "tests-failed", "(pytest exit code -11): the run crashed, ended by SIGSEGV"),
        (0xC0000005, "", 1, "tests-failed", "crashed, ended by status 0xc0000005"),
    ],
)
def test_pytest_codes_become_documented_codes(
    pytest_code: int, output: str, exit_code: int, outcome: str, words: str | None
) -> None:
    end = judge_pytest(pytest_code, output)
    assert (end.exit_code, end.outcome) == (exit_code, outcome)
    assert end.exit_code in DOCUMENTED_CODES
    if words is None:
        assert end.message is None
    else:
        assert end.message is not None
        assert words in end.message
        assert end.message[0].isupper()
        assert end.message.endswith(".")
        assert f"pytest exit code {pytest_code}" in end.message


def test_a_failed_proof_still_reports_the_dependency_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check runs beside the tests; a run stopped before them still waits for it."""
    state = Probe("3.11", "cpython", {}, {})
    checking: Future[DependencyCheck] = Future()
    checking.set_result(DependencyCheck(ok=False, output="x 1.0 needs y<2", command="uv pip check"))

    def unproven(*args: object, **kwargs: object) -> None:
        raise ProofError("tinyarray is not the newest nightly.")

    monkeypatch.setattr(
        run, "plan_for", lambda *a, **k: plan_with(package("tinyarray", "1.1.dev0"))
    )
    monkeypatch.setattr(run, "install_all", lambda *a, **k: (state, checking))
    monkeypatch.setattr(run, "prove", unproven)
    settings = load_settings(tmp_path, environ={})
    report = run.start_report(settings, state, "py3.11-Linux")
    said: list[str] = []
    with pytest.raises(ProofError):
        run.prepare(settings, Environment(Path("/py"), "uv"), report, state, said.append)
    assert report.dependency_check == {
        "ok": False,
        "output": "x 1.0 needs y<2",
        "command": "uv pip check",
    }
    assert any("found conflicts" in line for line in said)
