"""A command's options, parsed alike by the nox front and the CLI."""

from __future__ import annotations

import argparse

import pytest

from nightly_sessions.core.commands import BY_NAME, BY_SESSION, COMMANDS, Command, load_entry
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.posargs import parse_command_args, session_args

PLAIN = Command("demo", "demo_session", "A demo.", "nowhere:DEMO")
PASSING = Command("demo", "demo_session", "A demo.", "nowhere:DEMO", passthrough="pytest")


def add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--native", action="store_true")


def parse(command: Command, argv: list[str], log: list[str] | None = None) -> argparse.Namespace:
    logged = [] if log is None else log
    args = parse_command_args("nox -s demo_session --", command, add, argv, logged.append)
    assert args is not None
    return args


def test_parses_like_the_command() -> None:
    assert parse(PLAIN, ["--days", "7"]).days == 7


def test_bad_option_is_a_sentence_not_an_exit() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^The command line is wrong: unrecognized arguments: --weeks 1; "
        r"see `nox -s demo_session -- --help`\.$",
    ):
        parse(PLAIN, ["--weeks", "1"])


def test_no_abbreviations_so_a_tool_option_is_never_taken_for_ours() -> None:
    with pytest.raises(ConfigError, match="unrecognized arguments: --da 7"):
        parse(PLAIN, ["--da", "7"])
    assert parse(PASSING, ["--nat"]).passthrough == ["--nat"]


def test_passthrough_keeps_unknown_arguments_in_order() -> None:
    args = parse(PASSING, ["-k", "fft and not slow", "--native", "-x", "tests/a.py"])
    assert args.native
    assert args.passthrough == ["-k", "fft and not slow", "-x", "tests/a.py"]
    assert parse(PASSING, ["--", "-h", "--days", "1"]).passthrough == ["-h", "--days", "1"]
    assert parse(PASSING, []).passthrough == []


def test_help_is_logged_and_nothing_runs() -> None:
    logged: list[str] = []
    args = parse_command_args("nox -s demo_session --", PASSING, add, ["--help"], logged.append)
    assert args is None
    assert "--days" in logged[0]
    assert "go, in order, to pytest" in logged[0]


def test_every_entry_loads_and_names_are_unique() -> None:
    assert len(BY_NAME) == len(COMMANDS)
    assert len(BY_SESSION) == len([c for c in COMMANDS if c.session])
    for command in COMMANDS:
        entry = load_entry(command)
        parser = argparse.ArgumentParser(add_help=False)
        entry.add_arguments(parser)  # each command's options build without a clash


def test_session_args_reads_a_session_by_its_name() -> None:
    args = session_args("nightly_keepalive", ["--dry-run", "a.yml"])
    assert args is not None
    assert (args.dry_run, args.workflows) == (True, ["a.yml"])
