"""The upload session installs anaconda-client from a lock: every pin hashed and checked."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from nightly_sessions.channel import client as anaconda_client
from nightly_sessions.channel.client import (
    ANACONDA_CLIENT_VERSION,
    LOCK,
    install_client,
    locked_requirements,
)
from nightly_sessions.core import runner
from nightly_sessions.core.environment import Environment
from nightly_sessions.core.locks import LOCK_PYTHON, hashed_requirements, lock_command

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[1]
PACKAGE = Path(anaconda_client.__file__).parents[1]


def test_the_lock_ships_in_the_package_and_pins_the_client() -> None:
    assert LOCK.parent.parent == Path(anaconda_client.__file__).parent
    assert LOCK.is_file()
    pins = {Requirement(line).name: Requirement(line) for line in locked_requirements()}
    assert str(pins["anaconda-client"].specifier) == f"=={ANACONDA_CLIENT_VERSION}"
    assert len(pins) > 20  # its dependencies, not the client alone
    assert all(str(pin.specifier).startswith("==") for pin in pins.values())


def test_every_requirement_of_the_lock_has_a_hash() -> None:
    found = hashed_requirements(LOCK)
    assert len(found) == len(locked_requirements())
    for line, hashes in found:
        assert hashes, f"{line} has no --hash"
        assert not line.startswith("-"), f"an option in the lock: {line}"  # no -e, no index


def test_the_lock_covers_every_supported_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    supported = SpecifierSet(project["requires-python"])
    assert LOCK_PYTHON in supported
    assert f"{LOCK_PYTHON.split('.')[0]}.{int(LOCK_PYTHON.split('.')[1]) - 1}" not in supported
    header = LOCK.read_text(encoding="utf-8").splitlines()[:2]
    assert f"--universal --generate-hashes --python-version {LOCK_PYTHON}" in header[1]
    command = lock_command("uv", Path("in.txt"), Path("out.txt"))
    assert {"--universal", "--generate-hashes"} <= set(command)
    assert command[command.index("--python-version") + 1] == LOCK_PYTHON


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_client_is_installed_with_hash_checking(
    monkeypatch: pytest.MonkeyPatch, installer: Any
) -> None:
    seen: list[list[str]] = []

    def recording(args: list[str], **kwargs: Any) -> runner.Completed:
        seen.append(list(args))
        assert kwargs["env"]["PIP_INDEX_URL"] == "https://index.example/simple"
        return runner.Completed(0, "", "")

    monkeypatch.setattr(runner, "run", recording)
    install_client(Environment(Path("/env/bin/python"), installer), "https://index.example/simple")
    [command] = seen
    assert "--require-hashes" in command
    assert command[command.index("--requirement") + 1] == str(LOCK)
    assert not any(arg.startswith("anaconda-client") for arg in command)  # nothing unpinned


def calls(function: ast.FunctionDef, name: str) -> bool:
    return any(
        isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
        for node in ast.walk(function)
    )


def test_the_upload_installs_the_client_through_the_lock() -> None:
    """Whichever function installs the client does it with install_client, never by name."""
    installers = []
    for path in PACKAGE.rglob("*.py"):
        if path == Path(anaconda_client.__file__):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef) and calls(function, "install_client"):
                installers.append(function)
                names = {
                    getattr(node, "id", getattr(node, "attr", None)) for node in ast.walk(function)
                }
                assert "REQUIREMENT" not in names, f"{path}: {function.name}"
    assert installers, "nothing installs anaconda-client through install_client"
