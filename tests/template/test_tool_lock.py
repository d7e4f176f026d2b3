"""The tool lock of the token-bearing jobs: what it pins, and that it covers what they run.

`template/.github/nightly-sessions-lock.txt` holds nox at the template's version, every
runtime dependency of nightly-sessions and its build backend, universal from LOCK_PYTHON
up, each pin with its hashes. These tests read it offline: they fail when
pyproject.toml's dependencies, its build backend or the template's NOX pin change
without `nox -s lock`, and when a locked package needs something the lock lacks.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from nightly_sessions.core import runner
from nightly_sessions.core.locks import (
    COMPILE_COMMAND,
    LOCK_PYTHON,
    TOOL_LOCK,
    TOOL_LOCK_HEADER,
    WORKFLOW_MACROS,
    hashed_requirements,
    lock_command,
    refresh_tool_lock,
    template_nox,
    tool_requirements,
)
from nightly_sessions.testing.template import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LOCK = ROOT / TOOL_LOCK
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MACROS = (ROOT / WORKFLOW_MACROS).read_text(encoding="utf-8")
# The Pythons and platforms a universal lock must serve; TOOL_PYTHON is among them.
PLATFORMS = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}
PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")

Environment = dict[str, str]


def environments() -> list[Environment]:
    found = []
    for python in PYTHONS:
        for platform, system in PLATFORMS.items():
            env: Environment = {str(k): str(v) for k, v in default_environment().items()}
            env.update(
                python_version=python,
                python_full_version=f"{python}.0",
                sys_platform=platform,
                platform_system=system,
                os_name="nt" if platform == "win32" else "posix",
                implementation_name="cpython",
                platform_python_implementation="CPython",
                extra="",
            )
            found.append(env)
    return found


ENVIRONMENTS = environments()


def applies(requirement: Requirement, env: Environment) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(env)


def pins_for(lines: list[str], env: Environment) -> dict[str, Version]:
    """The lock's pins that apply in `env`: name -> version (one each, or an error)."""
    pins: dict[str, Version] = {}
    for line in lines:
        pin = Requirement(line)
        if not applies(pin, env):
            continue
        name = canonicalize_name(pin.name)
        assert name not in pins, f"two pins of {name} apply in {env['python_version']}"
        [specifier] = list(pin.specifier)
        assert specifier.operator == "==", line
        pins[name] = Version(specifier.version)
    return pins


def unsatisfied(requirements: list[str], pins: dict[str, Version], env: Environment) -> list[str]:
    """The requirements that apply in `env` and that `pins` do not satisfy."""
    missing = []
    for text in requirements:
        requirement = Requirement(text)
        if not applies(requirement, env):
            continue
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{text} (Python {env['python_version']}, {env['sys_platform']})")
    return missing


def uncovered(requirements: list[str], lines: list[str]) -> list[str]:
    """Each requirement that some environment needs and the lock does not satisfy there."""
    missing = set()
    for env in ENVIRONMENTS:
        missing.update(unsatisfied(requirements, pins_for(lines, env), env))
    return sorted(missing)


@functools.cache
def installed_requires(name: str, version: Version) -> tuple[str, ...] | None:
    """Requires-Dist of `name` at exactly `version` when this environment has it, else None."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return None
    if Version(distribution.version) != version:
        return None
    return tuple(distribution.requires or ())


LINES = [line for line, _ in hashed_requirements(LOCK)]


def test_the_lock_pins_every_file_by_hash() -> None:
    entries = hashed_requirements(LOCK)
    assert len(entries) > 15  # nox and nightly-sessions's dependencies, not a few names
    for line, hashes in entries:
        assert hashes, f"{line} has no --hash"
        assert not line.startswith("-"), f"an option in the lock: {line}"  # no -e, no index
        assert "@" not in line.split(";")[0], f"a direct URL in the lock: {line}"


def test_hashed_requirements_reads_a_requirement_without_a_hash(tmp_path: Path) -> None:
    """The check above can fail."""
    lock = tmp_path / "lock.txt"
    lock.write_text("a==1 \\\n    --hash=sha256:" + "0" * 64 + "\nb==2\n    # via a\n")
    assert hashed_requirements(lock) == [("a==1", ["0" * 64]), ("b==2", [])]


def test_nox_is_locked_at_the_template_version() -> None:
    nox = template_nox(ROOT)
    assert re.fullmatch(r"nox==[\d.]+", nox)
    assert f"set NOX = '{nox}'" in MACROS  # the one place it is written
    versions = {str(pin) for line in LINES if (pin := Requirement(line)).name == "nox"}
    assert versions == {nox}, "run `nox -s lock`: the lock's nox is not the template's NOX"


def test_the_lock_resolves_what_the_template_and_pyproject_ask_for() -> None:
    """nox at the template's pin, every runtime dependency and the build backend."""
    asked = tool_requirements(ROOT)
    # Read here again, not only through tool_requirements: a dependency must be in both.
    assert template_nox(ROOT) in asked
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert requirement in asked
    for requirement in PYPROJECT["build-system"]["requires"]:
        assert requirement in asked
    missing = uncovered(asked, LINES)
    assert not missing, f"run `nox -s lock`: the lock does not satisfy {missing}"


def missing_dependencies(lines: list[str]) -> tuple[set[str], list[str]]:
    """The pins whose dependencies could be read here, and what those lack in `lines`.

    A pin's dependencies are read from this environment's metadata where it has the
    package at the pinned version (nox at the template's pin among them).
    """
    checked = set()
    missing: list[str] = []
    for env in ENVIRONMENTS:
        pins = pins_for(lines, env)
        for name, version in pins.items():
            requires = installed_requires(name, version)
            if requires is not None:
                checked.add(name)
                lacking = unsatisfied(list(requires), pins, env)
                missing.extend(f"{name}=={version} needs {text}" for text in lacking)
    return checked, sorted(set(missing))


def test_every_locked_package_finds_its_dependencies_in_the_lock() -> None:
    checked, missing = missing_dependencies(LINES)
    assert not missing, f"run `nox -s lock`: {missing}"
    if importlib.metadata.version("nox") == template_nox(ROOT).split("==")[1]:
        assert "nox" in checked
    assert {"packaging", "urllib3", "hatchling", "virtualenv"} <= checked


def test_a_lock_without_a_dependency_of_nox_is_found() -> None:
    """The check above can fail: nox needs attrs on every platform."""
    nox = template_nox(ROOT).split("==")[1]
    if importlib.metadata.version("nox") != nox:
        pytest.skip(f"this environment has another nox than {nox}, whose dependencies it reads")
    _, missing = missing_dependencies([line for line in LINES if not line.startswith("attrs==")])
    assert missing
    assert all(re.match(r"nox==[\d.]+ needs attrs", text) for text in missing), missing


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (["nox==2099.1.1"], "nox==2099.1.1"),
        (["a-new-dependency>=1"], "a-new-dependency>=1"),
        (["packaging>=99"], "packaging>=99"),
        (["tomli>=2.0; python_version < '3.11'"], None),  # locked for 3.10 only: covered
    ],
)
def test_a_requirement_the_lock_lacks_is_found(change: list[str], expected: str | None) -> None:
    """What the test above reports when pyproject.toml or NOX moves without a new lock."""
    missing = uncovered(change, LINES)
    if expected is None:
        assert missing == []
    else:
        assert missing
        assert all(m.startswith(expected) for m in missing)


def test_a_dependency_locked_for_some_pythons_only_is_found() -> None:
    lines = [line for line in LINES if not line.startswith("tomli==")]
    tomli = "tomli>=2.0; python_version < '3.11'"
    assert uncovered([tomli], lines) == [
        f"{tomli} (Python 3.10, {platform})" for platform in sorted(PLATFORMS)
    ]


def test_the_lock_serves_the_tool_python_and_says_how_it_was_made() -> None:
    tool_python = re.search(r"set TOOL_PYTHON = '([\d.]+)'", MACROS)
    assert tool_python is not None
    supported = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert LOCK_PYTHON in supported
    assert Version(tool_python[1]) >= Version(LOCK_PYTHON)  # universal from LOCK_PYTHON up
    assert tool_python[1] in PYTHONS
    text = LOCK.read_text(encoding="utf-8")
    assert text.startswith(TOOL_LOCK_HEADER)
    assert f"#    {COMPILE_COMMAND}\n" in text
    command = lock_command("uv", Path("in.txt"), Path("out.txt"))
    assert {"--universal", "--generate-hashes"} <= set(command)
    assert command[command.index("--python-version") + 1] == LOCK_PYTHON


def test_refresh_writes_what_the_template_and_pyproject_ask_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nox -s lock` compiles tool_requirements into TOOL_LOCK, then adds the header."""
    for part in (WORKFLOW_MACROS, Path("pyproject.toml")):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / part, tmp_path / part)
    (tmp_path / TOOL_LOCK).parent.mkdir(parents=True)
    seen: list[tuple[list[str], str]] = []

    def compiling(args: list[str], **kwargs: Any) -> runner.Completed:
        source = kwargs["cwd"] / args[3]
        seen.append((list(args), source.read_text(encoding="utf-8")))
        Path(args[args.index("--output-file") + 1]).write_text("# uv\nnox==1 \\\n", "utf-8")
        return runner.Completed(0, "", "")

    monkeypatch.setattr(runner, "run", compiling)
    refresh_tool_lock(tmp_path, uv="uv")
    [(command, source)] = seen
    assert command[:4] == ["uv", "pip", "compile", "nightly-sessions-lock.in"]
    assert source.splitlines() == tool_requirements(ROOT)
    assert command[command.index("--output-file") + 1] == str((tmp_path / TOOL_LOCK).resolve())
    text = (tmp_path / TOOL_LOCK).read_text(encoding="utf-8")
    assert text == TOOL_LOCK_HEADER + "# uv\nnox==1 \\\n"
