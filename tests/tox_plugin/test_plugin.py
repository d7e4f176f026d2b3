"""The tox plugin for real: a pinned tox runs sample projects against the pypiserver indexes.

tox builds each env from its own configuration; the plugin installs the nightlies, proves
them and writes the report around the env's commands, as `nox -s nightly_tests` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nightly_world import (
    BETA_BROKEN_NIGHTLY,
    NEWEST_NIGHTLY,
    RELEASE_CANDIDATE,
    World,
    build_culprit_world,
    build_world,
)

from nightly_sessions.testing.pypi import PypiServer
from tox_plugin.tox_world import (
    TOX_UV,
    VIRTUALENV,
    job,
    report_of,
    run_tox,
    write_tox_ini,
    write_tox_toml,
)

pytestmark = pytest.mark.integration

SHOW_VERSION = "python -c \"import tinyarray; print('tinyarray is', tinyarray.__version__)\""

# The hand-written devdeps env that SPEC 4 projects run today: the nightly index as an
# extra index, --pre for everything. pip merges both indexes and takes the highest
# version, so the base index's release candidate beats the nightly.
DEVDEPS = f"""
[testenv:devdeps]
set_env = PIP_EXTRA_INDEX_URL = {{env:NIGHTLY_INDEX_URL}}
install_command = python -I -m pip install --pre {{opts}} {{packages}}
commands = {SHOW_VERSION}

[testenv:devdeps-nightly]
set_env = {{[testenv:devdeps]set_env}}
install_command = {{[testenv:devdeps]install_command}}
commands = {SHOW_VERSION}
"""


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> World:
    return build_world(tmp_path, base_index, nightly_index)


def test_ini_virtualenv_the_nightly_beats_the_rc_only_with_the_plugin(world: World) -> None:
    write_tox_ini(world, VIRTUALENV, DEVDEPS)
    result = run_tox(world, "-e", "devdeps,devdeps-nightly,py-nightly")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Without the plugin, tox's own install tests the release candidate, quietly.
    assert f"tinyarray is {RELEASE_CANDIDATE}" in output
    assert not (world.project / "nightly-reports" / job("devdeps")).exists()
    # The same env opted in (by its factor) tests the newest nightly, proven.
    assert f"tinyarray is {NEWEST_NIGHTLY}" in output
    assert "--pre --only-binary :all: --no-deps tinyarray==" + NEWEST_NIGHTLY in output
    for env_name in ("devdeps-nightly", "py-nightly"):
        report = report_of(world, env_name)
        assert report["job"] == job(env_name)
        assert report["outcome"] == "passed"
        [tinyarray] = report["packages"]
        assert (tinyarray["installed"], tinyarray["status"]) == (NEWEST_NIGHTLY, "nightly")
        assert [r["name"] for r in report["repairs"]] == ["helperlib"]
    # pytest ran under the report log the plugin pointed it to: the tests are counted.
    assert report_of(world, "py-nightly")["pytest"]["passed"] == 2
    assert report_of(world, "devdeps-nightly")["pytest"] is None  # no pytest in that env


def test_toml_tox_uv_parallel_gives_one_report_per_env(world: World, tmp_path: Path) -> None:
    sections = '[env.lean-nightly]\ncommands = [["pytest", "tests", "-k", "span"]]\n'
    write_tox_toml(world, TOX_UV, ["py-nightly", "lean-nightly"], sections)
    # The warnings plugin is loaded into the env's own pytest, as in a nox run.
    (world.project / "tests" / "test_old.py").write_text(
        "import warnings\n\n\ndef test_old_api():\n"
        "    warnings.warn('skymap.old_api is deprecated', DeprecationWarning)\n"
    )
    summary = tmp_path / "step-summary.md"
    result = run_tox(world, "-p", "2", GITHUB_STEP_SUMMARY=str(summary))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    counts = {}
    for env_name in ("py-nightly", "lean-nightly"):
        report = report_of(world, env_name)
        assert report["outcome"] == "passed"
        assert report["packages"][0]["status"] == "nightly"
        counts[env_name] = report["pytest"]["passed"]
    assert counts == {"py-nightly": 3, "lean-nightly": 1}
    [deprecation] = report_of(world, "py-nightly")["warnings"]["deprecations"]
    assert "skymap.old_api is deprecated" in json.dumps(deprecation)
    assert report_of(world, "lean-nightly")["warnings"]["deprecations"] == []
    text = summary.read_text()
    assert f"skymap, {job('py-nightly')}: passed" in text
    assert f"skymap, {job('lean-nightly')}: passed" in text


@pytest.mark.parametrize(
    ("variables", "code", "sentence"),
    [
        ({}, 4, "Nothing to test: none of the project's dependencies"),
        ({"NIGHTLY_STRICT": "sometimes"}, 2, "NIGHTLY_STRICT"),
    ],
)
def test_a_failure_stops_the_env_before_its_commands(
    world: World, variables: dict[str, str], code: int, sentence: str
) -> None:
    for wheel in world.nightly.directory.iterdir():  # an empty channel
        wheel.unlink()
    marker = world.project / "commands-ran"
    script = json.dumps(f"open({str(marker)!r}, 'w')")
    sections = f'[env.py-nightly]\ncommands = [["python", "-c", {script}]]\n'
    write_tox_toml(world, TOX_UV, ["py-nightly"], sections)
    result = run_tox(world, **variables)
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert sentence in output
    assert "Traceback" not in output
    assert not marker.exists()
    if code == 4:  # the run's own stop is in the report; a bad setting stops before any run
        report = report_of(world, "py-nightly")
        assert (report["outcome"], report["stage"]) == ("not-run", "plan")
        assert sentence in report["error"]


def test_failing_tests_are_reported_with_their_culprit(
    tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer
) -> None:
    world = build_culprit_world(tmp_path, base_index, nightly_index)
    write_tox_ini(world, TOX_UV)
    result = run_tox(world)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "The tests failed against the nightlies (pytest exit code 1)." in output
    assert f"beta {BETA_BROKEN_NIGHTLY}" in output
    report = report_of(world, "py-nightly")
    assert report["outcome"] == "tests-failed"
    assert report["pytest"]["failed"] >= 1
    assert "tests/test_starmap.py::test_half" in str(report["culprit"])
