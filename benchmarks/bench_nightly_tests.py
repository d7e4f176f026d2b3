"""`nox -s nightly_tests` against SPEC 4's recipe done by hand, on the same project and indexes.

Both run on the example project (examples/skymap) against the same two local pypiserver
indexes, with warm caches (one untimed round first), alternating, several rounds. The
hand recipe is SPEC 4's: `python -m venv`, `pip install .[test]`,
`pip install --pre --upgrade --extra-index-url <nightly> tinyarray`, `pytest`.

    python benchmarks/bench_nightly_tests.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nightly_sessions.testing.example import EXAMPLE_PROJECT, tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.wheelhouse import download_wheels

ENV = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
for _name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
    ENV.pop(_name, None)


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(
        args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )


def with_nox(project: Path, base: PypiServer, nightly: PypiServer) -> None:
    env = {**ENV, "NIGHTLY_INDEX_URL": nightly.url, "NIGHTLY_BASE_INDEX_URL": base.url}
    _run([sys.executable, "-m", "nox", "-s", "nightly_tests"], project, env)


def by_hand(project: Path, base: PypiServer, nightly: PypiServer) -> None:
    venv = project / ".hand-venv"
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], project, ENV)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--index-url", base.url]
    _run([*pip, ".[test]"], project, ENV)
    _run([*pip, "--pre", "--upgrade", "--extra-index-url", nightly.url, "tinyarray"], project, ENV)
    _run([str(venv / "bin" / "python"), "-m", "pytest", "-q"], project, ENV)


def timed(step: Callable[[], None]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copytree(download_wheels(), root / "base")
        tinyarray_wheel(root / "base", "1.0")
        tinyarray_wheel(root / "nightly", "1.1.0.dev0+git20261122.fa57e57")
        project = root / "skymap"
        shutil.copytree(
            EXAMPLE_PROJECT, project, ignore=shutil.ignore_patterns(".nox", "nightly-reports")
        )
        with serve_directory(root / "base") as base, serve_directory(root / "nightly") as nightly:
            times: dict[str, list[float]] = {"nox -s nightly_tests": [], "SPEC 4 by hand": []}
            steps: dict[str, Callable[[], None]] = {
                "nox -s nightly_tests": lambda: with_nox(project, base, nightly),
                "SPEC 4 by hand": lambda: by_hand(project, base, nightly),
            }
            for step in steps.values():  # warm the caches
                step()
            for _ in range(rounds):
                for name, step in steps.items():
                    times[name].append(timed(step))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:22s} median {median:6.2f} s over {rounds} rounds")
    ratio = medians["nox -s nightly_tests"] / medians["SPEC 4 by hand"]
    print(f"ratio of medians (nightly_tests / by hand): {ratio:.2f} (target <= 0.5)")


if __name__ == "__main__":
    main()
