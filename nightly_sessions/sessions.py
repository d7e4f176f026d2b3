"""The nox sessions: thin glue, one short function per session.

This is the only module that imports nox. Each session turns a `NightlyError` into
`session.error(...)`: one redacted sentence, no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nox

from nightly_sessions import testrun
from nightly_sessions.config import Settings, load_settings
from nightly_sessions.errors import NightlyError
from nightly_sessions.redact import redact

SessionBody = Callable[[nox.Session, Settings], None]


@dataclass(frozen=True)
class SessionSpec:
    """How one session is registered: its body, and whether it needs an environment."""

    body: SessionBody
    description: str
    needs_env: bool = True
    per_python: bool = False


def _nox_runner(session: nox.Session) -> testrun.Runner:
    """Run commands in the session; return their output when asked to capture it."""

    def run(args: list[str], env: dict[str, str] | None, capture: bool) -> str:
        output = session.run(*args, env=env, silent=capture, external=True)
        return output if isinstance(output, str) else ""

    return run


def _installer(session: nox.Session) -> str:
    return "uv" if session.venv_backend == "uv" else "pip"


def nightly_tests(session: nox.Session, settings: Settings) -> None:
    """Install the project, replace dependencies with nightlies, prove it, run pytest."""
    outcome = testrun.nightly_tests(
        settings,
        installer=_installer(session),
        runner=_nox_runner(session),
        pytest_args=list(session.posargs),
        session_name=session.name,
        log=session.log,
    )
    if outcome.error:
        session.error(outcome.error)


def nightly_plan(session: nox.Session, settings: Settings) -> None:
    """Print which packages come from where, and the newest nightly of each."""
    session.log(testrun.plan_text(settings))


SESSIONS: dict[str, SessionSpec] = {
    "nightly_tests": SessionSpec(nightly_tests, "Test against nightly dependencies.", per_python=True),
    "nightly_plan": SessionSpec(nightly_plan, "Show the nightly install plan.", needs_env=False),
}


def _guarded(body: SessionBody, settings: Settings) -> Callable[[nox.Session], None]:
    def run(session: nox.Session) -> None:
        try:
            body(session, settings)
        except NightlyError as exc:
            session.error(redact(str(exc)))

    run.__name__ = body.__name__
    run.__doc__ = body.__doc__
    return run


def _venv_backend(settings: Settings, spec: SessionSpec) -> str:
    if not spec.needs_env:
        return "none"
    return {"uv": "uv", "pip": "virtualenv"}.get(settings.installer, "uv|virtualenv")


def register(**overrides: Any) -> None:
    """Define every nightly session, with settings merged once, up front."""
    try:
        settings = load_settings(Path.cwd(), overrides)
    except NightlyError as exc:
        print(f"nightly-sessions: {redact(str(exc))}", file=sys.stderr)  # noqa: T201
        raise SystemExit(exc.exit_code) from None
    for name, spec in SESSIONS.items():
        python = list(settings.python) or None if spec.per_python and spec.needs_env else None
        nox.session(
            _guarded(spec.body, settings),
            name=name,
            python=python if spec.needs_env else False,
            venv_backend=_venv_backend(settings, spec),
            default=False,
        )
