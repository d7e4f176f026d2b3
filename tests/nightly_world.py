"""The example's world for integration tests: indexes with releases, an rc and nightlies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nightly_sessions.testing.example import EXAMPLE_PROJECT, tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.wheelhouse import make_wheel

OLDER_NIGHTLY = "1.1.0.dev0+git20261120.aaaaaaa"
NEWEST_NIGHTLY = "1.1.0.dev0+git20261123.bbbbbbb"
RELEASE_CANDIDATE = "1.1.0rc1"  # beats the nightly under pip's merged-index rule


@dataclass(frozen=True)
class World:
    project: Path
    base: PypiServer
    nightly: PypiServer

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
