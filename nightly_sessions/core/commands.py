"""Every command, declared once: its CLI name, its nox session, its summary, its entry.

Both fronts loop over `COMMANDS`: `sessions.py` defines a nox session for each entry with
a session name, `cli.py` a subcommand for each with a CLI name. An entry names where its
`Entry` lives as "module:ATTRIBUTE"; the fronts import it only when the command is parsed
or run, so `nox -l` loads none of them. Domain code names a command by its key (the CLI
name) through `how_to_run`, never by spelling a front's command line.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from nightly_sessions.core.config import Settings
from nightly_sessions.core.environment import Environment
from nightly_sessions.core.log import Log

EnvironmentNeed = Literal["none", "one", "per-python"]


@dataclass(frozen=True)
class Call:
    """One run of a command, as either front hands it over.

    `environment` is the environment the command installs into or runs in: the session's
    own virtualenv under nox, the `--python` one on the command line. `own_environment`
    says the front made it for this call (nox did), so pinned tools may be installed into
    it without asking; on the command line that takes `--install`.
    """

    args: argparse.Namespace
    settings: Settings
    log: Log
    environment: Callable[[], Environment]
    own_environment: bool = False


@dataclass(frozen=True)
class Entry:
    """A command's two halves: the options it adds, and the work, which raises a
    NightlyError (one sentence, an exit code) when it fails."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Call], None]


@dataclass(frozen=True)
class Command:
    """One row of the table.

    `passthrough` names the tool that receives the arguments the command does not know
    (in order), as `args.passthrough`; other commands refuse unknown arguments.
    """

    name: str
    session: str | None
    summary: str
    entry: str
    environment: EnvironmentNeed = "none"
    passthrough: str | None = None


_TESTS = "nightly_sessions.nightly_tests.commands"
_BUILD = "nightly_sessions.wheels.commands"

COMMANDS: tuple[Command, ...] = (
    Command(
        name="plan",
        session="nightly_plan",
        summary="Show the nightly install plan.",
        entry=f"{_TESTS}:PLAN",
    ),
    Command(
        name="run",
        session="nightly_tests",
        summary="Install nightlies into an environment, prove them, run pytest, report.",
        entry=f"{_TESTS}:RUN",
        environment="per-python",
        passthrough="pytest",
    ),
    Command(
        name="verify",
        session=None,
        summary="Prove an environment holds the newest nightlies.",
        entry=f"{_TESTS}:VERIFY",
        environment="one",
    ),
    Command(
        name="report",
        session=None,
        summary="Print (and summarise) a run's report.",
        entry=f"{_TESTS}:REPORT",
    ),
    Command(
        name="pythons",
        session="nightly_pythons",
        summary="Print the Pythons nightly_tests runs on.",
        entry=f"{_TESTS}:PYTHONS",
        passthrough="the runner OS names (runner.os) of the test matrix",
    ),
    Command(
        name="build",
        session="build_nightly",
        summary="Build nightly wheels into the dist folder.",
        entry=f"{_BUILD}:BUILD",
        environment="one",
        passthrough="cibuildwheel",
    ),
    Command(
        name="check-dist",
        session="check_dist",
        summary="Check built files for the channel.",
        entry="nightly_sessions.core.distfiles:CHECK_DIST",
    ),
    Command(
        name="upload",
        session="upload_nightly",
        summary="Upload the checked wheels to the nightly channel.",
        entry="nightly_sessions.channel.upload:UPLOAD",
        environment="one",
    ),
    Command(
        name="published",
        session="nightly_published",
        summary="Install the nightly just published from the channel, prove it, run its tests.",
        entry="nightly_sessions.channel.published:PUBLISHED",
        environment="one",
        passthrough="pytest",
    ),
    Command(
        name="token",
        session="nightly_token",
        summary="Check the upload token: warn before it expires, refuse it without a scope.",
        entry="nightly_sessions.channel.token_check:TOKEN_CHECK",
    ),
    Command(
        name="cleanup",
        session="cleanup_nightly",
        summary="Delete this package's old nightlies (a dry run unless --yes).",
        entry="nightly_sessions.channel.cleanup:CLEANUP",
    ),
    Command(
        name="freshness",
        session="nightly_freshness",
        summary="Warn before the channel deletes the nightlies.",
        entry="nightly_sessions.freshness:FRESHNESS",
    ),
    Command(
        name="issue",
        session="nightly_issue",
        summary="Report the run on the tracking issue.",
        entry="nightly_sessions.tracking.issue:ISSUE",
    ),
    Command(
        name="last-green",
        session="nightly_last_green",
        summary="Fetch the last green run's reports for the test jobs to compare with.",
        entry="nightly_sessions.tracking.last_green:LAST_GREEN",
    ),
    Command(
        name="keepalive",
        session="nightly_keepalive",
        summary="Keep the scheduled workflows enabled.",
        entry="nightly_sessions.tracking.keepalive:KEEPALIVE",
    ),
    Command(
        name="init",
        session=None,
        summary="Copy the template into the project, answering what it can read from it.",
        entry="nightly_sessions.init:INIT",
    ),
)

BY_NAME = {command.name: command for command in COMMANDS}
BY_SESSION = {command.session: command for command in COMMANDS if command.session}


def how_to_run(name: str) -> str:
    """The command line that runs command `name`, for advice in messages: its nox
    session where it has one (the way the workflows run it), else the CLI."""
    command = BY_NAME[name]
    if command.session:
        return f"`nox -s {command.session}`"
    return f"`python -m nightly_sessions {command.name}`"


def load_entry(command: Command) -> Entry:
    """Import the command's module and return its Entry (a front calls this when the
    command is parsed or run, never at import, so listing the commands stays cheap)."""
    module, _, attribute = command.entry.partition(":")
    entry = getattr(importlib.import_module(module), attribute)
    if not isinstance(entry, Entry):
        raise TypeError(f"{command.entry} is not an Entry")
    return entry
