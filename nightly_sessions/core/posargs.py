"""A command's own options, parsed alike by both fronts.

A bad option is one sentence (a ConfigError), never argparse's exit, which under nox
would end nox itself. Abbreviations are off, so an option meant for pytest or
cibuildwheel is never taken for one of ours; a command with a passthrough tool hands it
the arguments it does not know, in their order.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

from nightly_sessions.core.commands import BY_SESSION, Command, load_entry
from nightly_sessions.core.errors import ConfigError

AddArguments = Callable[[argparse.ArgumentParser], None]


class CommandParser(argparse.ArgumentParser):
    """Bad options become a ConfigError naming the command line and where its help is."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"The command line is wrong: {message}; see `{self.prog} --help`.")


def passthrough_epilog(command: Command) -> str | None:
    """The help's last line for a command that passes arguments on."""
    if command.passthrough is None:
        return None
    return f"Arguments it does not know go, in order, to {command.passthrough}."


def finish(
    parser: argparse.ArgumentParser, command: Command, args: argparse.Namespace, rest: list[str]
) -> argparse.Namespace:
    """Hand the unknown arguments to the command's tool, or refuse them."""
    if command.passthrough is None:
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return args
    args.passthrough = rest[1:] if rest[:1] == ["--"] else rest
    return args


def command_parser(prog: str, command: Command, add_arguments: AddArguments) -> CommandParser:
    """The parser of a command's own options (and -h), as a nox session reads them."""
    parser = CommandParser(
        prog=prog, description=command.summary, epilog=passthrough_epilog(command),
        add_help=False, allow_abbrev=False,
    )  # fmt: skip
    add_arguments(parser)
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    return parser


def parse_command_args(
    prog: str,
    command: Command,
    add_arguments: AddArguments,
    argv: Sequence[str],
    log: Callable[[str], None],
) -> argparse.Namespace | None:
    """Parse `argv` with the command's own options; None after printing its help."""
    parser = command_parser(prog, command, add_arguments)
    args, rest = parser.parse_known_args(list(argv))
    if args.help:
        log(parser.format_help())
        return None
    return finish(parser, command, args, rest)


def session_args(
    session: str, argv: Sequence[str], log: Callable[[str], None] = print
) -> argparse.Namespace | None:
    """Parse the arguments given after `nox -s <session> --`; None after its help."""
    command = BY_SESSION[session]
    add_arguments = load_entry(command).add_arguments
    return parse_command_args(f"nox -s {session} --", command, add_arguments, argv, log)
