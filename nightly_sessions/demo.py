"""The whole SPEC 4 loop, offline, on the example project: `python -m nightly_sessions.demo`.

Loopback stand-ins take the place of the outside world: pypiserver as the nightly and
base indexes, the anaconda.org stand-in as the channel, the GitHub stand-in as the
tracker. Each stage runs the real nox sessions in a freshly rendered copy of
`examples/skymap` and checks its outcome; the demo exits 0 only if every stage did what
it should. Every process it starts is stopped before it returns.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nightly_sessions.channel import client as anaconda_client
from nightly_sessions.core.artifacts import find_reports
from nightly_sessions.core.errors import NightlyError
from nightly_sessions.core.redact import add_secret, redact
from nightly_sessions.testing.anaconda import AnacondaServer, serve_anaconda
from nightly_sessions.testing.example import EXAMPLE_PROJECT, tinyarray_wheel
from nightly_sessions.testing.github import FakeGitHub, serve_github
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.template import commit_all, git, render_template
from nightly_sessions.testing.wheelhouse import TEST_TOOLS, download_wheels
from nightly_sessions.wheels import build

MARKER = ".nightly-sessions-demo"
REPOSITORY = "example-org/skymap"
GOOD_NIGHTLY = "1.1.0.dev0+git20261120.aaaaaaa"
BROKEN_NIGHTLY = "1.1.0.dev0+git20261123.badcafe"
UPLOAD_TOKEN_ENV = "ANACONDA_ORG_UPLOAD_TOKEN"  # noqa: S105 - a variable name
# Each nightly_tests run is its own job (NIGHTLY_JOB), so each keeps its own report folder.
GREEN_JOB = "demo-green"
RED_JOB = "demo-red"


class DemoFailed(NightlyError):
    """A stage did not do what it should."""


@dataclass
class World:
    """The stand-ins, the rendered project and the secrets the demo made up."""

    output: Path
    project: Path
    base: PypiServer
    nightly: PypiServer
    channel: AnacondaServer
    github: FakeGitHub
    upload_token: str
    summary: list[tuple[str, str]] = field(default_factory=list)

    def reports(self, job: str) -> Path:
        """The folder of one job's report, below the project's report-dir."""
        return self.project / "nightly-reports" / job

    def environment(self, job: str = "demo", **extra: str) -> dict[str, str]:
        """What the sessions see: every URL on loopback, the tokens, no machine index config."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(
                ("PIP_", "UV_INDEX", "UV_EXTRA", "UV_FIND", "NIGHTLY_", "GITHUB_")
            )
        }
        env.update(
            {
                "PIP_CONFIG_FILE": os.devnull,
                "UV_NO_CONFIG": "1",
                # nightly-sessions is installed here already: skip the noxfile's PEP 723
                # header, whose pin names the throwaway template repository.
                "NOX_SCRIPT_MODE": "none",
                "NIGHTLY_INDEX_URL": self.nightly.url,
                "NIGHTLY_BASE_INDEX_URL": self.base.url,
                "NIGHTLY_ANACONDA_API_URL": self.channel.url,
                "NIGHTLY_JOB": job,
                UPLOAD_TOKEN_ENV: self.upload_token,
                "GITHUB_API_URL": self.github.url,
                "GITHUB_TOKEN": self.github.token,
                "GITHUB_REPOSITORY": REPOSITORY,
                "GITHUB_SERVER_URL": "http://127.0.0.1",
                "GITHUB_RUN_ID": "1",
                "GITHUB_EVENT_NAME": "schedule",
                **extra,
            }
        )
        return env


Say = Callable[[str], None]


def _say(text: str) -> None:
    print(redact(text), flush=True)  # noqa: T201


def _nox(
    world: World,
    name: str,
    *args: str,
    ok: bool = True,
    job: str = "demo",
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run `nox -s name -- args` as `job` (with `env` added); keep its output in logs/."""
    command = [sys.executable, "-m", "nox", "--no-color", "-s", name]
    if args:
        command += ["--", *args]
    result = subprocess.run(
        command,
        cwd=world.project,
        env=world.environment(job, **(env or {})),
        capture_output=True,
        text=True,
        check=False,
    )
    output = redact(result.stdout + result.stderr)
    log = world.output / "logs" / f"{len(list((world.output / 'logs').iterdir())):02d}-{name}.log"
    log.write_text(output, encoding="utf-8")
    if ok and result.returncode != 0:
        raise DemoFailed(f"`nox -s {name}` failed (exit {result.returncode}); see {log}.")
    return result.returncode, output


def _report(world: World, job: str) -> dict[str, Any]:
    [path] = find_reports(world.reports(job))
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _expect(condition: bool, failure: str) -> None:
    if not condition:
        raise DemoFailed(failure)


def _excerpt(output: str, start: str, lines: int) -> str:
    """`lines` lines of `output` from the first line containing `start`."""
    found = output.splitlines()
    for number, line in enumerate(found):
        if start in line:
            return "\n".join("    " + text for text in found[number : number + lines])
    return ""


# The stages. Each prints what it shows and checks what it must.


def stage_render(world: World, say: Say) -> None:
    answers = {
        "project_name": "skymap",
        "repository": REPOSITORY,
        "python_versions": [f"{sys.version_info[0]}.{sys.version_info[1]}"],
    }
    render_template(world.project, answers)
    # A project is a git repository: the nightly version takes its commit.
    git(world.project, "init", "--quiet", "--initial-branch=main")
    commit_all(world.project, "skymap with the nightly-sessions template")
    written = sorted(
        str(path.relative_to(world.project))
        for path in world.project.rglob("*")
        if path.is_file() and (".github" in path.parts or path.name == "noxfile.py")
    )
    _expect("noxfile.py" in written, "The template did not write noxfile.py.")
    say("  wrote " + ", ".join(written))
    world.summary.append(("render the template", f"{world.project}"))


def stage_green(world: World, say: Say) -> None:
    _, output = _nox(world, "nightly_tests", job=GREEN_JOB)
    report = _report(world, GREEN_JOB)
    _expect(report["outcome"] == "passed", "The first nightly run should pass.")
    [package] = report["packages"]
    _expect(package["installed"] == GOOD_NIGHTLY, "tinyarray should be the nightly.")
    say(_excerpt(output, "package    installed", 2))
    world.summary.append(("nightly tests, green", str(world.reports(GREEN_JOB))))


def stage_red(world: World, say: Say) -> None:
    tinyarray_wheel(world.nightly.directory, BROKEN_NIGHTLY, broken=True)
    say(f"  published a broken nightly: tinyarray {BROKEN_NIGHTLY}")
    # The green run's report is the last green run: the culprit search puts its versions back.
    last_green = {"NIGHTLY_LAST_GREEN": str(world.reports(GREEN_JOB))}
    code, output = _nox(world, "nightly_tests", ok=False, job=RED_JOB, env=last_green)
    report = _report(world, RED_JOB)
    _expect(code != 0 and report["outcome"] == "tests-failed", "The broken nightly should fail.")
    _expect(report["packages"][0]["installed"] == BROKEN_NIGHTLY, "The new nightly was not used.")
    say(_excerpt(output, "package    installed", 2))
    say(_excerpt(output, "short test summary info", 2))
    culprit = report.get("culprit") or {}
    _expect(culprit.get("status") == "found", "The culprit search should name tinyarray.")
    say("\n".join(f"    {sentence}" for sentence in culprit["verdict"]))
    draft = world.reports(RED_JOB) / culprit["drafts"][0]["file"]
    say(f"  drafted the report for tinyarray's tracker: {draft}")
    world.summary.append(("nightly tests, red", str(world.reports(RED_JOB))))
    world.summary.append(("upstream draft", str(draft)))
    # The tracking issue of the red run: its own report folder and job name.
    red = str(world.reports(RED_JOB))
    _nox(world, "nightly_issue", red, "--expect-jobs", RED_JOB, "--no-compare")
    issues = world.github.issues(state="open")
    _expect(len(issues) == 1, "One tracking issue should be open.")
    body_path = world.output / "tracking-issue.md"
    body_path.write_text(issues[0].body, encoding="utf-8")
    say(f"  opened tracking issue #{issues[0].number}: {issues[0].title!r}")
    shown = [line for line in issues[0].body.splitlines() if not line.startswith("<!--")]
    say("\n".join("    " + line for line in shown[:14]) + "\n    ...")
    world.summary.append(("tracking issue", str(body_path)))


def stage_build(world: World, say: Say) -> None:
    _nox(world, "build_nightly")
    files = sorted((world.project / "dist").glob("*"))
    _expect(any(path.suffix == ".whl" for path in files), "build_nightly made no wheel.")
    for path in files:
        say(f"  built {path.name}")
    _nox(world, "check_dist")
    world.summary.append(("build nightly wheels", str(world.project / "dist")))


def stage_upload(world: World, say: Say) -> None:
    _, output = _nox(world, "upload_nightly", "--verify", "--verify-timeout", "60")
    held = world.channel.files()
    built = {path.name for path in (world.project / "dist").glob("*.whl")}
    _expect(built <= set(held), "The channel does not hold every built wheel.")
    _expect(world.upload_token not in output, "The upload token leaked into the output.")
    say(f"  the channel holds {', '.join(sorted(held))}")
    world.summary.append(("upload to the channel", world.channel.simple_url()))


def _command(args: Sequence[str], what: str, env: dict[str, str]) -> str:
    result = subprocess.run(list(args), capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        raise DemoFailed(f"Could not {what}: {redact(result.stdout + result.stderr).strip()}")
    return result.stdout.strip()


def stage_install(world: World, say: Say) -> None:
    venv = world.output / "install-check"
    env = world.environment()
    _command([sys.executable, "-m", "venv", str(venv)], "create a virtual environment", env)
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "--index-url", world.channel.simple_url()]
    _command([*install, "--pre", "--no-deps", "skymap"], "install skymap from the channel", env)
    show = "import importlib.metadata as m; print(m.version('skymap'))"
    version = _command([python, "-c", show], "read the installed version", env)
    _expect(".dev" in version, f"pip installed skymap {version}, not a nightly.")
    say(f"  pip installed skymap {version} from the channel's simple index")
    world.summary.append(("install from the channel", f"skymap {version}"))


def stage_cleanup(world: World, say: Say) -> None:
    _, output = _nox(world, "cleanup_nightly")
    _expect(not world.channel.count("remove_release"), "Cleanup deleted in dry-run mode.")
    say(_excerpt(output, "Cleanup of", 3))
    world.summary.append(("cleanup, dry run", "nothing deleted"))


STAGES: tuple[tuple[str, Callable[[World, Say], None]], ...] = (
    ("Render the Copier template into a copy of examples/skymap", stage_render),
    ("nox -s nightly_tests with good nightlies (green)", stage_green),
    ("Publish a broken nightly, run again (red), report the tracking issue", stage_red),
    ("nox -s build_nightly: nightly wheels of skymap", stage_build),
    ("nox -s upload_nightly to the local channel", stage_upload),
    ("pip installs the nightly from the channel", stage_install),
    ("nox -s cleanup_nightly (dry run)", stage_cleanup),
)


def _prepare_output(output: Path) -> None:
    """Empty the demo's own folder; refuse to touch a folder the demo did not make."""
    if output.exists():
        if not (output / MARKER).is_file():
            raise DemoFailed(
                f"{output} exists and was not made by the demo; choose another --output."
            )
        shutil.rmtree(output)
    (output / "logs").mkdir(parents=True)
    (output / MARKER).write_text("made by python -m nightly_sessions.demo\n", encoding="utf-8")


@contextlib.contextmanager
def stand_ins(output: Path) -> Iterator[World]:
    """Start every stand-in; stop them all when the block ends."""
    tools = (*TEST_TOOLS, build.TOOLS["build"], *anaconda_client.locked_requirements())
    wheelhouse = download_wheels(tools)
    shutil.copytree(wheelhouse, output / "indexes" / "base")
    tinyarray_wheel(output / "indexes" / "base", "1.0")
    tinyarray_wheel(output / "indexes" / "nightly", GOOD_NIGHTLY)
    token = f"demo-{secrets.token_hex(12)}"
    add_secret(token)
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(serve_directory(output / "indexes" / "base"))
        nightly = stack.enter_context(serve_directory(output / "indexes" / "nightly"))
        channel = stack.enter_context(serve_anaconda())
        channel.add_token(token)
        github = stack.enter_context(serve_github(repository=REPOSITORY))
        add_secret(github.token)
        yield World(output, output / "skymap", base, nightly, channel, github, token)


def run_demo(output: Path, say: Say = _say) -> list[tuple[str, str]]:
    """Run every stage; return the summary rows (what, where)."""
    _prepare_output(output)
    # The template writes the noxfile: start from the example without its own.
    ignore = shutil.ignore_patterns(".nox", "nightly-reports", "dist", "noxfile.py")
    shutil.copytree(EXAMPLE_PROJECT, output / "skymap", ignore=ignore)
    with stand_ins(output) as world:
        for number, (title, stage) in enumerate(STAGES, start=1):
            started = time.perf_counter()
            say(f"[{number}/{len(STAGES)}] {title}")
            stage(world, say)
            say(f"      ok ({time.perf_counter() - started:.1f} s)")
        return world.summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nightly_sessions.demo", description=__doc__)
    parser.add_argument(
        "--output", type=Path, default=Path("demo-output"), help="folder for everything it makes"
    )
    args = parser.parse_args(argv)
    try:
        summary = run_demo(args.output.resolve())
    except NightlyError as exc:
        print(f"demo: {redact(str(exc))}", file=sys.stderr)  # noqa: T201
        return 1
    _say("\nThe whole loop ran offline. What it made:")
    width = max(len(what) for what, _ in summary)
    for what, where in summary:
        _say(f"  {what.ljust(width)}  {where}")
    _say("Every stand-in server has been stopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
