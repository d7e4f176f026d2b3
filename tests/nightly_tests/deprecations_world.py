"""The warnings' world: tests/samples/deprecations depends on `gamma`, whose nightlies
start deprecating `gamma.scale` (a DeprecationWarning raised with stacklevel=2, so at the
project's line, as numpy does) and later stop; every gamma warns "gamma is slow", which
the project's own filterwarnings ignores."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nightly_world import Index

from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, find_uv
from nightly_sessions.testing.wheelhouse import make_wheel

SAMPLE = Path(__file__).parents[1] / "samples" / "deprecations"
GREEN = "2.0.dev0+git20261201.c0c0c0c"  # no deprecation yet
WARNS = "2.0.dev0+git20261203.d0d0d0d"  # deprecates gamma.scale
GONE = "2.0.dev0+git20261205.e0e0e0e"  # the deprecation is withdrawn
_GAMMA = """import warnings

__version__ = {version!r}


def scale(value, factor):
    warnings.warn("gamma is slow", UserWarning)
    {deprecation}return value * factor
"""
_DEPRECATION = (
    'warnings.warn(f"gamma.scale(value, {factor}) is deprecated since 2.0; use '
    'gamma.times(value, factor={factor})", DeprecationWarning, stacklevel=2)\n    '
)
MESSAGE = "gamma.scale(value, 2) is deprecated since 2.0; use gamma.times(value, factor=2)"
TEST = "tests/test_quillmap.py::test_doubled"


def gamma_wheel(folder: Path, version: str, *, deprecates: bool) -> None:
    code = _GAMMA.format(version=version, deprecation=_DEPRECATION if deprecates else "")
    make_wheel(folder, "gamma", version, modules={"gamma/__init__.py": code})


@dataclass(frozen=True)
class WarningsWorld:
    project: Path
    base: Index
    nightly: Index
    env: Environment

    def settings(self, **environ: str) -> Settings:
        return load_settings(
            self.project,
            environ={
                "NIGHTLY_INDEX_URL": self.nightly.url,
                "NIGHTLY_BASE_INDEX_URL": self.base.url,
                **environ,
            },
        )

    def publish(self, version: str, *, deprecates: bool) -> None:
        """A newer gamma nightly on the channel."""
        gamma_wheel(self.nightly.directory, version, deprecates=deprecates)


def build_warnings_world(tmp_path: Path, base: Index, nightly: Index) -> WarningsWorld:
    """gamma 1.0 on the base index, its green nightly on the channel, a fresh venv."""
    gamma_wheel(base.directory, "1.0", deprecates=False)
    gamma_wheel(nightly.directory, GREEN, deprecates=False)
    project = tmp_path / "quillmap"
    shutil.copytree(SAMPLE, project)
    uv = find_uv()
    assert uv is not None, "the tests need uv"
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    return WarningsWorld(project, base, nightly, Environment(venv / "bin" / "python", "uv", uv))
