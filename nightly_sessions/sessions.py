"""The nox sessions: one loop over the command table, no session written by hand.

This is the only module that imports nox. Each command of `core/commands.py` with a
session name becomes a session; its options come after `--` and are parsed as the CLI
parses them. A `NightlyError` ends the session with `session.error(...)`: one redacted
sentence, no traceback.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import nox

# A command's module is imported when its session runs: `nox -l` and `nox -s
# nightly_plan` then load only what they need (measured in bench_plan.py).
from nightly_sessions.core import pythons
from nightly_sessions.core.commands import COMMANDS, Call, Command, load_entry
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, InstallerName
from nightly_sessions.core.errors import NightlyError, describe_os_error
from nightly_sessions.core.posargs import session_args
from nightly_sessions.core.redact import redact


def environment(session: nox.Session) -> Environment:
    """The session's virtual environment and the installer nox chose for it."""
    python = shutil.which("python", path=session.bin) or str(Path(session.bin) / "python")
    uv = nox.virtualenv.UV if session.venv_backend == "uv" else "uv"
    installer: InstallerName = "uv" if session.venv_backend == "uv" else "pip"
    return Environment(Path(python), installer, uv)


def run_command(command: Command, session: nox.Session, settings: Settings) -> None:
    """Parse the session's arguments with the command's options, then run it."""
    assert command.session is not None  # only commands with a session are registered
    args = session_args(command.session, session.posargs, session.log)
    if args is not None:
        made = command.environment != "none"
        call = Call(args, settings, session.log, partial(environment, session), made)
        load_entry(command).run(call)


SessionBody = Callable[[nox.Session], None]


def _fail(session: nox.Session, sentence: str) -> NoReturn:
    """End the session with `sentence`, redacted (nox adds the final full stop)."""
    session.error(redact(sentence).rstrip("."))


def _body(command: Command, settings: Settings, refusal: str | None) -> SessionBody:
    """The session as nox sees it: failures end it with one redacted sentence."""

    def run(session: nox.Session) -> None:
        if refusal is not None:
            _fail(session, refusal)
        try:
            run_command(command, session, settings)
        except NightlyError as exc:
            _fail(session, str(exc))
        except OSError as exc:  # a file or program the session needed: say which
            _fail(session, describe_os_error(exc))

    run.__name__ = command.session or command.name
    run.__doc__ = command.summary  # what `nox -l` shows
    return run


def _refusal(command: Command, settings: Settings, unreadable: str | None) -> str | None:
    """Why the session must refuse to run, if it must: the settings could not be read
    (the noxfile that loads these sessions beside its own keeps working), or none of a
    per-Python session's Pythons exists (nox would skip each and end green, having
    tested nothing)."""
    if unreadable is not None:
        return unreadable
    wanted = settings.python
    if command.environment == "per-python" and wanted and not pythons.any_installed(wanted):
        return pythons.missing_sentence(wanted)
    return None


def _venv_backend(settings: Settings, needs_env: bool) -> str:
    if not needs_env:
        return "none"
    return {"uv": "uv", "pip": "virtualenv"}.get(settings.installer, "uv|virtualenv")


def register(**overrides: Any) -> None:
    """Define every nightly session, with settings merged once, up front."""
    unreadable: str | None = None
    try:
        settings = load_settings(Path.cwd(), overrides)
    except NightlyError as exc:
        unreadable = redact(str(exc))
        print(f"nightly-sessions: {unreadable}", file=sys.stderr)  # noqa: T201
        settings = Settings(project_root=Path.cwd())
    for command in COMMANDS:
        if command.session is None:
            continue
        refusal = _refusal(command, settings, unreadable)
        needs_env = command.environment != "none" and refusal is None
        per_python = command.environment == "per-python"
        python = (list(settings.python) or None) if per_python else None
        define = nox.session(
            name=command.session,
            python=python if needs_env else False,
            venv_backend=_venv_backend(settings, needs_env),
            default=False,
        )
        define(_body(command, settings, refusal))
