"""The plan's lookups of 40 packages on an index that drops every other connection.

A real simple index (pypiserver, or the loopback stand-in with `--stand-in`) sits behind
`serve_flaky_proxy`, which closes every other connection without an answer, so half of
all requests fail. Each variant asks for the 40 projects' pages `--runs` times (as
`nightly_plan` does, 32 at a time, a new client each run) in a process of its own:

    new        this checkout, default settings (3 retries, jittered waits, retry budget)
    old        the client before the retry budget, default settings (3 retries)
    old-r10    the same with NIGHTLY_RETRIES=10, the issue's workaround

Prints each variant's success rate and median time (of the runs that succeeded), and the
ratio of medians of `new` to each older variant.

    python benchmarks/bench_flaky_index.py [--runs 20] [--packages 40] [--old REV]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, "") and not any(Path(p, "nightly_sessions").is_dir() for p in sys.path):
    sys.path.insert(0, str(ROOT))  # run from a bare checkout

from nightly_sessions.testing.pypi import serve_directory
from nightly_sessions.testing.simple_index import serve_flaky_proxy, serve_simple_index
from nightly_sessions.testing.wheelhouse import make_wheel

# Runs in a fresh interpreter whose nightly_sessions is the variant's: argv is the index
# URL, the runs, the retries and the project names; prints where it imported the package
# from and [[ok, seconds], ...] as JSON.
WORKER = """
import json, sys, time
import nightly_sessions
from nightly_sessions.core.index import IndexClient
url, runs, retries, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
results = []
for _ in range(runs):
    started = time.perf_counter()
    try:
        found = IndexClient(url, retries=retries).files_many(names)
        ok = all(found[name] for name in names)
    except Exception:
        ok = False
    results.append([ok, time.perf_counter() - started])
print(json.dumps({"module": nightly_sessions.__file__, "results": results}))
"""


def old_revision() -> str:
    """The commit before the one that brought the retry budget."""
    command = ["git", "-C", str(ROOT), "log", "--reverse", "--format=%H", "-S", "RetryBudget"]
    first = subprocess.run(
        [*command, "--", "nightly_sessions/core/http.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not first:
        raise SystemExit("No commit brings RetryBudget; give --old REV.")
    return f"{first[0]}^"


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """The package as it was at `revision`, in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "nightly_sessions"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


def measure(tree: Path, url: str, runs: int, retries: int, names: list[str]) -> list[list[float]]:
    """Run WORKER with `tree` first on the path; its [[ok, seconds], ...]."""
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", WORKER, url, str(runs), str(retries), *names]
    # From inside `tree`: the working directory comes first on the path of `python -c`.
    output = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tree, check=True
    ).stdout
    answer = json.loads(output)
    if not Path(answer["module"]).is_relative_to(tree):
        raise SystemExit(f"The worker imported {answer['module']}, not the package in {tree}.")
    results: list[list[float]] = answer["results"]
    return results


@contextlib.contextmanager
def flaky_index(folder: Path, stand_in: bool) -> Iterator[str]:
    """The channel in `folder` behind a proxy dropping every other connection."""
    with contextlib.ExitStack() as stack:
        if stand_in:
            index_url = stack.enter_context(serve_simple_index(folder)).url
        else:
            index_url = stack.enter_context(serve_directory(folder)).url
        proxy = stack.enter_context(serve_flaky_proxy(index_url, drop_every=2))
        yield proxy.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--packages", type=int, default=40)
    parser.add_argument("--old", help="revision of the old client (default: before the budget)")
    parser.add_argument("--stand-in", action="store_true", help="not pypiserver behind the proxy")
    args = parser.parse_args()
    names = [f"upstream-{number:02d}" for number in range(args.packages)]
    with tempfile.TemporaryDirectory() as folder, checkout(args.old or old_revision()) as old:
        for name in names:
            make_wheel(Path(folder), name, "1.0.dev0")
        variants = {"new": (ROOT, 3), "old": (old, 3), "old-r10": (old, 10)}
        medians: dict[str, float] = {}
        with flaky_index(Path(folder), args.stand_in) as url:
            for label, (tree, retries) in variants.items():
                results = measure(tree, url, args.runs, retries, names)
                passed = [seconds for ok, seconds in results if ok]
                median = statistics.median(passed) if passed else float("nan")
                medians[label] = median
                print(
                    f"{label:8} {len(passed)}/{len(results)} runs succeeded "
                    f"({100 * len(passed) / len(results):.0f} %), median "
                    + (f"{median:.2f} s" if passed else "n/a")
                )
    for label in ("old", "old-r10"):
        ratio = medians["new"] / medians[label]
        shown = "n/a (a variant never succeeded)" if math.isnan(ratio) else f"{ratio:.2f}"
        print(f"ratio of medians new/{label}: {shown}")


if __name__ == "__main__":
    main()
