"""The nox sessions: thin glue, one short function per session.

This is the only module that imports nox. Each session turns a `NightlyError` into
`session.error(...)`: one redacted sentence, no traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import nox

# The other sessions' modules are imported when their session runs: `nox -l` and
# `nox -s nightly_plan` then load only what planning needs (measured in bench_plan.py).
from nightly_sessions.core import pythons
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, InstallerName
from nightly_sessions.core.errors import NightlyError, describe_os_error
from nightly_sessions.core.posargs import parse_posargs
from nightly_sessions.core.redact import redact
from nightly_sessions.nightly_tests import run as testrun
from nightly_sessions.nightly_tests.plan import plan_targets

SessionBody = Callable[[nox.Session, Settings], None]


@dataclass(frozen=True)
class SessionSpec:
    """How one session is registered: its body, and whether it needs an environment."""

    body: SessionBody
    description: str
    needs_env: bool = True
    per_python: bool = False


def environment(session: nox.Session) -> Environment:
    """The session's virtual environment and the installer nox chose for it."""
    python = shutil.which("python", path=session.bin) or str(Path(session.bin) / "python")
    uv = nox.virtualenv.UV if session.venv_backend == "uv" else "uv"
    installer: InstallerName = "uv" if session.venv_backend == "uv" else "pip"
    return Environment(Path(python), installer, uv)


def nightly_tests(session: nox.Session, settings: Settings) -> None:
    """Install the project with nightly dependencies, prove them, run pytest, report."""
    result = testrun.run_nightly_tests(settings, environment(session), session.posargs)
    if result.exit_code:
        _fail(session, result.message or "The nightly test run failed.")


def nightly_plan(session: nox.Session, settings: Settings) -> None:  # noqa: ARG001
    """Print, for each Python `nightly_tests` runs on, where each nightly package comes from."""
    plans = [testrun.plan_for(settings, target, wider=True) for target in plan_targets(settings)]
    print("\n\n".join(plan.render() for plan in plans))  # noqa: T201


def nightly_pythons(session: nox.Session, settings: Settings) -> None:
    """Print the Pythons nightly_tests runs on; in Actions, also as the matrix's outputs.

    Arguments after -- are the runner OS names (runner.os) of the test matrix, which
    name its jobs' reports.
    """
    versions = settings.python or (f"{sys.version_info[0]}.{sys.version_info[1]}",)
    outputs = pythons.matrix_outputs(versions, session.posargs or ["Linux"])
    print(" ".join(versions))  # noqa: T201
    if target := os.environ.get("GITHUB_OUTPUT"):
        pythons.write_outputs(outputs, Path(target))
        session.log(f"Test matrix: {outputs['python']}; report names: {outputs['jobs']}")


def nightly_issue(session: nox.Session, settings: Settings) -> None:
    """Open, update or close the tracking issue from the test jobs' reports."""
    from nightly_sessions.tracking import issue

    args = issue.parse_session_args(session.posargs, session.log)
    if args is not None:
        issue.run(args, settings, log=session.log)


def nightly_keepalive(session: nox.Session, settings: Settings) -> None:
    """Enable the scheduled workflows again, against GitHub's 60-day inactivity rule."""
    from nightly_sessions.tracking import keepalive

    args = keepalive.parse_session_args(session.posargs, session.log)
    if args is not None:
        keepalive.run(args, settings, log=session.log)


def build_nightly(session: nox.Session, settings: Settings) -> None:
    """Build wheels with a nightly version into the dist folder, checking every file."""
    from nightly_sessions.wheels import build

    if build.wants_help(session.posargs):
        session.log(build.BUILD_HELP)
        return
    options = build.parse_build_args(session.posargs)
    build.build_nightly(settings, options, environment(session), log=session.log)


def check_dist(session: nox.Session, settings: Settings) -> None:
    """Check the wheels and sdists in the dist folder (or those given after --)."""
    from nightly_sessions.core import distfiles as wheels

    args = parse_posargs("check_dist", wheels.add_arguments, session.posargs, session.log)
    if args is not None:
        wheels.run_command(args, settings, session.log)


def _anaconda_client(session: nox.Session, settings: Settings) -> Path:
    """Install anaconda-client into the session from its hashed lock; the Python that runs it."""
    from nightly_sessions.channel import client as anaconda_client

    anaconda_client.install_client(environment(session), settings.base_index_url)
    found = shutil.which("anaconda", path=session.bin) or str(Path(session.bin) / "anaconda")
    return anaconda_client.find_client(found)


def upload_nightly(session: nox.Session, settings: Settings) -> None:
    """Upload the checked wheels in the dist folder to the nightly channel (anaconda-client)."""
    from nightly_sessions.channel import upload

    options = upload.parse_session_args(session.posargs, settings, session.log)
    if options is not None:
        client = partial(_anaconda_client, session, settings)
        upload.upload(options, client=client, environ=os.environ, log=session.log)


def cleanup_nightly(session: nox.Session, settings: Settings) -> None:
    """Delete this package's old nightlies from a channel (a dry run unless -- --yes)."""
    from nightly_sessions.channel import cleanup

    options = cleanup.parse_session_args(session.posargs, settings, session.log)
    if options is not None:
        cleanup.cleanup(options, environ=os.environ, log=session.log)


def nightly_freshness(session: nox.Session, settings: Settings) -> None:
    """Fail when this project's newest nightly is about to be deleted from the channel."""
    from nightly_sessions import freshness

    options = freshness.parse_session_args(session.posargs, settings, session.log)
    if options is not None:
        result = freshness.run(settings, options, log=session.log)
        if result.exit_code:
            _fail(session, result.message or "The freshness check failed.")


SESSIONS: dict[str, SessionSpec] = {
    "nightly_tests": SessionSpec(
        nightly_tests, "Test against nightly dependencies.", per_python=True
    ),
    "nightly_plan": SessionSpec(nightly_plan, "Show the nightly install plan.", needs_env=False),
    "nightly_pythons": SessionSpec(
        nightly_pythons, "Print the Pythons nightly_tests runs on.", needs_env=False
    ),
    "build_nightly": SessionSpec(build_nightly, "Build nightly wheels into the dist folder."),
    "check_dist": SessionSpec(check_dist, "Check built files for the channel.", needs_env=False),
    "nightly_issue": SessionSpec(
        nightly_issue, "Report the run on the tracking issue.", needs_env=False
    ),
    "nightly_keepalive": SessionSpec(
        nightly_keepalive, "Keep the scheduled workflows enabled.", needs_env=False
    ),
    "upload_nightly": SessionSpec(upload_nightly, "Upload the wheels to the nightly channel."),
    "cleanup_nightly": SessionSpec(
        cleanup_nightly, "Delete old nightlies of this package.", needs_env=False
    ),
    "nightly_freshness": SessionSpec(
        nightly_freshness, "Warn before the channel deletes the nightlies.", needs_env=False
    ),
}


def _fail(session: nox.Session, sentence: str) -> None:
    """End the session with `sentence`, redacted (nox adds the final full stop)."""
    session.error(redact(sentence).rstrip("."))


def _guarded(spec: SessionSpec, settings: Settings) -> Callable[[nox.Session], None]:
    """The session as nox sees it: failures end it with one redacted sentence."""

    def run(session: nox.Session) -> None:
        try:
            spec.body(session, settings)
        except NightlyError as exc:
            _fail(session, str(exc))
        except OSError as exc:  # a file or program the session needed: say which
            _fail(session, describe_os_error(exc))

    run.__name__ = spec.body.__name__
    run.__doc__ = spec.description  # what `nox -l` shows
    return run


def _venv_backend(settings: Settings, spec: SessionSpec) -> str:
    if not spec.needs_env:
        return "none"
    return {"uv": "uv", "pip": "virtualenv"}.get(settings.installer, "uv|virtualenv")


def _refusing(spec: SessionSpec, sentence: str) -> SessionSpec:
    """`spec`'s session, failing with `sentence` when run (and needing no environment)."""

    def refuse(session: nox.Session, settings: Settings) -> None:  # noqa: ARG001
        _fail(session, sentence)

    refuse.__name__ = spec.body.__name__
    return SessionSpec(refuse, spec.description, needs_env=False)


def _spec_for(spec: SessionSpec, settings: Settings, refusal: str | None) -> SessionSpec:
    """The session to define: refusing when the settings could not be read (the noxfile
    that loads these sessions beside its own keeps working), or when none of a per-Python
    session's Pythons exists (nox would skip each and end green, having tested nothing).
    """
    if refusal is not None:
        return _refusing(spec, refusal)
    if spec.per_python and settings.python and not pythons.any_installed(settings.python):
        return _refusing(spec, pythons.missing_sentence(settings.python))
    return spec


def register(**overrides: Any) -> None:
    """Define every nightly session, with settings merged once, up front."""
    refusal: str | None = None
    try:
        settings = load_settings(Path.cwd(), overrides)
    except NightlyError as exc:
        refusal = redact(str(exc))
        print(f"nightly-sessions: {refusal}", file=sys.stderr)  # noqa: T201
        settings = Settings(project_root=Path.cwd())
    for name, declared in SESSIONS.items():
        spec = _spec_for(declared, settings, refusal)
        python = list(settings.python) or None if spec.per_python and spec.needs_env else None
        define = nox.session(
            name=name,
            python=python if spec.needs_env else False,
            venv_backend=_venv_backend(settings, spec),
            default=False,
        )
        define(_guarded(spec, settings))
