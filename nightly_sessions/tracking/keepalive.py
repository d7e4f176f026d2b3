"""The keepalive command: keep the scheduled workflows from being switched off.

GitHub disables the scheduled workflows of a public repository after 60 days without
activity in it, and a project whose code changes little then silently stops testing
against nightlies and uploading its own (numpy#28086). Enabling a workflow through the
API (`PUT /repos/{owner}/{repo}/actions/workflows/{file}/enable`) restarts that count
without a commit, so each scheduled run enables the nightly workflows again. The job
that does it needs `permissions: actions: write`, and nothing else in the workflow does.

The state is read first (`GET .../workflows/{file}`): only an active workflow or one
GitHub disabled for inactivity is enabled. One a maintainer disabled by hand (e.g. after
a leaked token) stays disabled, with a notice; switching it back on would undo them.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Mapping, Sequence

from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.log import Log
from nightly_sessions.core.step_summary import notice
from nightly_sessions.tracking.github import (
    TOKEN_VARIABLES,
    GitHub,
    api_url_from,
    repository_from,
    token_from,
)

DEFAULT_WORKFLOWS = ("nightly-tests.yml", "nightly-wheels.yml")
# The states in which enabling is what keepalive is for; any other is left as it is.
ENABLE_STATES = ("active", "disabled_inactivity")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The keepalive command's options."""
    parser.add_argument(
        "workflows", nargs="*", metavar="WORKFLOW",
        help="workflow file names in .github/workflows to enable "
        f"(default: {' '.join(DEFAULT_WORKFLOWS)})",
    )  # fmt: skip
    parser.add_argument("--repository", help="owner/name (default: $GITHUB_REPOSITORY)")
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be enabled; call nothing"
    )


def _run_command(call: Call) -> None:
    run(call.args, call.settings, log=call.log)


KEEPALIVE = Entry(add_arguments, _run_command)


def workflow_names(given: Sequence[str]) -> list[str]:
    """The workflow files to enable: names as in .github/workflows, each once."""
    names = list(dict.fromkeys(given or DEFAULT_WORKFLOWS))
    for name in names:
        if "/" in name or "\\" in name or not name.endswith((".yml", ".yaml")):
            raise ConfigError(
                f"{name!r} is not a workflow file name: give the name of a file in "
                ".github/workflows, e.g. nightly-wheels.yml."
            )
    return names


def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = print,
) -> int:
    """Enable each workflow; try them all, then fail with the first error if any failed."""
    env = os.environ if environ is None else environ
    names = workflow_names(args.workflows)
    token = token_from(env)
    repository = repository_from(args.repository, env)
    api_url = api_url_from(env)
    where = repository or "this repository"
    if args.dry_run:
        log(f"Would enable {', '.join(names)} in {where} (a dry run calls nothing).")
        return 0
    if token is None:
        raise ConfigError(
            f"No GitHub token: set {' or '.join(TOKEN_VARIABLES)} (in a workflow: "
            "`env: GITHUB_TOKEN: ${{ github.token }}` with `permissions: actions: write`)."
        )
    if repository is None:
        raise ConfigError("No repository: set GITHUB_REPOSITORY or pass --repository owner/name.")
    client = GitHub(
        api_url=api_url, repository=repository, token=token,
        timeout=settings.timeout, retries=settings.retries, sleep=sleep,
    )  # fmt: skip
    errors: list[str] = []
    for name in names:
        try:
            state = client.workflow_state(name)
            if state not in ENABLE_STATES:
                log(notice(left_alone(name, repository, state), "Workflow not enabled", env))
                continue
            client.enable_workflow(name)
        except NetworkError as exc:
            errors.append(str(exc))
            continue
        log(f"Enabled {name} in {repository} (this keeps GitHub from disabling its schedule).")
    if errors:
        others = f" ({len(errors) - 1} more workflow(s) failed too.)" if len(errors) > 1 else ""
        raise NetworkError(errors[0] + others)
    return 0


def left_alone(name: str, repository: str, state: str) -> str:
    """Why a workflow was not enabled, and what a maintainer does about it."""
    if state == "disabled_manually":
        return (
            f"Left {name} in {repository} disabled: a maintainer disabled it (state {state}); "
            "enable it on the Actions tab when it should run again."
        )
    return (
        f"Left {name} in {repository} as it is: its state is {state}, and only an active "
        "workflow or one disabled for inactivity is enabled."
    )
