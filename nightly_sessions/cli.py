"""`python -m nightly_sessions <command>`: the sessions' work for tox users and bare CI scripts.

Each command is one entry in `COMMANDS` (at the bottom): a function that adds its
arguments and one that runs it. Failures print one redacted sentence and exit with the code in `errors`.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nightly_sessions import __version__
from nightly_sessions.config import Settings, load_settings
from nightly_sessions.errors import NightlyError
from nightly_sessions.redact import redact

Handler = Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, its arguments and what it does."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Handler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        if args.verbose:
            traceback.print_exc()
        print(f"nightly-sessions: {redact(str(exc))}", file=sys.stderr)  # noqa: T201
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


# Commands. Each is a pair of small functions and one entry in COMMANDS.


COMMANDS: dict[str, Command] = {}
