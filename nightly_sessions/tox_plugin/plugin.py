"""tox's hooks (the only module that imports tox), loaded through the `tox` entry point.

An env opts in with `nightly = true` (or a `nightly` factor in its name); the others are
left alone: their hooks return at once. Settings are the project's own
([tool.nightly-sessions], NIGHTLY_* variables); a failure stops the env with the run's
one sentence and exit code, as `nox -s nightly_tests` ends.

tox loads this module on every run, also for envs that never opt in: the run itself
(`steps` and all it needs) is imported by the first env that does.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tox.config.sets import EnvConfigSet
from tox.execute.api import Outcome
from tox.plugin import impl
from tox.report import HandledError
from tox.tox_env.api import ToxEnv
from tox.tox_env.python.api import Python

from nightly_sessions.tox_plugin import config

if TYPE_CHECKING:
    from nightly_sessions.core.environment import Environment
    from nightly_sessions.nightly_tests.run import RunResult
    from nightly_sessions.tox_plugin.steps import Prepared

LOGGER = logging.getLogger("nightly-sessions")

# `tox -p` runs envs in threads of one process: each env's run is kept by its name.
_PREPARED: dict[str, Prepared] = {}
_LOCK = threading.Lock()


@impl
def tox_add_env_config(env_conf: EnvConfigSet) -> None:
    """Declare `nightly` (a bool) for every env; a `nightly` factor makes it default true."""
    env_conf.add_config(
        keys=[config.KEY],
        of_type=bool,
        default=lambda _conf, _name: config.implied(env_conf.name),
        desc=config.DESCRIPTION,
    )


def _opted_in(tox_env: ToxEnv) -> bool:
    """The env's `nightly` setting; a value that is no boolean stops the env (exit 2)."""
    try:
        return bool(tox_env.conf[config.KEY])
    except HandledError as exc:
        from nightly_sessions.core.errors import ConfigError
        from nightly_sessions.nightly_tests.run import RunResult

        sentence = config.bad_value(tox_env.name, str(exc))
        _stop(RunResult(ConfigError.exit_code, sentence, None))


def environment(tox_env: ToxEnv) -> Environment:
    """The env's Python and the installer its backend uses: uv under tox-uv, else pip."""
    from nightly_sessions.core.environment import Environment
    from nightly_sessions.core.errors import ConfigError

    if not isinstance(tox_env, Python):
        raise ConfigError(
            f"tox env {tox_env.name} is not a Python environment, so it cannot test nightlies; "
            f"remove '{config.KEY} = true' from it."
        )
    python = tox_env.env_python()
    uv: Any = getattr(tox_env, "uv", None)  # tox-uv's UvVenv: the uv it installs with
    if isinstance(uv, str):
        return Environment(Path(python), "uv", uv)
    return Environment(Path(python), "pip")


def _stop(result: RunResult) -> NoReturn:
    """End the env with the run's sentence and exit code (tox reports `FAIL code N`)."""
    from nightly_sessions.core.redact import redact

    LOGGER.error("%s", redact(result.message or "The nightly run failed."))
    raise SystemExit(result.exit_code or 1)


def _say(message: str) -> None:
    LOGGER.warning("%s", message)


@impl
def tox_before_run_commands(tox_env: ToxEnv) -> None:
    """Install and prove the nightlies; strict mode stops the env before its commands."""
    if not _opted_in(tox_env):
        return
    from nightly_sessions.core.config import load_settings
    from nightly_sessions.core.errors import NightlyError
    from nightly_sessions.nightly_tests.run import RunResult
    from nightly_sessions.tox_plugin import steps

    try:
        settings = load_settings(tox_env.core["tox_root"])
        outcome = steps.before(settings, environment(tox_env), tox_env.name, _say)
    except NightlyError as exc:
        _stop(RunResult(exc.exit_code, str(exc), None))
    if isinstance(outcome, RunResult):
        _stop(outcome)
    if outcome.pytest_options is not None:
        values = steps.pytest_environment(tox_env.environment_variables, outcome.pytest_options)
        tox_env.conf["set_env"].export({key: partial(str, value) for key, value in values.items()})
    with _LOCK:
        _PREPARED[tox_env.name] = outcome


@impl
def tox_after_run_commands(tox_env: ToxEnv, exit_code: int, outcomes: list[Outcome]) -> None:
    """Record the commands' end and write the report; a failing run ends with its code."""
    with _LOCK:
        prepared = _PREPARED.pop(tox_env.name, None)
    if prepared is None:  # not opted in, or stopped before the commands
        return
    from nightly_sessions.core.errors import NightlyError
    from nightly_sessions.nightly_tests.run import RunResult
    from nightly_sessions.tox_plugin import steps

    failing = next((o for o in reversed(outcomes) if o.exit_code not in (0, None)), None)
    # (an Outcome is falsy when its command failed: compare with None)
    end = steps.CommandsEnd(
        exit_code,
        tuple(failing.cmd) if failing is not None else (),
        (failing.out + failing.err) if failing is not None else "",
    )
    try:
        result = steps.after(prepared, end, _say)
    except NightlyError as exc:
        result = RunResult(exc.exit_code, str(exc), None)
    if result.exit_code:
        _stop(result)
