"""The last-green command: fetch the last green run's reports for the test jobs.

A failing nightly run is compared with the last one that passed: the culprit search puts
back the versions that run installed (`last-green`), and new warnings are those it did not
see. Those reports are artifacts of an earlier workflow run, which only the Actions API
reaches. The generated workflow fetches them once per run, in a job of its own that holds
the read-only token, and hands them to the test jobs as an artifact of the current run,
so the test jobs, which run the project's code, hold no token at all.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nightly_sessions.core.artifacts import REPORT_NAME
from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.log import Log
from nightly_sessions.core.step_summary import notice
from nightly_sessions.tracking.issue import client_for, fetch_last_green, read_context

DEFAULT_FOLDER = "nightly-last-green"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The last-green command's options."""
    parser.add_argument(
        "folder", nargs="?", type=Path, default=Path(DEFAULT_FOLDER),
        help=f"where to put the reports, one folder per job (default: {DEFAULT_FOLDER})",
    )  # fmt: skip
    parser.add_argument("--repository", help="owner/name (default: $GITHUB_REPOSITORY)")
    parser.add_argument(
        "--workflow", help="workflow file whose last green run to fetch "
        "(default: from $GITHUB_WORKFLOW_REF)",
    )  # fmt: skip
    parser.add_argument(
        "--branch", help="branch of that green run (default: from $GITHUB_WORKFLOW_REF)"
    )


def _run_command(call: Call) -> None:
    run(call.args, call.settings, log=call.log)


LAST_GREEN = Entry(add_arguments, _run_command)


def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = print,
) -> int:
    """Fetch the reports of the newest successful run into `args.folder`.

    No green run yet is not an error: the folder is then left as it is, and the tests
    compare with releases instead.
    """
    env = os.environ if environ is None else environ
    context = read_context(args, env)
    if not context.workflow or not context.branch:
        raise ConfigError(
            "No workflow to look in: outside GitHub Actions pass --workflow (the workflow "
            "file name) and --branch."
        )
    client = client_for(context, settings, sleep, permission="actions: read")
    green = fetch_last_green(client, context.workflow, context.branch, log)
    if green.problem or not green.reports:
        log(notice(green.problem or "No reports.", "No last green run to compare with", env))
        return 0
    folder = settings.project_root / args.folder
    replace_folder(folder, green.reports)
    jobs = ", ".join(sorted(path.parent.name for path in folder.glob(f"*/{REPORT_NAME}")))
    log(f"Fetched the reports of the last green run ({green.url}) into {folder}: {jobs}.")
    return 0


def job_folder_name(report: Mapping[str, Any], index: int) -> str:
    """A folder name for a report: its job, made safe for any file system."""
    job = str(report.get("job") or "")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job).strip("._")
    return safe or f"job-{index}"


def replace_folder(folder: Path, reports: Sequence[Mapping[str, Any]]) -> None:
    """Write each report to `folder/<job>/`, replacing the folder only once all are written.

    The earlier contents go only after the new ones are complete, so a failed write
    leaves the last good set in place.
    """
    staging = folder.with_name(folder.name + ".partial")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        used: set[str] = set()
        for index, report in enumerate(reports, 1):
            name = job_folder_name(report, index)
            name = name if name not in used else f"{name}-{index}"
            used.add(name)
            (staging / name).mkdir(parents=True)
            (staging / name / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ConfigError(
            f"Could not write the last green run's reports to {folder}: {exc.strerror or exc}; "
            "check that the folder is writable."
        ) from None
