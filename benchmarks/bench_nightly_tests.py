"""`nox -s nightly_tests` against raw uv and SPEC 4's recipe, on a small and a real sample.

Samples (each against two local pypiserver indexes):
  small  the example project (examples/skymap) and its one tiny dependency, tinyarray;
  real   a project that needs numpy, scipy, pandas and matplotlib: the base index serves
         their release wheels with dependencies (19 wheels, 89 MB, downloaded from PyPI
         once and cached), the nightly index dev versions of the four, repacked here
         from those release wheels (nothing else is downloaded).
Contenders, each in a fresh environment every run:
  nox         `nox -s nightly_tests` (plan, two-step install, repairs, check, proof, pytest);
  raw uv/nox  raw uv's steps below as a nox session (venv by nox's uv backend): what nox
              itself costs, so `nox` over it is what nightly-sessions adds inside nox;
  no nox      the same run without nox: `uv venv`, then `python -m nightly_sessions run
              --python <that venv>`, so its ratio to raw uv is what nightly-sessions adds;
  raw uv      the same strict two-step install by hand: `uv venv`, `uv pip install` the
              project and pytest from the base index, the nightlies without dependencies
              from the nightly index alone, `uv pip check`, pytest with its report log;
  SPEC 4      its recipe: `python -m venv`, `pip install .[test]`,
              `pip install --pre --upgrade --extra-index-url <nightly> <packages>`, pytest.
Modes: warm (caches filled by one untimed round) and cold (empty uv and pip caches for
every run). Runs alternate between contenders; prints medians and ratios of medians.
Python writes bytecode as it does by default (PYTHONDONTWRITEBYTECODE is unset here):
with it set, every run would compile nox and nightly-sessions from source, which a
laptop or a CI job does once.

    python benchmarks/bench_nightly_tests.py [--sample small|real|both] [--mode warm|cold|both]
        [--rounds N] [--spec4-rounds 1]

Defaults: 5 runs of nox and raw uv on the small sample, 3 on the real one, one of SPEC 4's
recipe (several times slower, so one run decides its ratio): about 8 minutes in all.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, "") and not any(Path(p, "nightly_sessions").is_dir() for p in sys.path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a bare checkout

from nightly_sessions.core.environment import find_uv
from nightly_sessions.testing.example import EXAMPLE_PROJECT, tinyarray_wheel
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.wheelhouse import TEST_TOOLS, download_wheels, repack_wheel

HEAVY = ("numpy", "scipy", "pandas", "matplotlib")
CONTENDERS = ("nox", "raw uv/nox", "no nox", "raw uv", "SPEC 4")
ENV = {
    **os.environ,
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "UV_NO_CONFIG": "1",
}
for _name in (
    "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "UV_INDEX_URL",
    "PYTHONDONTWRITEBYTECODE",
):  # fmt: skip
    ENV.pop(_name, None)

# Raw uv's steps as a nox session: nox's own start, venv and command running, no more.
FLOOR_NOXFILE = """\
import os

import nox


@nox.session(venv_backend="uv")
def raw_uv(session):
    base, nightly = os.environ["NIGHTLY_BASE_INDEX_URL"], os.environ["NIGHTLY_INDEX_URL"]
    session.install(
        "--index-url", base, "--reinstall-package", os.environ["PROJECT_NAME"], ".[test]",
        "pytest", "pytest-reportlog",
    )
    session.install(
        "--index-url", nightly, "--prerelease=allow", "--only-binary", ":all:", "--no-deps",
        "--upgrade", *os.environ["NIGHTLIES"].split(),
    )
    session.run("uv", "pip", "check", external=True)
    session.run("python", "-m", "pytest", "--report-log=floor-log.json")
"""
FLOOR_NOXFILE_NAME = "noxfile_raw_uv.py"

REAL_TESTS = """\
import io

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import linalg


def test_numpy():
    assert np.arange(10).sum() == 45


def test_scipy():
    matrix = np.array([[4.0, 1.0], [1.0, 3.0]])
    assert np.allclose(matrix @ linalg.solve(matrix, [1.0, 2.0]), [1.0, 2.0])


def test_pandas():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]})
    assert frame.groupby(frame.a > 1).b.sum().tolist() == [4.0, 11.0]


def test_matplotlib():
    figure = Figure()
    figure.add_subplot().plot([1, 2, 3])
    FigureCanvasAgg(figure).print_png(io.BytesIO())
    assert matplotlib.__version__
"""


@dataclass(frozen=True)
class Sample:
    """A project, its two indexes' folders and the packages it tests as nightlies."""

    name: str
    project: Path
    base: Path
    nightly: Path
    nightlies: tuple[str, ...]


def dev_version(release: str) -> str:
    """The nightly of the release after `release`: 2.4.6 -> 2.5.0.dev0."""
    major, minor = (int(part) for part in re.findall(r"\d+", release)[:2])
    return f"{major}.{minor + 1}.0.dev0"


def small_sample(root: Path) -> Sample:
    """The example project against tinyarray 1.0 and a tinyarray nightly."""
    shutil.copytree(download_wheels(), root / "base")
    tinyarray_wheel(root / "base", "1.0")
    tinyarray_wheel(root / "nightly", "1.1.0.dev0+git20261122.fa57e57")
    project = root / "skymap"
    shutil.copytree(
        EXAMPLE_PROJECT, project, ignore=shutil.ignore_patterns(".nox", "nightly-reports")
    )
    return Sample("small", project, root / "base", root / "nightly", ("tinyarray",))


def real_sample(root: Path) -> Sample:
    """A project needing numpy, scipy, pandas, matplotlib; their nightlies repacked here."""
    wheels = download_wheels((*HEAVY, *TEST_TOOLS))
    (root / "nightly").mkdir()
    for wheel in sorted(wheels.glob("*.whl")):
        if wheel.name.split("-")[0] in HEAVY:
            release = wheel.name.split("-")[1]
            repack_wheel(wheel, dev_version(release), root / "nightly")
    project = root / "stack"
    (project / "src" / "stack").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "src" / "stack" / "__init__.py").write_text('"""A stack."""\n__version__ = "1.0"\n')
    (project / "tests" / "test_stack.py").write_text(REAL_TESTS)
    (project / "noxfile.py").write_text((EXAMPLE_PROJECT / "noxfile.py").read_text())
    dependencies = ", ".join(f'"{name}"' for name in HEAVY)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.9,<4"]\nbuild-backend = "flit_core.buildapi"\n'
        f'[project]\nname = "stack"\nversion = "1.0"\ndescription = "A stack."\n'
        f"dependencies = [{dependencies}]\n"
        '[project.optional-dependencies]\ntest = ["pytest>=8"]\n'
    )
    return Sample("real", project, wheels, root / "nightly", HEAVY)


def _run(args: Sequence[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(
        args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )


def with_nox(sample: Sample, base: PypiServer, nightly: PypiServer, env: dict[str, str]) -> None:
    env = {**env, "NIGHTLY_INDEX_URL": nightly.url, "NIGHTLY_BASE_INDEX_URL": base.url}
    _run(
        [sys.executable, "-m", "nox", "--reuse-venv=no", "-s", "nightly_tests"], sample.project, env
    )


def raw_uv_in_nox(
    sample: Sample, base: PypiServer, nightly: PypiServer, env: dict[str, str]
) -> None:
    """Raw uv's steps in a nox session: the floor that nox's start and venv set."""
    noxfile = sample.project / FLOOR_NOXFILE_NAME
    if not noxfile.is_file():
        noxfile.write_text(FLOOR_NOXFILE)
    env = {
        **env, "NIGHTLY_INDEX_URL": nightly.url, "NIGHTLY_BASE_INDEX_URL": base.url,
        "PROJECT_NAME": sample.project.name, "NIGHTLIES": " ".join(sample.nightlies),
    }  # fmt: skip
    _run(
        [sys.executable, "-m", "nox", "-f", str(noxfile), "--reuse-venv=no", "-s", "raw_uv"],
        sample.project, env,
    )  # fmt: skip


def without_nox(sample: Sample, base: PypiServer, nightly: PypiServer, env: dict[str, str]) -> None:
    """The same run from the command line: a uv venv, then `python -m nightly_sessions run`."""
    env = {**env, "NIGHTLY_INDEX_URL": nightly.url, "NIGHTLY_BASE_INDEX_URL": base.url}
    uv, venv = find_uv() or "uv", sample.project / ".cli-venv"
    _run([uv, "venv", "-q", "--clear", "--python", sys.executable, str(venv)], sample.project, env)
    _run(
        [sys.executable, "-m", "nightly_sessions", "--project", str(sample.project), "run",
         "--python", str(venv / "bin" / "python"), "--installer", "uv"],
        sample.project, env,
    )  # fmt: skip


def raw_uv(sample: Sample, base: PypiServer, nightly: PypiServer, env: dict[str, str]) -> None:
    uv, venv = find_uv() or "uv", sample.project / ".raw-venv"
    python = str(venv / "bin" / "python")
    _run([uv, "venv", "-q", "--clear", "--python", sys.executable, str(venv)], sample.project, env)
    install = [uv, "pip", "install", "--python", python]
    _run(
        [*install, "--index-url", base.url, "--reinstall-package", sample.project.name,
         f"{sample.project}[test]", "pytest", "pytest-reportlog"],
        sample.project, env,
    )  # fmt: skip
    _run(
        [*install, "--index-url", nightly.url, "--prerelease=allow", "--only-binary", ":all:",
         "--no-deps", "--upgrade", *sample.nightlies],
        sample.project, env,
    )  # fmt: skip
    _run([uv, "pip", "check", "--python", python], sample.project, env)
    _run([python, "-m", "pytest", "--report-log=raw-uv-log.json"], sample.project, env)


def spec4(sample: Sample, base: PypiServer, nightly: PypiServer, env: dict[str, str]) -> None:
    venv = sample.project / ".hand-venv"
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], sample.project, env)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--index-url", base.url]
    _run([*pip, ".[test]"], sample.project, env)
    nightlies = ["--pre", "--upgrade", "--extra-index-url", nightly.url, *sample.nightlies]
    _run([*pip, *nightlies], sample.project, env)
    _run([str(venv / "bin" / "python"), "-m", "pytest", "-q"], sample.project, env)


STEPS = {
    "nox": with_nox,
    "raw uv/nox": raw_uv_in_nox,
    "no nox": without_nox,
    "raw uv": raw_uv,
    "SPEC 4": spec4,
}


@contextmanager
def caches(root: Path, cold: bool) -> Iterator[dict[str, str]]:
    """The environment for one run: shared caches (warm), or empty ones removed after (cold)."""
    folder = Path(tempfile.mkdtemp(dir=root)) if cold else root / "warm-caches"
    env = {
        **ENV,
        "UV_CACHE_DIR": str(folder / "uv"),
        "PIP_CACHE_DIR": str(folder / "pip"),
        "MPLCONFIGDIR": str(root / "matplotlib"),
    }
    try:
        yield env
    finally:
        if cold:
            shutil.rmtree(folder, ignore_errors=True)


def measure(
    sample: Sample, mode: str, rounds: int, spec4_rounds: int, root: Path
) -> dict[str, float]:
    """The median seconds of each contender on `sample` in `mode`, runs alternating."""
    cold = mode == "cold"
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    with ExitStack() as stack:
        base = stack.enter_context(serve_directory(sample.base))
        nightly = stack.enter_context(serve_directory(sample.nightly))

        def once(name: str) -> float:
            with caches(root, cold) as env:
                start = time.perf_counter()
                STEPS[name](sample, base, nightly, env)
                return time.perf_counter() - start

        if not cold:
            for name in CONTENDERS:  # fill the caches (and matplotlib's font cache)
                once(name)
        for number in range(rounds):
            for name in CONTENDERS:
                if name != "SPEC 4" or number < spec4_rounds:
                    times[name].append(once(name))
    return {name: statistics.median(values) for name, values in times.items()}


def report(sample: str, mode: str, medians: dict[str, float], rounds: int) -> None:
    nox_time, raw = medians["nox"], medians["raw uv"]
    target = 1.10 if sample == "small" else 1.05
    print(f"{sample} sample, {mode} (median of up to {rounds} runs):")
    for name, median in medians.items():
        print(f"  {name:10s} {median:6.2f} s")
    print(f"  ratio nox / raw uv: {nox_time / raw:.2f} (target <= {target:.2f})")
    print(f"  ratio nox / SPEC 4: {nox_time / medians['SPEC 4']:.2f} (target <= 0.15)")
    # nox's own part, then what nightly-sessions adds with nox and without it.
    floor, alone = medians["raw uv/nox"], medians["no nox"]
    print(f"  ratio raw uv in nox / raw uv: {floor / raw:.2f} (nox's own cost)")
    print(f"  ratio nox / raw uv in nox: {nox_time / floor:.2f} ({nox_time - floor:+.2f} s)")
    print(f"  ratio no nox / raw uv: {alone / raw:.2f} ({alone - raw:+.2f} s)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", choices=("small", "real", "both"), default="both")
    parser.add_argument("--mode", choices=("warm", "cold", "both"), default="both")
    parser.add_argument("--rounds", type=int, help="runs of nox and raw uv (5 small, 3 real)")
    parser.add_argument("--spec4-rounds", type=int, default=1, help="runs of SPEC 4's recipe")
    args = parser.parse_args(argv)
    samples: dict[str, Callable[[Path], Sample]] = {"small": small_sample, "real": real_sample}
    with tempfile.TemporaryDirectory() as folder:
        for sample_name in samples if args.sample == "both" else (args.sample,):
            root = Path(folder) / sample_name
            root.mkdir()
            sample = samples[sample_name](root)
            rounds = args.rounds or (5 if sample_name == "small" else 3)
            for mode in ("warm", "cold") if args.mode == "both" else (args.mode,):
                medians = measure(sample, mode, rounds, args.spec4_rounds, root)
                report(sample_name, mode, medians, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
