"""`nox -s nightly_tests` and `nox -s nightly_plan` run for real on the example project."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nightly_world import NEWEST_NIGHTLY, World, build_world, run_nox

from nightly_sessions.testing.example import tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer, free_port
from nightly_sessions.testing.wheelhouse import make_wheel
from nightly_sessions.tracking import decisions as tracking
from nightly_sessions.tracking import issue_body, job_reports

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> World:
    return build_world(tmp_path, base_index, nightly_index)


def reports(world: World) -> Path:
    [folder] = (world.project / "nightly-reports").iterdir()  # one job: py3.X-Linux
    assert folder.name == f"py{sys.version_info[0]}.{sys.version_info[1]}-{platform.system()}"
    return folder


def report_of(world: World) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reports(world) / "nightly-report.json").read_text())
    return data


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_nightly_wins_over_release_candidate(world: World, installer: str) -> None:
    result = run_nox(world, "-s", "nightly_tests", NIGHTLY_INSTALLER=installer)
    assert result.returncode == 0, result.stdout + result.stderr
    report = report_of(world)
    assert report["outcome"] == "passed"
    [tinyarray] = report["packages"]
    assert tinyarray["installed"] == NEWEST_NIGHTLY  # not 1.1.0rc1
    assert tinyarray["status"] == "nightly"
    assert report["repairs"] == [
        {
            "name": "helperlib",
            "requirement": "helperlib>=1",
            "required_by": "tinyarray",
            "installed": "1.0",
        }
    ]
    assert report["pytest"]["passed"] == 2
    assert (reports(world) / "pytest-log.jsonl").is_file()
    assert "nightly" in (reports(world) / "nightly-report.md").read_text()


def test_package_missing_from_channel_fails_strict_mode_before_installing(world: World) -> None:
    pyproject = world.project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('packages = "auto"', 'packages = ["tinyarray", "tinyaray"]')
    )
    result = run_nox(world, "-s", "nightly_tests")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    sentence = (
        f"The nightly index {world.nightly.url} has no wheel of tinyaray at all: check the "
        "spelling of the name, or add it to 'allow-missing' to test without its nightly."
    )
    assert f"Warning: {sentence}" in output  # in the plan
    assert f"aborted: {sentence} Strict mode stops here, before installing anything" in output
    assert "pip install" not in output
    assert "Traceback" not in output
    report = report_of(world)
    assert (report["outcome"], report["stage"]) == ("not-run", "plan")
    assert sentence in report["error"]
    assert [p["name"] for p in report["packages"]] == ["tinyarray", "tinyaray"]
    assert not (reports(world) / "pytest-log.jsonl").exists()


@pytest.mark.parametrize(("installer", "command"), [("uv", "uv pip check"), ("pip", "pip check")])
def test_a_dependency_conflict_is_shown_but_does_not_fail(
    world: World, installer: str, command: str
) -> None:
    # A package from the base index caps tinyarray below the nightly: pip check complains.
    make_wheel(world.base.directory, "consumer", "1.0", requires=["tinyarray<1.1"])
    pyproject = world.project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('["tinyarray>=1.0"]', '["tinyarray>=1.0", "consumer"]')
    )
    result = run_nox(world, "-s", "nightly_tests", NIGHTLY_INSTALLER=installer)
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    warning = f"Warning: the dependency check (`{command}`) found conflicts; the run goes on"
    assert warning in output
    shown = output.split(warning, 1)[1].split("Installed versions", 1)[0]
    assert "consumer" in shown
    assert "tinyarray" in shown
    report = report_of(world)
    assert report["outcome"] == "passed"
    assert report["dependency_check"]["ok"] is False
    assert "consumer" in report["dependency_check"]["output"]
    markdown = (reports(world) / "nightly-report.md").read_text()
    assert "### Dependency check" in markdown
    assert f"`{command}` found conflicts" in markdown


def test_allowed_missing_package_passes(world: World) -> None:
    result = run_nox(
        world,
        "-s",
        "nightly_tests",
        NIGHTLY_PACKAGES="tinyarray,helperlib",
        NIGHTLY_ALLOW_MISSING="helperlib",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_failing_tests_leave_report_log_and_fail(world: World) -> None:
    tinyarray_wheel(world.nightly.directory, "1.1.0.dev0+git20261124.badf00d", broken=True)
    result = run_nox(world, "-s", "nightly_tests", "--", "-p", "no:cacheprovider")
    assert result.returncode != 0
    assert (
        "The tests failed against the nightlies (pytest exit code 1)"
        in result.stdout + result.stderr
    )
    report = report_of(world)
    assert report["outcome"] == "tests-failed"
    assert report["pytest"]["failed"] == 1
    assert report["packages"][0]["installed"] == "1.1.0.dev0+git20261124.badf00d"
    log = (reports(world) / "pytest-log.jsonl").read_text()
    assert "test_span" in log
    assert "1 failed" in report["output_tail"]  # pytest's last lines, whatever the log says


def test_pytest_failing_without_a_report_log_leaves_its_output_tail(world: World) -> None:
    # A conftest that cannot be imported: pytest exits with code 4 before writing any log.
    (world.project / "conftest.py").write_text("import does_not_exist_xyz\n")
    result = run_nox(world, "-s", "nightly_tests", "--", "-p", "no:cacheprovider")
    assert result.returncode != 0
    report = report_of(world)
    assert (report["outcome"], report["pytest"]["exit_code"]) == ("tests-failed", 4)
    assert "does_not_exist_xyz" in report["output_tail"]
    body = issue_body.render_body(
        job_reports.load_jobs(world.project / "nightly-reports"), tracking.RunInfo()
    )
    assert "the last lines of pytest's output:" in body
    assert "ModuleNotFoundError: No module named 'does_not_exist_xyz'" in body
    assert "(no output was recorded)" not in body


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX signal")
def test_a_crash_in_a_test_is_a_test_failure_with_the_crash_shown(world: World) -> None:
    (world.project / "tests" / "test_crash.py").write_text(
        "import ctypes, resource\n\n\ndef test_crashes():\n"
        "    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        "    ctypes.string_at(0)\n"
    )
    result = run_nox(world, "-s", "nightly_tests", "--", "-p", "no:cacheprovider")
    assert result.returncode != 0
    assert "The tests failed against the nightlies (pytest exit code -11)" in result.stderr
    report = report_of(world)
    assert (report["outcome"], report["pytest"]["exit_code"]) == ("tests-failed", -11)
    assert "Fatal Python error: Segmentation fault" in report["output_tail"]
    body = issue_body.render_body(
        job_reports.load_jobs(world.project / "nightly-reports"), tracking.RunInfo()
    )
    assert "pytest stopped before the end of the session (killed by SIGSEGV: a crash)" in body
    assert "tests/test_crash.py::test_crashes" in body


def test_unreachable_base_index_is_reported(world: World) -> None:
    result = run_nox(
        world, "-s", "nightly_tests", NIGHTLY_BASE_INDEX_URL="http://127.0.0.1:9/simple"
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (
        "Failed to install the project and its test requirements from http://127.0.0.1:9/simple"
        in output
    )
    report = report_of(world)
    assert (report["stage"], report["outcome"]) == ("install", "not-run")
    assert report["output_tail"]


def test_plan_needs_no_environment(world: World) -> None:
    result = run_nox(world, "-s", "nightly_plan")
    assert result.returncode == 0, result.stderr
    assert "tinyarray  nightly index  " + NEWEST_NIGHTLY in result.stdout
    assert not (world.project / ".nox" / "nightly_plan").exists()


def test_plan_covers_each_configured_python(world: World) -> None:
    newest_313 = "1.2.0.dev0+git20261201.ccccccc"
    make_wheel(world.nightly.directory, "tinyarray", newest_313, tag="cp313-none-any")
    pyproject = world.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'python = ["3.12", "3.13"]\n')
    result = run_nox(world, "-s", "nightly_plan")
    assert result.returncode == 0, result.stderr
    plan_312, plan_313 = result.stdout.split("Nightly plan for skymap on Python ")[1:]
    assert plan_312.startswith("3.12")
    assert "tinyarray  nightly index  " + NEWEST_NIGHTLY in plan_312
    assert plan_313.startswith("3.13")
    assert "tinyarray  nightly index  " + newest_313 in plan_313


def test_an_unreachable_channel_is_one_sentence_without_retry_lines(world: World) -> None:
    result = run_nox(
        world, "-s", "nightly_plan", NIGHTLY_INDEX_URL=f"http://127.0.0.1:{free_port()}/simple"
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "failed after 4 attempts" in output
    assert "Retrying" not in output
    assert "urllib3" not in output


def test_bad_setting_stops_before_any_session(world: World) -> None:
    result = run_nox(world, "-s", "nightly_plan", NIGHTLY_INSTALLER="conda")
    assert result.returncode != 0
    assert (
        "Setting 'installer' in environment variable NIGHTLY_INSTALLER is 'conda'" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_no_configured_python_installed_fails_instead_of_skipping(world: World) -> None:
    """nox skips a session whose interpreter is missing and ends green; not this one."""
    pyproject = world.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'python = ["3.98", "3.99"]\n')
    result = run_nox(world, "-s", "nightly_tests")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "None of the Pythons nightly_tests runs on (3.98, 3.99) is installed here" in output
    assert "skipped" not in output.lower()
    assert "Traceback" not in output
    chosen = run_nox(world, "-s", "nightly_plan", NIGHTLY_PYTHON="3.11")
    assert chosen.returncode == 0, chosen.stderr
    assert "on Python 3.11" in chosen.stdout


def test_a_bad_setting_leaves_the_projects_own_sessions_working(tmp_path: Path) -> None:
    """noxfile.py loads noxfile_nightly.py by path; a bad setting fails only the nightly
    sessions, with the sentence, and the project's own session still runs.
    """
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n[tool.nightly-sessions]\nretries = "many"\n', encoding="utf-8"
    )
    (tmp_path / "noxfile_nightly.py").write_text(
        "import nightly_sessions\n\nnightly_sessions.register()\n", encoding="utf-8"
    )
    (tmp_path / "noxfile.py").write_text(
        "import runpy\n\nimport nox\n\n\n@nox.session(python=False)\n"
        "def own(session):\n    session.log('own session ran')\n\n\n"
        'runpy.run_path("noxfile_nightly.py", run_name="noxfile_nightly")\n',
        encoding="utf-8",
    )

    def nox_run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NOX_SCRIPT_MODE": "none"}
        command = [sys.executable, "-m", "nox", *args]
        return subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    own = nox_run("-s", "own")
    assert own.returncode == 0, own.stderr
    assert "own session ran" in own.stderr
    assert "Setting 'retries'" in own.stderr  # said once, at load
    nightly = nox_run("-s", "nightly_plan")
    assert nightly.returncode != 0
    assert "Session nightly_plan aborted: Setting 'retries'" in nightly.stderr
    assert "Traceback" not in nightly.stderr
