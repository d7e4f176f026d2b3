"""The example's world for integration tests: indexes with releases, an rc and nightlies.

`build_culprit_world` is the culprit search's: tests/samples/culprit depends on `alpha`
and `beta`, both with nightlies; the newest nightly of `beta` breaks one test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nightly_sessions.testing.example import EXAMPLE_PROJECT, tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.wheelhouse import make_wheel

OLDER_NIGHTLY = "1.1.0.dev0+git20261120.aaaaaaa"
NEWEST_NIGHTLY = "1.1.0.dev0+git20261123.bbbbbbb"
RELEASE_CANDIDATE = "1.1.0rc1"  # beats the nightly under pip's merged-index rule


class Index(Protocol):
    """A loopback index: pypiserver, or the simple-index stand-in (which takes a /t/ token)."""

    @property
    def directory(self) -> Path: ...

    @property
    def url(self) -> str: ...


@dataclass(frozen=True)
class World:
    project: Path
    base: Index
    nightly: Index

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "NIGHTLY_INDEX_URL": self.nightly.url,
            "NIGHTLY_BASE_INDEX_URL": self.base.url,
            **extra,
        }


def build_world(tmp_path: Path, base: PypiServer, nightly: PypiServer) -> World:
    tinyarray_wheel(base.directory, "1.0")
    tinyarray_wheel(base.directory, RELEASE_CANDIDATE)
    make_wheel(base.directory, "helperlib", "1.0")
    tinyarray_wheel(nightly.directory, OLDER_NIGHTLY)
    tinyarray_wheel(nightly.directory, NEWEST_NIGHTLY, requires=["helperlib>=1"])
    project = tmp_path / "skymap"
    shutil.copytree(
        EXAMPLE_PROJECT, project, ignore=shutil.ignore_patterns(".nox", "nightly-reports")
    )
    return World(project, base, nightly)


CULPRIT_SAMPLE = Path(__file__).parent / "samples" / "culprit"
ALPHA_NIGHTLY = "2.0.dev0+git20261201.a1a1a1a"
BETA_GREEN_NIGHTLY = "2.0.dev0+git20261201.b0b0b0b"  # the last green run's
BETA_BROKEN_NIGHTLY = "2.0.dev0+git20261205.badbeef"
_ALPHA = "__version__ = {version!r}\n\n\ndef add(values):\n    return sum(values)\n"
_BETA = "__version__ = {version!r}\n\n\ndef halve(value):\n    return value / 2\n"
_BROKEN_BETA = _BETA.replace("value / 2", "value // 3")


def build_culprit_world(tmp_path: Path, base: Index, nightly: Index) -> World:
    """Releases 1.0 of alpha and beta on the base index; their nightlies on the channel,
    the newest of beta broken; a copy of the sample project."""
    wheels = (
        (base.directory, "alpha", "1.0", _ALPHA),
        (base.directory, "beta", "1.0", _BETA),
        (nightly.directory, "alpha", ALPHA_NIGHTLY, _ALPHA),
        (nightly.directory, "beta", BETA_GREEN_NIGHTLY, _BETA),
        (nightly.directory, "beta", BETA_BROKEN_NIGHTLY, _BROKEN_BETA),
    )
    for folder, name, version, code in wheels:
        make_wheel(
            folder, name, version, modules={f"{name}/__init__.py": code.format(version=version)}
        )
    project = tmp_path / "starmap"
    shutil.copytree(
        CULPRIT_SAMPLE, project, ignore=shutil.ignore_patterns(".nox", "nightly-reports")
    )
    return World(project, base, nightly)


def run_nox(world: World, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", "--no-color", *args],
        cwd=world.project,
        env=world.env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
