"""`copier copy` (all defaults) and `copier update` (v1 to v2) of the template, timed.

Runs the real `copier` command line, as a maintainer would, against a throwaway git
repository of the template tagged v1 and v2 (v2 changes a workflow). Prints the median
of several runs of each, and its ratio to the budget (copy 2 s, update 5 s).

    python benchmarks/bench_template.py [--runs 5]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("copier.yml", "copier-includes", "template")
ANSWERS_FILE = ".copier-answers.nightly-sessions.yml"
BUDGETS = {"copy": 2.0, "update": 5.0}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Benchmark",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Benchmark",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
ENV = {**os.environ, **GIT_ENV}
COPIER = (sys.executable, "-m", "copier")


def run(cwd: Path, *command: str) -> None:
    subprocess.run(command, cwd=cwd, env=ENV, check=True, capture_output=True)


def commit(repo: Path, message: str, tag: str | None = None) -> None:
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "--quiet", "--no-gpg-sign", "-m", message)
    if tag:
        run(repo, "git", "tag", tag)


def make_template_repo(path: Path) -> Path:
    """The template alone in a git repository, tagged v1, then v2 with a workflow change."""
    path.mkdir(parents=True)
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, path / part)
        else:
            shutil.copy2(source, path / part)
    run(path, "git", "init", "--quiet", "--initial-branch=main")
    commit(path, "Template", "v1")
    workflow = path / "template" / ".github" / "workflows" / "{{ tests_workflow }}.jinja"
    text = workflow.read_text().replace(
        "permissions: {}\n", 'permissions: {}\n\nenv:\n  FORCE_COLOR: "1"\n'
    )
    workflow.write_text(text)
    commit(path, "v2", "v2")
    return path


def copy_command(template: Path, project: Path, ref: str) -> list[str]:
    return [
        *COPIER,
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        ref,
        str(template),
        str(project),
    ]


def time_copy(template: Path, workdir: Path, run_number: int) -> float:
    project = workdir / f"copy-{run_number}" / "skymap"
    start = time.perf_counter()
    subprocess.run(copy_command(template, project, "v2"), env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def time_update(template: Path, workdir: Path, run_number: int) -> float:
    project = workdir / f"update-{run_number}" / "skymap"
    subprocess.run(copy_command(template, project, "v1"), env=ENV, check=True, capture_output=True)
    run(project, "git", "init", "--quiet", "--initial-branch=main")
    commit(project, "From the template at v1")
    command = [*COPIER, "update", "--trust", "--defaults", "--quiet", "--vcs-ref", "v2"]
    command += ["--answers-file", ANSWERS_FILE]
    start = time.perf_counter()
    subprocess.run(command, cwd=project, env=ENV, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    if "FORCE_COLOR" not in (project / ".github" / "workflows" / "nightly-tests.yml").read_text():
        raise SystemExit("copier update did not bring the v2 change; the figures mean nothing.")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-template-") as folder:
        workdir = Path(folder)
        template = make_template_repo(workdir / "nightly-sessions")
        timings = {
            "copy": [time_copy(template, workdir, n) for n in range(args.runs)],
            "update": [time_update(template, workdir, n) for n in range(args.runs)],
        }
    for name, values in timings.items():
        median = statistics.median(values)
        budget = BUDGETS[name]
        print(
            f"copier {name:<6} median {median:5.2f} s over {args.runs} runs "
            f"(min {min(values):.2f}, max {max(values):.2f}); "
            f"{median / budget:.2f} of the {budget:.0f} s budget"
        )


if __name__ == "__main__":
    main()
