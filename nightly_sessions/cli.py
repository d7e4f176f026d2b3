"""`python -m nightly_sessions <command>`: the sessions' work for tox users and bare CI scripts.

One subcommand per row of the command table (`core/commands.py`), with the same options
as its nox session. A command that needs an environment takes it from `--python` (the
interpreter of that environment) here, where nox would make one. Failures print one
redacted sentence and exit with the code in `errors`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import NoReturn

from nightly_sessions import __version__
from nightly_sessions.core.commands import BY_NAME, COMMANDS, Call, Command, load_entry
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, choose_installer
from nightly_sessions.core.errors import ConfigError, NightlyError, describe_os_error
from nightly_sessions.core.posargs import finish, passthrough_epilog
from nightly_sessions.core.redact import redact


class _Parser(argparse.ArgumentParser):
    """argparse in the project's voice: a bad command line is one redacted sentence, exit 2.

    argparse's own message starts in lower case and echoes values as given, tokens too.
    """

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sentence = f"The command line is wrong: {message}; see `{self.prog} --help`."
        print(f"nightly-sessions: {redact(sentence)}", file=sys.stderr)  # noqa: T201
        raise SystemExit(ConfigError.exit_code)


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


def _parser(load: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `load`, only that command's options are read in.

    Each command's options live with its entry, and importing every entry to run one
    command would cost more than some commands take (half a second for all of them).
    """
    parser = _Parser(
        prog="python -m nightly_sessions",
        description="Test against nightly wheels, build and publish your own (SPEC 4).",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"nightly-sessions {__version__}")
    parser.add_argument("--project", type=Path, default=Path(), help="project root (default: .)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name, help=command.summary, description=command.summary,
            epilog=passthrough_epilog(command), allow_abbrev=False,
        )  # fmt: skip
        if load is not None and command.name != load:
            continue
        if command.environment != "none":
            _environment_arguments(sub)
        load_entry(command).add_arguments(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command an argument list runs: its first word that is not a global option."""
    words = iter(argv)
    for word in words:
        if word == "--project":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


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


def _parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Command]:
    given = sys.argv[1:] if argv is None else argv
    parser = _parser(load=_command_named(given) or "")
    args, rest = parser.parse_known_args(given)
    command = BY_NAME[args.command]
    return finish(_subcommand(parser, command.name), command, args, rest), command


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of one command, so that a refusal points at that command's help."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    args, command = _parse(argv)
    try:
        settings = load_settings(args.project)
        call = Call(args, settings, print, partial(_environment, args, settings))
        load_entry(command).run(call)
    except NightlyError as exc:
        return _failed(exc, str(exc), exc.exit_code, verbose=args.verbose)
    except OSError as exc:  # a file or program nothing closer explained
        return _failed(exc, describe_os_error(exc), ConfigError.exit_code, verbose=args.verbose)
    except KeyboardInterrupt:
        return 130
    return 0


def _failed(error: BaseException, sentence: str, code: int, *, verbose: bool) -> int:
    """Print the sentence (and, if asked, the traceback), redacted; return the exit code."""
    if verbose:
        print(redact("".join(traceback.format_exception(error))), file=sys.stderr)  # noqa: T201
    print(f"nightly-sessions: {redact(sentence)}", file=sys.stderr)  # noqa: T201
    return code
