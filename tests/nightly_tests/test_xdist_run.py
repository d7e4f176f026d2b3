"""Whole nightly runs whose tests run under pytest-xdist (`-n 2`), as many projects run
them: the report log, the warnings plugin and the culprit search all go through xdist's
controller. `nox -s nightly_tests` on copies of the samples, pytest-xdist and execnet
(real wheels) on the base index, installed through the project's test extra."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nightly_world import (
    BETA_BROKEN_NIGHTLY,
    BETA_GREEN_NIGHTLY,
    NEWEST_NIGHTLY,
    World,
    build_culprit_world,
    build_world,
    run_nox,
)

from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.simple_index import serve_simple_index
from nightly_sessions.testing.wheelhouse import TEST_TOOLS, download_wheels

pytestmark = pytest.mark.integration

XDIST = "pytest-xdist==3.8.0"
HALF = "tests/test_starmap.py::test_half"
OLD_API = """\
import warnings


def test_old_api():
    warnings.warn("skymap.brightest(key=) is deprecated", DeprecationWarning, stacklevel=1)
"""


@pytest.fixture(scope="module")
def xdist_wheelhouse() -> Path:
    return download_wheels((*TEST_TOOLS, XDIST))


@pytest.fixture
def xdist_base(tmp_path: Path, xdist_wheelhouse: Path, start_index: Any) -> PypiServer:
    directory = tmp_path / "base-index"
    shutil.copytree(xdist_wheelhouse, directory)
    server: PypiServer = start_index(directory)
    return server


def under_xdist(world: World) -> World:
    """The project's tests need pytest-xdist and run on two workers."""
    pyproject = world.project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    text = text.replace('test = ["pytest>=8"]', 'test = ["pytest>=8", "pytest-xdist"]')
    text = text.replace(
        "[tool.nightly-sessions]\n",
        '[tool.nightly-sessions]\npytest-args = ["-n", "2", "-p", "no:cacheprovider"]\n',
    )
    assert "pytest-xdist" in text
    assert "pytest-args" in text
    pyproject.write_text(text, encoding="utf-8")
    return world


def report_of(world: World) -> dict[str, Any]:
    [folder] = (world.project / "nightly-reports").iterdir()
    data: dict[str, Any] = json.loads((folder / "nightly-report.json").read_text())
    return data


def test_a_green_run_under_xdist_counts_its_tests_and_keeps_their_warnings(
    tmp_path: Path, xdist_base: PypiServer, nightly_index: PypiServer
) -> None:
    world = under_xdist(build_world(tmp_path, xdist_base, nightly_index))
    (world.project / "tests" / "test_old_api.py").write_text(OLD_API, encoding="utf-8")
    result = run_nox(world, "-s", "nightly_tests")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "created: 2/2 workers" in output
    report = report_of(world)
    assert report["outcome"] == "passed"
    assert (report["pytest"]["passed"], report["pytest"]["failed"]) == (3, 0)
    assert {p["name"]: p["status"] for p in report["packages"]} == {"tinyarray": "nightly"}
    assert {p["name"]: p["installed"] for p in report["packages"]} == {"tinyarray": NEWEST_NIGHTLY}
    [warning] = [w for w in report["warnings"]["deprecations"] if "brightest" in w["message"]]
    assert warning["test"] == "tests/test_old_api.py::test_old_api"
    assert warning["count"] == 1


# Each test run, with the xdist worker that ran it ("main" outside xdist).
RUNS_LOG = """\
import os
from pathlib import Path


def pytest_runtest_call(item):
    with Path(__file__).with_name("runs.log").open("a", encoding="utf-8") as log:
        log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} {item.nodeid}\\n")
"""


@pytest.fixture
def culprit_world(tmp_path: Path, xdist_base: PypiServer) -> Iterator[World]:
    with serve_simple_index(tmp_path / "nightly-index") as nightly:
        world = under_xdist(build_culprit_world(tmp_path, xdist_base, nightly))
        (world.project / "tests" / "conftest.py").write_text(RUNS_LOG, encoding="utf-8")
        yield world


def test_the_culprit_search_reruns_the_failing_tests_under_xdist(culprit_world: World) -> None:
    result = run_nox(culprit_world, "-s", "nightly_tests")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "created: 2/2 workers" in output
    # The run and each re-run of the search ran the failing test on a worker.
    runs = (culprit_world.project / "tests" / "runs.log").read_text(encoding="utf-8")
    workers = [line.split()[0] for line in runs.splitlines() if line.endswith(HALF)]
    assert len(workers) >= 3, runs  # the run, the plain re-run, beta put back
    assert all(worker.startswith("gw") for worker in workers), runs
    report = report_of(culprit_world)
    assert report["outcome"] == "tests-failed"
    culprit = f"Culprit: `{HALF}` fails with beta {BETA_BROKEN_NIGHTLY} and passes with beta"
    assert any(line.startswith(culprit) for line in report["culprit"]["verdict"]), report["culprit"]
    assert BETA_GREEN_NIGHTLY not in json.dumps(report["packages"])
