"""`python -m nightly_sessions <command>`: the sessions' work for tox users and bare CI scripts.

Each command is one entry in `COMMANDS` (at the bottom): a function that adds its
arguments and one that runs it. Failures print one redacted sentence and exit with the code in `errors`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from nightly_sessions import __version__, freshness, init
from nightly_sessions.channel import cleanup, upload
from nightly_sessions.core import artifacts, run_report
from nightly_sessions.core import distfiles as wheels
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, choose_installer
from nightly_sessions.core.errors import ConfigError, NightlyError, describe_os_error
from nightly_sessions.core.redact import redact
from nightly_sessions.core.step_summary import append_step_summary
from nightly_sessions.nightly_tests import probe, report
from nightly_sessions.nightly_tests import run as testrun
from nightly_sessions.nightly_tests.plan import Target, plan_targets
from nightly_sessions.tracking import issue, keepalive
from nightly_sessions.wheels import build

Handler = Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its arguments and what it does."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Handler


class _Parser(argparse.ArgumentParser):
    """argparse in the project's voice: a bad command line is one redacted sentence, exit 2.

    argparse's own message starts in lower case and echoes values as given, tokens too.
    """

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sentence = f"The command line is wrong: {message}; see `{self.prog} --help`."
        print(f"nightly-sessions: {redact(sentence)}", file=sys.stderr)  # noqa: T201
        raise SystemExit(ConfigError.exit_code)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m nightly_sessions",
        description="Test against nightly wheels, build and publish your own (SPEC 4).",
    )
    parser.add_argument("--version", action="version", version=f"nightly-sessions {__version__}")
    parser.add_argument("--project", type=Path, default=Path(), help="project root (default: .)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec in COMMANDS.items():
        sub = commands.add_parser(name, help=spec.help, description=spec.help)
        spec.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.project)
        return COMMANDS[args.command].run(args, settings)
    except NightlyError as exc:
        return _failed(exc, str(exc), exc.exit_code, verbose=args.verbose)
    except OSError as exc:  # a file or program nothing closer explained
        return _failed(exc, describe_os_error(exc), ConfigError.exit_code, verbose=args.verbose)
    except KeyboardInterrupt:
        return 130


def _failed(error: BaseException, sentence: str, code: int, *, verbose: bool) -> int:
    """Print the sentence (and, if asked, the traceback), redacted; return the exit code."""
    if verbose:
        print(redact("".join(traceback.format_exception(error))), file=sys.stderr)  # noqa: T201
    print(f"nightly-sessions: {redact(sentence)}", file=sys.stderr)  # noqa: T201
    return code


# Commands. Each is a pair of small functions and one entry in COMMANDS.


def _environment_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python", type=Path, default=Path(sys.executable),
        help="the interpreter of the environment to use (default: this one)",
    )  # fmt: skip
    parser.add_argument(
        "--installer", choices=("uv", "pip"), default=None,
        help="installer for that environment (default: the 'installer' setting; "
        "'auto' is uv when it can be found, else pip)",
    )  # fmt: skip


def _environment(args: argparse.Namespace, settings: Settings) -> Environment:
    python: Path = args.python
    if not python.is_file() or not os.access(python, os.X_OK):
        problem = "does not exist" if not python.exists() else "is not an executable file"
        raise ConfigError(
            f"--python {python} {problem}; give the interpreter of the environment to use, "
            "e.g. .venv/bin/python."
        )
    name, uv = choose_installer(args.installer or settings.installer)
    return Environment(python, name, uv)


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python-version",
        help="plan for this Python (e.g. 3.12); default: each of the 'python' setting, "
        "else this one",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print the plan as JSON (a list of plans when planning for several Pythons)",
    )  # fmt: skip


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    targets = (
        [Target.for_python(args.python_version)] if args.python_version else plan_targets(settings)
    )
    plans = [testrun.plan_for(settings, target, wider=True) for target in targets]
    if args.json:
        data = [plan.to_dict() for plan in plans]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))  # noqa: T201
    else:
        print("\n\n".join(plan.render() for plan in plans))  # noqa: T201
    return 0


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    _environment_arguments(parser)
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    result = testrun.run_nightly_tests(settings, _environment(args, settings), args.pytest_args)
    if result.message:
        print(f"nightly-sessions: {redact(result.message)}", file=sys.stderr)  # noqa: T201
    return result.exit_code


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    env = _environment(args, settings)
    state = probe.probe(env.python)
    plan = testrun.plan_for(settings, Target.for_python(state.python, state.implementation))
    testrun.require_nightlies(testrun.prove(plan, env, print), settings)
    return 0


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", type=Path, nargs="?", default=None,
        help="folder searched for nightly-report.json files (default: the 'report-dir' setting)",
    )  # fmt: skip
    parser.add_argument(
        "--step-summary", action="store_true", help="also append it to $GITHUB_STEP_SUMMARY"
    )


def _report(args: argparse.Namespace, settings: Settings) -> int:
    folder = args.folder or settings.report_path
    found = artifacts.find_reports(folder)
    if not found:
        raise ConfigError(
            f"No {artifacts.REPORT_NAME} under {folder}; run `nox -s nightly_tests` first."
        )
    runs = [run_report.read_report(path) for path in found]
    markdown = "\n".join(report.render_markdown(data) for data in runs)
    print(markdown)  # noqa: T201
    if args.step_summary:
        append_step_summary(markdown, os.environ, print)
    return 0 if all(data["outcome"] == "passed" for data in runs) else 1


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    _environment_arguments(parser)
    parser.add_argument(
        "--install", action="store_true",
        help=(
            f"first install the pinned build tool into it: {build.TOOLS['build']}, or "
            f"{build.TOOLS['cibuildwheel']} for a compiled project without --native"
        ),
    )  # fmt: skip
    parser.add_argument(
        "--native", action="store_true",
        help="build a plain wheel for this machine instead of running cibuildwheel",
    )  # fmt: skip
    parser.add_argument(
        "--no-isolation", action="store_true", help="build with the backends installed there"
    )
    parser.add_argument(
        "--version-only", action="store_true",
        help="print the nightly version and check it against the releases, without building",
    )  # fmt: skip
    parser.add_argument("tool_args", nargs="*", help="arguments for cibuildwheel (after --)")


def _build(args: argparse.Namespace, settings: Settings) -> int:
    flags = ["--native"] * args.native + ["--no-isolation"] * args.no_isolation
    flags += ["--version-only"] * args.version_only
    options = build.parse_build_args([*flags, *args.tool_args])
    env = _environment(args, settings)
    build.build_nightly(settings, options, env, install=args.install)
    return 0


COMMANDS: dict[str, Command] = {
    "plan": Command("print the nightly install plan", _plan_arguments, _plan),
    "run": Command(
        "install nightlies into an environment, prove them, run pytest", _run_arguments, _run
    ),
    "verify": Command(
        "prove an environment holds the newest nightlies", _environment_arguments, _verify
    ),
    "report": Command("print (and summarise) a run's report", _report_arguments, _report),
    "build": Command("build nightly wheels into the dist folder", _build_arguments, _build),
    "check-dist": Command(
        "check wheels and sdists before they go to the nightly channel",
        wheels.add_arguments,
        wheels.run_command,
    ),
    "issue": Command(
        "open, update or close the tracking issue from the test jobs' reports",
        issue.add_arguments,
        issue.run_command,
    ),
    "keepalive": Command(
        "enable the scheduled workflows again (GitHub disables them after 60 idle days)",
        keepalive.add_arguments,
        keepalive.run_command,
    ),
    "upload": Command(
        "upload the checked wheels to the nightly channel (anaconda-client)",
        upload.add_arguments,
        upload.run_command,
    ),
    "cleanup": Command(
        "delete this package's old nightlies from a channel (dry run unless --yes)",
        cleanup.add_arguments,
        cleanup.run_command,
    ),
    "freshness": Command(
        "fail when this project's newest nightly is about to be deleted from the channel",
        freshness.add_arguments,
        freshness.run_command,
    ),
    "init": Command(
        "copy the template into the project, answering its name and repository from it",
        init.add_arguments,
        init.run_command,
    ),
}
