"""`nox -s nightly_tests` and `nox -s nightly_plan` run for real on the example project."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import pytest
from nightly_world import NEWEST_NIGHTLY, World, build_world, run_nox

from nightly_sessions.testing.example import tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer

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


def test_package_missing_from_channel_fails_strict_mode(world: World) -> None:
    pyproject = world.project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('packages = "auto"', 'packages = ["tinyarray", "helperlib"]')
    )
    result = run_nox(world, "-s", "nightly_tests")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "helperlib is 1.0 (the channel has no wheel of it for this platform)" in output
    assert "Traceback" not in output
    report = report_of(world)
    assert (report["outcome"], report["stage"]) == ("not-run", "verify")
    assert {p["name"]: p["status"] for p in report["packages"]} == {
        "tinyarray": "nightly",
        "helperlib": "missing",
    }
    assert not (reports(world) / "pytest-log.jsonl").exists()


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


def test_bad_setting_stops_before_any_session(world: World) -> None:
    result = run_nox(world, "-s", "nightly_plan", NIGHTLY_INSTALLER="conda")
    assert result.returncode != 0
    assert (
        "Setting 'installer' in environment variable NIGHTLY_INSTALLER is 'conda'" in result.stderr
    )
    assert "Traceback" not in result.stderr
