"""The run's report: nightly-report.json, nightly-report.md and the step summary.

The JSON is what the tracking-issue reporter reads (schema 3, documented in docs/report.md);
the Markdown is for people; both are written even when the tests never ran. When the
culprit search drafted reports for upstream trackers, each is a file beside them too.
"""

from __future__ import annotations

import json
import os
import platform
import sysconfig
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from nightly_sessions.core.artifacts import REPORT_LOG_NAME, REPORT_MARKDOWN_NAME, REPORT_NAME
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.git_url import short_commit
from nightly_sessions.core.markdown import fenced, plain_table
from nightly_sessions.core.redact import redact
from nightly_sessions.core.report_log import log_entries
from nightly_sessions.core.run_report import SCHEMA
from nightly_sessions.core.step_summary import append_step_summary
from nightly_sessions.core.tables import text_table
from nightly_sessions.nightly_tests import deprecations
from nightly_sessions.nightly_tests.checks import CheckResult
from nightly_sessions.nightly_tests.culprit import Finding
from nightly_sessions.nightly_tests.upstream import Draft
from nightly_sessions.nightly_tests.verify import MEANING, VersionReport, table_rows

# checks-failed: the tests passed, another check (checks.py) failed or could not run.
Outcome = Literal["passed", "tests-failed", "checks-failed", "not-run"]
Stage = Literal["plan", "install", "verify", "tests"]


@dataclass(frozen=True)
class TestCounts:
    """Totals read from pytest's report log."""

    exit_code: int | None
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0

    def to_dict(self, report_log: str) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "report_log": report_log,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
        }


def count_tests(report_log: Path, exit_code: int | None = None) -> TestCounts:
    """Count outcomes in a pytest-reportlog file; an absent file counts nothing.

    `exit_code`, when known from the process, wins over the log's own (a crashed run
    writes no SessionFinish).
    """
    try:
        text = report_log.read_text(encoding="utf-8", errors="replace")
    except OSError:  # absent (pytest never started) or unreadable: nothing to count
        return TestCounts(exit_code=exit_code)
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    logged_exit = None
    for entry in log_entries(text.splitlines()):
        kind = entry.get("$report_type")
        if kind == "SessionFinish":
            logged_exit = entry.get("exitstatus")
        elif kind == "CollectReport" and entry.get("outcome") == "failed":
            counts["errors"] += 1
        elif kind == "TestReport":
            _count_test(entry, counts)
    return TestCounts(exit_code=exit_code if exit_code is not None else logged_exit, **counts)


def _count_test(entry: Mapping[str, Any], counts: dict[str, int]) -> None:
    when, outcome = entry.get("when"), entry.get("outcome")
    if outcome == "skipped" and when in {"setup", "call"}:
        counts["skipped"] += 1
    elif outcome == "failed":
        counts["failed" if when == "call" else "errors"] += 1
    elif outcome == "passed" and when == "call":
        counts["passed"] += 1


@dataclass
class RunReport:
    """Everything a run learned, filled in stage by stage."""

    project: str | None
    job: str
    python: str
    nightly_index: str
    base_index: str
    stage: Stage = "plan"
    outcome: Outcome = "not-run"
    error: str | None = None
    output_tail: str | None = None
    versions: VersionReport | None = None
    planned: Sequence[Mapping[str, Any]] = ()
    repairs: list[dict[str, Any]] = field(default_factory=list)
    dependency_check: dict[str, Any] | None = None
    tests: TestCounts | None = None
    culprit: Finding | None = None
    drafts: list[Draft] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    warnings: dict[str, Any] | None = None  # deprecations.summarise, once pytest ran
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema 3); every URL and text redacted."""
        packages = (
            [package.to_dict() for package in self.versions.packages]
            if self.versions
            else list(self.planned)
        )
        return {
            "schema": SCHEMA,
            "project": self.project,
            "job": self.job,
            "python": self.python,
            "os": platform.system(),
            "platform": sysconfig.get_platform(),
            "created": self.created,
            "nightly_index": redact(self.nightly_index),
            "base_index": redact(self.base_index),
            "outcome": self.outcome,
            "stage": self.stage,
            "error": redact(self.error) if self.error else None,
            "output_tail": redact(self.output_tail) if self.output_tail else None,
            "packages": packages,
            "repairs": self.repairs,
            "dependency_check": (
                {**self.dependency_check, "output": redact(str(self.dependency_check["output"]))}
                if self.dependency_check
                else None
            ),
            "pytest": self.tests.to_dict(REPORT_LOG_NAME) if self.tests else None,
            "culprit": _redacted(
                {**self.culprit.to_dict(), "drafts": [d.to_dict() for d in self.drafts]}
            )
            if self.culprit
            else None,
            "checks": [check.to_dict() for check in self.checks],
            "warnings": _redacted(self.warnings) if self.warnings else None,
        }


def _redacted(value: Any) -> Any:
    """`value` with every text in it redacted, tables and lists followed."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def version_table(versions: VersionReport) -> str:
    """The version table for the terminal."""
    rows = [("package", "installed", "newest nightly", "status"), *table_rows(versions.packages)]
    return "\n".join(text_table(rows))


def _markdown_table(rows: Iterable[Sequence[str]]) -> list[str]:
    rows = list(rows)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += [
        "| " + " | ".join(f"`{cell}`" if cell not in {"-"} else cell for cell in row) + " |"
        for row in rows[1:]
    ]
    return lines


def render_markdown(data: Mapping[str, Any]) -> str:
    """The report as Markdown, from its JSON form."""
    verdict = {
        "passed": "passed",
        "tests-failed": "tests failed",
        "checks-failed": "tests passed, checks failed",
        "not-run": "tests did not run",
    }
    lines = [
        f"## Nightly tests: {data.get('project') or 'project'}, {data['job']}: {verdict[data['outcome']]}",
        "",
        f"Python {data['python']} on {data['platform']}; nightlies from `{data['nightly_index']}`.",
        "",
    ]
    lines += culprit_markdown(data.get("culprit"))
    if data["packages"]:
        rows = [("package", "installed", "newest nightly", "status")]
        rows += [
            (
                p["name"],
                p.get("installed") or "-",
                p.get("newest_nightly") or "-",
                _status_cell(p),
            )
            for p in data["packages"]
        ]
        lines += _markdown_table(rows)
        lines.append("")
        lines.append(
            "Status: " + "; ".join(f"`{key}`: {value}" for key, value in MEANING.items()) + "."
        )
    else:
        lines.append("No nightly package was planned.")
    lines += _repairs_markdown(data.get("repairs") or [])
    lines += _dependency_check_markdown(data.get("dependency_check"))
    lines += _tests_markdown(data)
    lines += deprecations.markdown(data.get("warnings"))
    lines += checks_markdown(data.get("checks") or [])
    return "\n".join(lines) + "\n"


def _status_cell(package: Mapping[str, Any]) -> str:
    """The status (the source before the proof ran), a git package's short commit after it."""
    status = str(package.get("status", package.get("source", "-")))
    commit = short_commit(package.get("commit"))
    return f"{status} {commit}" if commit else status


_CHECK_RESULT = {"passed": "passed", "failed": "failed", "not-run": "did not run"}


def checks_markdown(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The other checks: a table, then each failing one's reason and last lines."""
    if not checks:
        return []
    rows = [("check", "command", "result", "seconds")]
    for check in checks:
        result = _CHECK_RESULT.get(str(check["outcome"]), str(check["outcome"]))
        if check.get("exit_code") not in (None, 0):
            result += f" (exit code {check['exit_code']})"
        command = " ".join(str(part) for part in check.get("command") or [])
        rows.append((str(check["name"]), f"`{command}`", result, str(check.get("seconds", ""))))
    lines = ["", "### Other checks", "", *_plain_table(rows), ""]
    for check in checks:
        if check["outcome"] == "passed":
            continue
        if check.get("problem"):
            lines += [f"`{check['name']}` did not run: {check['problem']}.", ""]
        if check.get("output_tail"):
            lines += [
                f"<details><summary>Last lines of {check['name']}</summary>",
                "",
                fenced(str(check["output_tail"]).rstrip(), info=""),
                "",
                "</details>",
                "",
            ]
    return lines


def culprit_markdown(culprit: Mapping[str, Any] | None) -> list[str]:
    """The culprit search first (its verdict and drafts), then its re-runs as evidence."""
    if not culprit:
        return []
    lines = ["### Culprit search", ""]
    lines += [f"- {sentence}" for sentence in culprit.get("verdict") or []]
    lines.append("")
    if culprit.get("effort"):
        lines += [str(culprit["effort"]), ""]
    for draft in culprit.get("drafts") or []:
        lines += [
            (
                f"<details><summary>Draft report for {draft['package']}'s tracker "
                f"(<code>{draft['file']}</code>)</summary>"
            ),
            "",
            fenced(str(draft["text"]), info="markdown"),
            "",
            "</details>",
            "",
        ]
    trials = culprit.get("trials") or []
    if trials:
        rows = [("put back", "tests re-run", "still failing", "seconds")]
        rows += [_trial_row(trial) for trial in trials]
        lines += ["<details><summary>Re-runs of the failing tests</summary>", ""]
        lines += [*_plain_table(rows), "", "</details>", ""]
    return lines


def _trial_row(trial: Mapping[str, Any]) -> tuple[str, str, str, str]:
    put_back = (
        ", ".join(f"{p['name']} {p['version']}" for p in trial.get("put_back") or [])
        or "nothing (as installed)"
    )
    failed = (
        f"not run: {trial['problem']}"
        if trial.get("problem")
        else str(len(trial.get("failed") or []))
    )
    return (put_back, str(len(trial.get("tests") or [])), failed, str(trial.get("seconds", "")))


_plain_table = plain_table


def _repairs_markdown(repairs: Sequence[Mapping[str, Any]]) -> list[str]:
    if not repairs:
        return []
    lines = [
        "",
        "Installed from the base index because a nightly needs them (the channel lacks them):",
        "",
    ]
    lines += [
        f"- `{r.get('requirement')}` (needed by `{r.get('required_by')}`): `{r.get('installed')}`"
        for r in repairs
    ]
    return lines


def _dependency_check_markdown(check: Mapping[str, Any] | None) -> list[str]:
    """A section for a failed dependency check; it warns, it does not fail the run."""
    if not check or check.get("ok", True):
        return []
    command = check.get("command") or "pip check"
    output = str(check.get("output") or "(no output)").rstrip()
    sentence = (
        f"`{command}` found conflicts. The run went on: nightlies often exceed another "
        "package's upper cap, and the tests show whether that matters."
    )
    return ["", "### Dependency check", "", sentence, "", fenced(output, info="")]


def _tests_markdown(data: Mapping[str, Any]) -> list[str]:
    lines = [""]
    if data.get("error"):
        lines += [f"**Stopped at the {data['stage']} step:** {data['error']}", ""]
    if data.get("output_tail"):
        lines += [
            "<details><summary>Last lines of output</summary>",
            "",
            "```",
            data["output_tail"].rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    tests = data.get("pytest")
    if tests:
        lines.append(
            f"pytest exit code {tests['exit_code']}: {tests['passed']} passed, {tests['failed']} failed, "
            f"{tests['errors']} errors, {tests['skipped']} skipped (report log: `{tests['report_log']}`)."
        )
    return lines


def write_report(
    report: RunReport,
    folder: Path,
    environ: Mapping[str, str] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Write JSON and Markdown into `folder`; append the Markdown to $GITHUB_STEP_SUMMARY if set."""
    environ = os.environ if environ is None else environ
    data = report.to_dict()
    markdown = render_markdown(data)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REPORT_NAME).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        (folder / REPORT_MARKDOWN_NAME).write_text(markdown, encoding="utf-8")
        for draft in data["culprit"]["drafts"] if data["culprit"] else []:
            (folder / draft["file"]).write_text(draft["text"], encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the report into {folder}: {exc.strerror}; check 'report-dir'."
        ) from None
    append_step_summary(markdown + "\n", environ, log)
    return folder / REPORT_NAME
