from __future__ import annotations

import argparse

import pytest

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.posargs import parse_posargs


def add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=3)


def test_parses_like_the_command() -> None:
    args = parse_posargs("demo_session", add, ["--days", "7"], print)
    assert args is not None
    assert args.days == 7


def test_bad_option_is_a_sentence_not_an_exit() -> None:
    with pytest.raises(
        ConfigError, match=r"nox -s demo_session --: .*--weeks.*see `nox -s demo_session -- --help`"
    ):
        parse_posargs("demo_session", add, ["--weeks", "1"], print)


def test_help_is_logged_and_nothing_runs() -> None:
    logged: list[str] = []
    assert parse_posargs("demo_session", add, ["--help"], logged.append) is None
    assert "--days" in logged[0]
