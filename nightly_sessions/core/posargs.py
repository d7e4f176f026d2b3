"""Options given to a session after `--`, parsed like a command's: errors are sentences."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

from nightly_sessions.core.errors import ConfigError

AddArguments = Callable[[argparse.ArgumentParser], None]


class SessionArgumentParser(argparse.ArgumentParser):
    """Bad options become a ConfigError (one sentence) instead of an exit from inside nox."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{self.prog}: {message}; see `{self.prog} --help`.")


def parse_posargs(
    session: str, add_arguments: AddArguments, posargs: Sequence[str], log: Callable[[str], None]
) -> argparse.Namespace | None:
    """Parse `nox -s <session> -- ...` with the command's own options; None after `--help`."""
    parser = SessionArgumentParser(prog=f"nox -s {session} --", add_help=False)
    add_arguments(parser)
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    args = parser.parse_args(list(posargs))
    if args.help:
        log(parser.format_help())
        return None
    return args
