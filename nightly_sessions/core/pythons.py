"""Which Pythons `nightly_tests` runs on: `python = "auto"` reads them from the project.

Nightlies matter most on the newest Pythons, and a project says which it supports in two
places: `requires-python` (the lower bound, sometimes an upper one) and its
`Programming Language :: Python :: 3.X` classifiers (the newest it has tried). "auto"
takes the newest released Pythons in both, plus the next one while it is a pre-release.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from nightly_sessions.core.errors import ConfigError

# CPython feature releases out today, oldest first, and the next one while in pre-release.
# copier.yml offers the same versions; a test keeps the two lists equal.
RELEASED = ("3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
PRERELEASE = "3.16"
NEWEST = 2  # how many of the newest released Pythons "auto" tests
# The first CPython with a free-threaded build ("3.13t": python3.13t, ABI tag cp313t).
# "auto" never picks one: a project lists it, e.g. python = ["3.13", "3.14t"].
FREE_THREADED_SINCE = (3, 13)

_PYTHON = re.compile(r"(\d+)\.(\d+)(t?)")

_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)\s*$")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def parse_python(text: str) -> tuple[int, int, bool] | None:
    """(major, minor, free-threaded) of "3.12" or "3.14t"; None for anything else, and for
    a free-threaded Python older than the first that has such a build.
    """
    match = _PYTHON.fullmatch(text.strip())
    if not match:
        return None
    major, minor, threaded = int(match[1]), int(match[2]), match[3] == "t"
    if threaded and (major, minor) < FREE_THREADED_SINCE:
        return None
    return major, minor, threaded


def classifier_versions(classifiers: Iterable[object]) -> list[str]:
    """The `3.X` versions a project's trove classifiers name."""
    return [
        match[1]
        for text in classifiers
        if isinstance(text, str) and (match := _CLASSIFIER.search(text))
    ]


def _allows(spec: SpecifierSet, version: str) -> bool:
    """Whether some release of `version` (its first or a late patch) satisfies `spec`."""
    return any(spec.contains(f"{version}.{patch}") for patch in ("0", "99"))


def auto_pythons(
    requires_python: object, classifiers: Iterable[object], where: Path
) -> tuple[str, ...]:
    """The newest released Pythons the project supports, then the pre-release if allowed."""
    try:
        spec = SpecifierSet(requires_python if isinstance(requires_python, str) else "")
    except InvalidSpecifier:
        raise ConfigError(
            f"requires-python = {requires_python!r} in {where} is not a version specifier; "
            'write one such as ">=3.11", or list the Pythons in python = ["3.13"] of '
            "[tool.nightly-sessions]."
        ) from None
    supported = [version for version in RELEASED if _allows(spec, version)]
    listed = classifier_versions(classifiers)
    if listed:
        newest_listed = max(listed, key=_key)
        supported = [v for v in supported if _key(v) <= _key(newest_listed)] or supported[:1]
    chosen = supported[-NEWEST:]
    if not chosen:
        raise ConfigError(
            f"No released Python ({', '.join(RELEASED)}) satisfies requires-python "
            f"{str(spec) or '(none)'} in {where}; list the Pythons to test in "
            'python = ["3.X"] of [tool.nightly-sessions].'
        )
    if spec.contains(f"{PRERELEASE}.0a1", prereleases=True):
        chosen.append(PRERELEASE)
    return tuple(chosen)


Finder = Callable[[str], str | None]


def _uv_finds(version: str) -> bool:
    """Whether uv knows an installed CPython `version` (its managed ones too)."""
    uv = shutil.which("uv")
    if uv is None:
        return False
    command = [uv, "python", "find", "--no-project", version]
    try:
        found = subprocess.run(command, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0


def on_path(version: str, which: Finder = shutil.which) -> bool:
    """Whether nox finds a Python `version` without asking uv: PATH or the py launcher."""
    if which(f"python{version}"):
        return True
    return sys.platform.startswith("win") and which("py") is not None


def any_installed(versions: Sequence[str], which: Finder = shutil.which) -> bool:
    """Whether nox can find at least one of `versions`; uv is asked only when PATH has none,
    since each question costs it about half a second.
    """
    return any(on_path(v, which) for v in versions) or any(_uv_finds(v) for v in versions)


def missing_sentence(versions: Sequence[str]) -> str:
    """What to do when none of the configured Pythons is installed."""
    named = ", ".join(versions)
    return (
        f"None of the Pythons nightly_tests runs on ({named}) is installed here, so nothing "
        f"would be tested: install one (e.g. `uv python install {versions[-1]}`), or choose "
        "installed ones for this run with NIGHTLY_PYTHON=3.X (or the 'python' setting)."
    )


def matrix_outputs(versions: Sequence[str], runner_oses: Sequence[str]) -> dict[str, str]:
    """The test matrix's Pythons (JSON) and the job names its reports carry, as step outputs
    of the workflow's first job, so the matrix follows the project's pyproject.toml.
    """
    jobs = [f"py{version}-{runner}" for runner in runner_oses for version in versions]
    return {"python": json.dumps(list(versions)), "jobs": " ".join(jobs)}


def write_outputs(outputs: dict[str, str], path: Path) -> None:
    """Append `name=value` lines to the GitHub Actions output file."""
    with path.open("a", encoding="utf-8") as file:
        file.writelines(f"{name}={value}\n" for name, value in outputs.items())
