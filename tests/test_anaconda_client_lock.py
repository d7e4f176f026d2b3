"""The upload session installs anaconda-client from a lock: every pin hashed and checked."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from nightly_sessions import sessions
from nightly_sessions.channel import client as anaconda_client
from nightly_sessions.channel.client import (
    ANACONDA_CLIENT_VERSION,
    LOCK,
    LOCK_PYTHON,
    install_client,
    lock_command,
    locked_requirements,
)
from nightly_sessions.core import runner
from nightly_sessions.core.environment import Environment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[1]


def entries(lock: Path) -> list[tuple[str, list[str]]]:
    """(requirement line, its hashes) for every requirement in a pip requirements file."""
    found: list[tuple[str, list[str]]] = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            assert found, f"a continuation line before any requirement: {line!r}"
            found[-1][1].extend(re.findall(r"--hash=sha256:([0-9a-f]{64})\b", line))
        else:
            found.append((line.removesuffix("\\").strip(), []))
    return found


def test_the_lock_ships_in_the_package_and_pins_the_client() -> None:
    assert LOCK.parent.parent == Path(anaconda_client.__file__).parent
    assert LOCK.is_file()
    pins = {Requirement(line).name: Requirement(line) for line in locked_requirements()}
    assert str(pins["anaconda-client"].specifier) == f"=={ANACONDA_CLIENT_VERSION}"
    assert len(pins) > 20  # its dependencies, not the client alone
    assert all(str(pin.specifier).startswith("==") for pin in pins.values())


def test_every_requirement_of_the_lock_has_a_hash() -> None:
    found = entries(LOCK)
    assert len(found) == len(locked_requirements())
    for line, hashes in found:
        assert hashes, f"{line} has no --hash"
        assert not line.startswith("-"), f"an option in the lock: {line}"  # no -e, no index


def test_entries_reads_a_requirement_without_a_hash(tmp_path: Path) -> None:
    """The hash check above can fail."""
    lock = tmp_path / "lock.txt"
    lock.write_text("a==1 \\\n    --hash=sha256:" + "0" * 64 + "\nb==2\n    # via a\n")
    assert entries(lock) == [("a==1", ["0" * 64]), ("b==2", [])]


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


def test_the_upload_session_installs_through_the_lock() -> None:
    source = Path(sessions.__file__).read_text(encoding="utf-8")
    body = source[source.index("def _anaconda_client(") :].split("\ndef ", 1)[0]
    assert "anaconda_client.install_client(" in body
    assert "REQUIREMENT" not in body
