"""The nightly tests' commands: plan, run, verify, report and pythons.

Each is an `Entry` of the command table (`core/commands.py`): it reads its options from
the parsed arguments and its environment from the front, and raises on failure. A
command imports the modules only it needs when it runs: the run's (checks, culprit
search, report, warnings) would double the start-up time of `plan` and `pythons`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from nightly_sessions.core import artifacts, pythons, run_report
from nightly_sessions.core.commands import Call, Entry, how_to_run
from nightly_sessions.core.errors import ConfigError, OutcomeError
from nightly_sessions.core.pyproject import read_project
from nightly_sessions.core.step_summary import append_step_summary

RUNNER_OSES = ("Linux", "macOS", "Windows")  # what GitHub's `runner.os` can be


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command whose only input is the settings (and its passthrough arguments)."""


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python-version",
        help="plan for this Python (e.g. 3.12); default: each of the 'python' setting, "
        "else this one",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print the plan as JSON (a list of plans when planning for several Pythons)",
    )  # fmt: skip


def _plan(call: Call) -> None:
    from nightly_sessions.nightly_tests.plan import Target, make_plan, plan_targets

    args, settings = call.args, call.settings
    targets = (
        [Target.for_python(args.python_version)] if args.python_version else plan_targets(settings)
    )
    project = read_project(settings.project_root)
    plans = [make_plan(settings, project, target, wider=True) for target in targets]
    if args.json:
        data = [plan.to_dict() for plan in plans]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))  # noqa: T201
    else:
        print("\n\n".join(plan.render() for plan in plans))  # noqa: T201


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--last-green", metavar="PATH",
        help="a green run's nightly-report.json, or a folder of downloaded report artifacts, "
        "whose versions the culprit search puts back first (default: the 'last-green' setting)",
    )  # fmt: skip
    parser.add_argument(
        "--check", action="append", default=[], metavar="NAME",
        help="run only this check of the 'checks' setting after pytest (repeatable)",
    )  # fmt: skip
    parser.add_argument("--no-checks", action="store_true", help="run none of the 'checks' setting")


def _run(call: Call) -> None:
    from nightly_sessions.nightly_tests.probe import start_probe

    # The probe runs while the next imports load. A bad environment is therefore refused
    # before a bad --check name; both are usage errors with the same exit code.
    env = call.environment()
    interpreter = start_probe(env.python)

    from nightly_sessions.nightly_tests import checks
    from nightly_sessions.nightly_tests import run as testrun

    settings = call.settings
    if call.args.last_green is not None:
        settings = dataclasses.replace(settings, last_green=call.args.last_green)
    picked = checks.select(settings.checks, call.args.check, none=call.args.no_checks)
    settings = dataclasses.replace(settings, checks=picked)
    result = testrun.run_nightly_tests(
        settings, env, call.args.passthrough, log=call.log, interpreter=interpreter
    )
    if result.exit_code:
        raise OutcomeError(result.message or "The nightly test run failed.", result.exit_code)


def _verify(call: Call) -> None:
    from nightly_sessions.nightly_tests import probe
    from nightly_sessions.nightly_tests import run as testrun
    from nightly_sessions.nightly_tests.plan import Target

    env = call.environment()
    state = probe.probe(env.python, distributions=False)
    plan = testrun.plan_for(call.settings, Target.for_python(state.python, state.implementation))
    testrun.require_nightlies(testrun.prove(plan, env, call.log), call.settings)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "folder", type=Path, nargs="?", default=None,
        help=f"folder searched for {artifacts.REPORT_NAME} files (default: the 'report-dir' setting)",
    )  # fmt: skip
    parser.add_argument(
        "--step-summary", action="store_true", help="also append it to $GITHUB_STEP_SUMMARY"
    )


def _report(call: Call) -> None:
    from nightly_sessions.nightly_tests import report

    folder = call.args.folder or call.settings.report_path
    found = artifacts.find_reports(folder)
    if not found:
        raise ConfigError(
            f"No {artifacts.REPORT_NAME} under {folder}; run {how_to_run('run')} first."
        )
    runs = [run_report.read_report(path) for path in found]
    markdown = "\n".join(report.render_markdown(data) for data in runs)
    print(markdown)  # noqa: T201
    if call.args.step_summary:
        append_step_summary(markdown, os.environ, print)
    failed = [data for data in runs if data["outcome"] != "passed"]
    if failed:
        raise OutcomeError(
            f"{len(failed)} of {len(runs)} report(s) under {folder} did not pass; the tables "
            "above say why.",
            1,
        )


def _pythons(call: Call) -> None:
    """Print the Pythons; in Actions, also the test matrix's outputs. The passthrough
    arguments are the runner OS names (runner.os) of that matrix, which name its reports."""
    settings = call.settings
    versions = settings.python or (f"{sys.version_info[0]}.{sys.version_info[1]}",)
    for name in call.args.passthrough:
        if name not in RUNNER_OSES:
            raise ConfigError(
                f"{name!r} is not a runner OS name; give the test matrix's `runner.os` "
                f"values ({', '.join(RUNNER_OSES)})."
            )
    outputs = pythons.matrix_outputs(versions, call.args.passthrough or ["Linux"])
    print(" ".join(versions))  # noqa: T201
    if target := os.environ.get("GITHUB_OUTPUT"):
        pythons.write_outputs(outputs, Path(target))
        call.log(f"Test matrix: {outputs['python']}; report names: {outputs['jobs']}")


PLAN = Entry(_plan_arguments, _plan)
RUN = Entry(_run_arguments, _run)
VERIFY = Entry(_no_arguments, _verify)
REPORT = Entry(_report_arguments, _report)
PYTHONS = Entry(_no_arguments, _pythons)
