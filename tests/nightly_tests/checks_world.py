"""The other checks' world: tests/samples/checks and the wheels its checks run against.

The base index has alpha 1.0 and `apicheck` 1.0 (a console script, as mypy is); the
nightly channel has alpha's nightly, whose `add()` still works (the tests pass) but whose
`mean()` rounds down (the `contract` check fails).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from nightly_world import Index, World

from nightly_sessions.testing.wheelhouse import make_wheel

CHECKS_SAMPLE = Path(__file__).parents[1] / "samples" / "checks"
ALPHA_NIGHTLY = "2.0.dev0+git20261206.c0ffee1"
_ALPHA = (
    "__version__ = {version!r}\n\n\ndef add(values):\n    return sum(values)\n\n\n"
    "def mean(values):\n    return sum(values) {divide} len(values)\n"
)
_APICHECK = '''"""Check that every name a module lists in USES exists, as a type checker would."""

import importlib
import sys


def main():
    module = importlib.import_module(sys.argv[1])
    missing = []
    for dotted in module.USES:
        owner, _, name = dotted.rpartition(".")
        if not hasattr(importlib.import_module(owner), name):
            missing.append(dotted)
    for dotted in missing:
        print(f"error: {dotted} does not exist")
    print(f"{len(module.USES) - len(missing)} of {len(module.USES)} names found")
    return 1 if missing else 0
'''


def build_checks_world(tmp_path: Path, base: Index, nightly: Index) -> World:
    """alpha 1.0 and apicheck on the base index, alpha's nightly on the channel, a copy of
    the sample project."""
    for folder, version, divide in (
        (base.directory, "1.0", "/"),
        (nightly.directory, ALPHA_NIGHTLY, "//"),
    ):
        code = _ALPHA.format(version=version, divide=divide)
        make_wheel(folder, "alpha", version, modules={"alpha/__init__.py": code})
    make_wheel(
        base.directory, "apicheck", "1.0",
        modules={
            "apicheck/__init__.py": _APICHECK,
            "apicheck-1.0.dist-info/entry_points.txt": (
                "[console_scripts]\napicheck = apicheck:main\n"
            ),
        },
    )  # fmt: skip
    project = tmp_path / "skycheck"
    shutil.copytree(CHECKS_SAMPLE, project)
    return World(project, base, nightly)


def new_venv(folder: Path, *, pip: bool = False) -> Path:
    """An empty virtual environment's interpreter (with pip in it when `pip`)."""
    seed = ["--seed"] if pip else []
    subprocess.run([sys.executable, "-m", "uv", "venv", "-q", *seed, str(folder)], check=True)
    return folder / ("Scripts" if sys.platform == "win32" else "bin") / "python"


def run_cli(world: World, python: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m nightly_sessions run` on the world's project, as a workflow would run it."""
    return subprocess.run(
        [sys.executable, "-m", "nightly_sessions", "--project", str(world.project), "run",
         "--python", str(python), *args],
        env=world.env(NIGHTLY_JOB="py-checks", **env), capture_output=True, text=True,
        check=False, timeout=600,
    )  # fmt: skip
