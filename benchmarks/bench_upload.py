"""Uploading 40 wheels to a slow anaconda.org: `upload` vs. one `anaconda upload --force` call.

The baseline is what scientific-python/upload-nightly-action runs: a single
`anaconda upload --force --user ORG --label main dist/*.whl`, which sends the files one
after another. This project's `upload` checks the channel first, then drives
anaconda-client's uploader over several files at once. Both talk to the loopback
anaconda.org stand-in (in its own process) that answers every request after `--latency`
seconds (50 ms by default); each run starts from an empty channel. Prints the medians of
several runs and the ratio of the medians (this project / the action's call; lower is better).

    python benchmarks/bench_upload.py [--wheels 40] [--latency 0.05] [--runs 3] [--jobs 4]
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

from nightly_sessions.channel.client import Retry, find_client
from nightly_sessions.channel.upload import upload
from nightly_sessions.channel.upload_job import UploadOptions
from nightly_sessions.testing.anaconda import DEFAULT_OWNER, serve_anaconda
from nightly_sessions.testing.wheelhouse import make_wheel

TOKEN = "benchmark-token"
PYTHONS = ("cp310", "cp311", "cp312", "cp313", "cp314")
PLATFORMS = (
    "manylinux_2_17_x86_64", "manylinux_2_17_aarch64", "musllinux_1_2_x86_64",
    "musllinux_1_2_aarch64", "macosx_11_0_arm64", "macosx_10_13_x86_64", "win_amd64", "win_arm64",
)  # fmt: skip


def make_dist(folder: Path, count: int) -> list[Path]:
    """`count` wheels of one nightly version, one per Python and platform (a cibuildwheel matrix)."""
    tags = [f"{py}-{py}-{platform}" for py in PYTHONS for platform in PLATFORMS][:count]
    return [make_wheel(folder, "skymap", "1.1.0.dev0+git20261124.abc1234", tag=t) for t in tags]


def _serve(latency: float, pipe: Connection) -> None:
    """Child process: run an empty channel per request of the parent; report what it holds."""
    while (message := pipe.recv()) != "stop":
        with serve_anaconda(latency=latency) as server:
            server.add_token(TOKEN)
            pipe.send(server.url)
            pipe.recv()  # "done"
            pipe.send(len(server.files(DEFAULT_OWNER)))
        del message


@contextmanager
def channels(latency: float) -> Iterator[Callable[[Callable[[str], None]], int]]:
    """`run(upload)`: start an empty channel, call `upload(url)`, return how many files it holds."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(latency, theirs))
    process.start()

    def run(action: Callable[[str], None]) -> int:
        ours.send("start")
        url = ours.recv()
        try:
            action(url)
        finally:
            ours.send("done")
        return int(ours.recv())

    try:
        yield run
    finally:
        ours.send("stop")
        process.join(timeout=30)


def with_action_command(files: Sequence[Path], folder: Path) -> Callable[[str], None]:
    def action(url: str) -> None:
        config = folder / "binstar" / "data"
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.yaml").write_text(f"url: {url}\n", encoding="utf-8")
        env = {
            **os.environ,
            "BINSTAR_CONFIG_DIR": str(folder / "binstar"),
            "BINSTAR_API_TOKEN": TOKEN,
        }
        command = ["anaconda", "upload", "--force", "--user", DEFAULT_OWNER, "--label", "main"]
        subprocess.run(
            [*command, *map(str, files)], env=env, check=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    return action


def with_this_project(dist: Path, jobs: int) -> Callable[[str], None]:
    def action(url: str) -> None:
        options = UploadOptions(dist_dir=dist, channel=DEFAULT_OWNER, api_url=url, jobs=jobs,
                                retry=Retry(timeout=30.0))  # fmt: skip
        upload(
            options, client=find_client, environ={"ANACONDA_ORG_UPLOAD_TOKEN": TOKEN},
            log=lambda _text: None,
        )  # fmt: skip

    return action


def median_seconds(run: Callable[[Callable[[str], None]], int], action: Callable[[str], None],
                   runs: int, expected: int) -> float:  # fmt: skip
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        held = run(action)
        times.append(time.perf_counter() - start)
        if held != expected:
            raise SystemExit(f"the channel holds {held} files after a run, not {expected}")
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=4, help="files at once (this project)")
    args = parser.parse_args(argv)
    find_client()  # fail early, in one sentence, when anaconda-client is missing

    with tempfile.TemporaryDirectory() as temporary, channels(args.latency) as run:
        folder = Path(temporary)
        files = make_dist(folder / "dist", args.wheels)
        ours = median_seconds(
            run, with_this_project(folder / "dist", args.jobs), args.runs, len(files)
        )
        theirs = median_seconds(run, with_action_command(files, folder), args.runs, len(files))

    print(f"{len(files)} wheels, {args.latency * 1000:.0f} ms per request, {args.runs} runs")
    print(f"  nightly_sessions upload (--jobs {args.jobs}):    median {ours:.2f} s")
    print(f"  anaconda upload --force (the action): median {theirs:.2f} s")
    print(f"  ratio of medians (this project / the action's call): {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
