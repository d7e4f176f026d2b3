"""Sample tox projects on the loopback indexes: configured in tox.ini, tox.toml or
[tool.tox], built by tox's virtualenv backend or by tox-uv, run by a real tox process."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from nightly_world import World

# tox (with tox-uv) comes with the test extra, next to the Python running the tests.
TOX = Path(sys.executable).parent / "tox"
VIRTUALENV = "virtualenv"  # tox's own backend: pip installs
TOX_UV = "uv-venv-runner"  # tox-uv's: uv installs

# Every env runs on the Python that runs the tests, whatever its name says.
_INI = """\
[tox]
env_list = py-nightly

[testenv]
base_python = {python}
runner = {runner}
extras = test
commands = pytest tests -p no:cacheprovider {{posargs}}
{sections}"""

_TOML = """\
env_list = [{env_list}]

[env_run_base]
base_python = [{python}]
runner = "{runner}"
extras = ["test"]
commands = [["pytest", "tests", "-p", "no:cacheprovider", {{ replace = "posargs", extend = true }}]]
{sections}"""


def write_tox_ini(world: World, runner: str, sections: str = "") -> Path:
    """tox.ini with a `py-nightly` env (opted in by its factor) and `sections` after it."""
    path = world.project / "tox.ini"
    path.write_text(_INI.format(python=sys.executable, runner=runner, sections=sections))
    return path


def write_tox_toml(world: World, runner: str, envs: list[str], sections: str = "") -> Path:
    """tox.toml listing `envs`, with `sections` (TOML tables) after the shared settings."""
    path = world.project / "tox.toml"
    text = _TOML.format(
        env_list=", ".join(json.dumps(env) for env in envs),
        python=json.dumps(sys.executable),
        runner=runner,
        sections=sections,
    )
    path.write_text(text)
    return path


def run_tox(world: World, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run tox in the project; tox itself installs from the base index (PyPI's stand-in)."""
    variables = world.env(PIP_INDEX_URL=world.base.url, UV_DEFAULT_INDEX=world.base.url, **env)
    variables.pop("NIGHTLY_JOB", None)
    return subprocess.run(
        [str(TOX), "--colored", "no", *args],
        cwd=world.project,
        env=variables,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def nightly_settings(folder: Path, envs: list[str]) -> list[bool]:
    """Each env's `nightly` setting as tox reads it (`tox config`: no env is built)."""
    result = subprocess.run(
        [str(TOX), "config", "-e", ",".join(envs), "-k", "nightly"],
        cwd=folder, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("nightly =")]
    assert len(lines) == len(envs), result.stdout
    return [line == "nightly = True" for line in lines]


def job(env_name: str) -> str:
    """The report folder of a tox env run outside CI."""
    return f"{env_name}-{platform.system()}"


def report_of(world: World, env_name: str) -> dict[str, Any]:
    path = world.project / "nightly-reports" / job(env_name) / "nightly-report.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
