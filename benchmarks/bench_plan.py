"""The nightly plan for 40 packages on a slow index, and concurrent reads vs. one by one.

The index answers every request after `--latency` seconds (100 ms by default), like a
distant pypi.anaconda.org. One by one, 40 projects cost 40 round trips; concurrently
they should cost about ceil(40 / workers) of them. Prints the medians of the whole plan
for a project with 40 nightly dependencies (target under 1 s), in-process and end to end
as a user runs it (`nox -s nightly_plan`, `python -m nightly_sessions plan`: interpreter
start, imports and nox included), nox's own start (a session that does nothing), the
medians of the two ways of reading, and the ratio. Python writes bytecode, as by default.

    python benchmarks/bench_plan.py [--projects 40] [--latency 0.1] [--runs 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

if __package__ in (None, "") and not any(Path(p, "nightly_sessions").is_dir() for p in sys.path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a bare checkout

from nightly_sessions.core.config import load_settings
from nightly_sessions.core.index import IndexClient
from nightly_sessions.nightly_tests.plan import Target
from nightly_sessions.nightly_tests.run import plan_for
from nightly_sessions.testing.simple_index import serve_simple_index
from nightly_sessions.testing.wheelhouse import make_wheel

TAGS = ("cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-macosx_11_0_arm64", "py3-none-any")


NOOP_NOXFILE = """\
import nox


@nox.session(venv_backend="none")
def noop(session):
    pass
"""


def make_channel(directory: Path, projects: int) -> list[str]:
    """Write a few nightly wheels for each of `projects` projects; return their names."""
    names = [f"project-{number:02d}" for number in range(projects)]
    for name in names:
        for day, tag in enumerate(TAGS, start=1):
            make_wheel(directory, name, f"1.0.dev0+git202611{day:02d}", tag=tag)
    return names


def _serve(folder: str, latency: float, pipe: Connection) -> None:
    """Child process: serve `folder` and send the URL; stop when the pipe says so."""
    with serve_simple_index(Path(folder), latency=latency, static=True) as index:
        pipe.send(index.url)
        pipe.recv()


@contextmanager
def slow_index(folder: Path, latency: float) -> Iterator[str]:
    """A simple index in its own process, so its work does not share the client's GIL."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(str(folder), latency, theirs))
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(timeout=30)


def median_seconds(run: Callable[[], object], runs: int) -> float:
    """The median wall time of `runs` calls of `run`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        names = make_channel(Path(folder), args.projects)
        with slow_index(Path(folder), args.latency) as url:

            def concurrent() -> None:
                files = IndexClient(url).files_many(names)
                assert all(len(found) == len(TAGS) for found in files.values())

            def sequential() -> None:
                client = IndexClient(url)
                for name in names:
                    assert len(client.files(name)) == len(TAGS)

            project = Path(folder) / "project"
            project.mkdir()
            dependencies = ", ".join(f'"{name}"' for name in names)
            (project / "pyproject.toml").write_text(
                f'[project]\nname = "bench"\ndependencies = [{dependencies}]\n', encoding="utf-8"
            )
            settings = load_settings(project, {"nightly_index_url": url}, environ={})

            def whole_plan() -> None:
                plan = plan_for(settings, Target.current())
                assert len(plan.nightly) == args.projects

            (project / "noxfile.py").write_text(
                "import nightly_sessions\n\nnightly_sessions.register()\n", encoding="utf-8"
            )
            (project / "noxfile_floor.py").write_text(NOOP_NOXFILE, encoding="utf-8")
            environ = {**os.environ, "NIGHTLY_INDEX_URL": url}
            environ.pop("PYTHONDONTWRITEBYTECODE", None)  # else each run compiles nox anew

            def command(*words: str) -> Callable[[], None]:
                def run() -> None:
                    subprocess.run(
                        [sys.executable, *words], cwd=project, env=environ, check=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip

                return run

            planned = median_seconds(whole_plan, args.runs)
            session = median_seconds(command("-m", "nox", "-s", "nightly_plan"), args.runs)
            floor = median_seconds(command("-m", "nox", "-f", "noxfile_floor.py"), args.runs)
            cli = median_seconds(command("-m", "nightly_sessions", "plan"), args.runs)
            fast = median_seconds(concurrent, args.runs)
            slow = median_seconds(sequential, args.runs)

    print(f"{args.projects} projects, {args.latency * 1000:.0f} ms per request, {args.runs} runs")
    print(f"  the whole nightly plan:  median {planned:.3f} s (target < 1 s)")
    print(f"  nox -s nightly_plan:     median {session:.3f} s (end to end)")
    print(f"  nox, a session doing nothing: median {floor:.3f} s (nox's own start)")
    print(f"  nightly_plan minus that: {session - floor:.3f} s")
    print(f"  python -m ... plan:      median {cli:.3f} s (end to end)")
    print(f"  files_many (concurrent): median {fast:.3f} s")
    print(f"  files one by one:        median {slow:.3f} s")
    print(f"  ratio of medians (one by one / concurrent): {slow / fast:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
