"""The run's fixed overhead: how often it reads the environment, what runs beside what.

Each probe starts the environment's interpreter, so the run reads it as seldom as the
proof allows: once without distributions before planning, once after the installs, once
more only when a repair changed the environment. These runs are real (a uv venv, two
pypiserver indexes) and count the probes by the commands the run starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from nightly_world import NEWEST_NIGHTLY, World, build_world

from nightly_sessions.core import runner
from nightly_sessions.core.config import load_settings
from nightly_sessions.core.environment import Environment, find_uv
from nightly_sessions.nightly_tests.probe import ONLY_PYTHON, SCRIPT
from nightly_sessions.nightly_tests.run import RunResult, run_nightly_tests
from nightly_sessions.testing.example import tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer

pytestmark = pytest.mark.integration


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> World:
    return build_world(tmp_path, base_index, nightly_index)


def watched_run(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    watch: Callable[[Sequence[str]], None],
) -> RunResult:
    """One whole run in a fresh uv venv, `watch` told of each command it starts (joined)."""
    uv = find_uv()
    assert uv is not None, "the tests need uv"
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    real_run = runner.run

    def run(args: Sequence[str], **kwargs: Any) -> runner.Completed:
        watch(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(runner, "run", run)
    environ = {"NIGHTLY_INDEX_URL": world.nightly.url, "NIGHTLY_BASE_INDEX_URL": world.base.url}
    settings = load_settings(world.project, environ=environ)
    lines: list[str] = []
    result = run_nightly_tests(
        settings, Environment(venv / "bin" / "python", "uv", uv), log=lines.append
    )
    assert result.exit_code == 0, "\n".join(lines)
    return result


def counted_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[RunResult, list[str]]:
    """One whole run in a fresh uv venv; its result and each probe it ran ("light"/"full")."""
    probes: list[str] = []

    def count(args: Sequence[str]) -> None:
        if SCRIPT in args:
            probes.append("light" if ONLY_PYTHON in args else "full")

    return watched_run(world, tmp_path, monkeypatch, count), probes


def report_of(result: RunResult) -> dict[str, Any]:
    assert result.report_path is not None
    report: dict[str, Any] = json.loads(result.report_path.read_text(encoding="utf-8"))
    return report


def versions_of(result: RunResult) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["installed"], p["status"]) for p in report_of(result)["packages"]}


def test_a_run_without_repairs_reads_the_environment_once_after_installing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof reads the probe the repair step took: nothing changed in between."""
    newer = "1.1.0.dev0+git20261124.ccccccc"
    tinyarray_wheel(world.nightly.directory, newer)  # needs nothing the base lacks
    result, probes = counted_run(world, tmp_path, monkeypatch)
    assert probes == ["light", "full"]
    assert versions_of(result) == {"tinyarray": (newer, "nightly")}
    assert report_of(result)["repairs"] == []


def test_a_repair_is_read_back_once_and_proven_from_that_reading(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest nightly needs helperlib, which the base install did not bring: the repair
    installs it, the environment is read again, and the proof uses that reading."""
    result, probes = counted_run(world, tmp_path, monkeypatch)
    assert probes == ["light", "full", "full"]
    assert versions_of(result) == {"tinyarray": (NEWEST_NIGHTLY, "nightly")}
    [helperlib] = report_of(result)["repairs"]
    assert (helperlib["name"], helperlib["installed"]) == ("helperlib", "1.0")


def test_the_dependency_check_runs_beside_pytest(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check only reads the environment: it starts after the installs and waits here
    until pytest has started, which a check run before the tests would wait for in vain."""
    pytest_started = threading.Event()
    check_saw_pytest: list[bool] = []

    def watch(args: Sequence[str]) -> None:
        command = " ".join(args)
        if " -m pytest " in command:
            pytest_started.set()
        elif " pip check " in command:
            check_saw_pytest.append(pytest_started.wait(timeout=60))

    result = watched_run(world, tmp_path, monkeypatch, watch)
    assert check_saw_pytest == [True]
    assert report_of(result)["dependency_check"]["ok"] is True
