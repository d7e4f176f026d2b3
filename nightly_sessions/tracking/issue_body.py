"""The tests tracking issue's body as Markdown, shortened level by level to fit GitHub's limit.

Pure: job reports in, Markdown out. Text that comes from test runs goes into fenced code
blocks only, so nothing in it pings a person (`@name`), links an issue (`#123`) or breaks
the Markdown around it. The culprit search's verdict comes first, with the drafts for
the upstream trackers; the evidence (failing tests, tracebacks, versions) follows.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nightly_sessions.core.git_url import short_commit
from nightly_sessions.core.markdown import fenced
from nightly_sessions.core.redact import redact
from nightly_sessions.tracking.decisions import (
    DEFAULT_KEY,
    GreenRun,
    RunInfo,
    failure_state,
    marker,
    only_uploads_fail,
    version_changes,
)
from nightly_sessions.tracking.job_reports import JobReport
from nightly_sessions.tracking.reportlog import FailureGroup, strip_ansi

BODY_LIMIT = 65_536
# Room below GitHub's limit for its own counting of line ends and wide characters.
BODY_BUDGET = BODY_LIMIT - 1_536


@dataclass(frozen=True)
class Detail:
    """How much of the failures to show; each level below the first says what it left out."""

    traceback_lines: int | None = None
    line_width: int | None = None
    variants: int | None = None
    groups: int | None = None
    lists: bool = True
    versions: bool = True
    drafts: bool = True  # the upstream drafts, which quote tracebacks
    note: str = ""


LEVELS: tuple[Detail, ...] = (
    Detail(),
    Detail(traceback_lines=30, line_width=300, note="tracebacks were cut to their last 30 lines"),
    Detail(traceback_lines=0, line_width=300, drafts=False, note="tracebacks were left out"),
    Detail(
        traceback_lines=0,
        line_width=200,
        drafts=False,
        variants=5,
        groups=20,
        note="tracebacks were left out and long lists of failing tests were cut",
    ),
    Detail(
        traceback_lines=0,
        line_width=200,
        lists=False,
        drafts=False,
        note="tracebacks and lists of failing tests were left out; only counts are shown",
    ),
    Detail(
        traceback_lines=0,
        line_width=200,
        lists=False,
        drafts=False,
        versions=False,
        note="tracebacks, lists of failing tests and version tables were left out",
    ),
)


def code(text: str) -> str:
    """`text` as an inline code span safe in a table cell (no ping, no link, no pipe)."""
    text = strip_ansi(text).replace("\n", " ").replace("|", "\\|")
    ticks = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def render_body(
    jobs: Sequence[JobReport],
    run: RunInfo,
    *,
    key: str = DEFAULT_KEY,
    green: GreenRun | None = None,
    tests_result: str | None = None,
    limit: int = BODY_BUDGET,
) -> str:
    """The issue body, shortened level by level until it fits `limit` characters."""
    body = ""
    for detail in LEVELS:
        body = redact(
            _body(jobs, run, key=key, green=green, tests_result=tests_result, detail=detail)
        )
        if len(body) <= limit:
            return body
    note = "\n\n_The rest was cut to fit GitHub's size limit; see the run page._\n"
    cut = body[: limit - len(note)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return _close_fence(cut) + note


def _close_fence(text: str) -> str:
    """`text` with a code fence that a cut left open closed again."""
    opened = ""
    for line in text.splitlines():
        ticks = len(line) - len(line.lstrip("`"))
        if not opened and ticks >= 3:
            opened = "`" * ticks
        elif opened and line.strip() and set(line.strip()) == {"`"} and ticks >= len(opened):
            opened = ""
    return f"{text}\n{opened}" if opened else text


def _body(
    jobs: Sequence[JobReport],
    run: RunInfo,
    *,
    key: str,
    green: GreenRun | None,
    tests_result: str | None,
    detail: Detail,
) -> str:
    failing = [job for job in jobs if job.failing and job.kind == "tests"]
    state = failure_state(jobs).to_json(run.run_id)
    parts = [
        marker(key),
        f"<!-- nightly-sessions:state {state} -->",
        _headline(jobs, run, tests_result),
    ]
    if detail.note:
        parts.append(
            f"> [!NOTE]\n> Shortened to fit GitHub's {BODY_LIMIT:,}-character limit: "
            f"{detail.note}. The run page has everything."
        )
    culprit = _culprit_section(failing, detail)
    if culprit:
        parts.append(culprit)
    if jobs:
        parts.append(_jobs_table(jobs))
    else:
        parts.append(
            "No nightly report was found at all: the test jobs never ran, or none of them "
            "uploaded its report folder. The run page shows which step failed."
        )
    if tests_result == "failure" and not failing and jobs:
        parts.append(
            "The test jobs ended with result `failure`, yet every report says the tests "
            "passed: a step after the tests failed. The run page shows which."
        )
    if green is not None:
        parts.append(_changes_section(jobs, green, detail))
    tables: dict[str, str] = {}
    for job in failing:
        parts.append(_job_section(job, detail, tables))
    freshness = [job for job in jobs if job.kind == "freshness"]
    parts.extend(
        _freshness_section(job)
        for job in freshness
        if job.failing or _warnings(job) or _warnings(job, "coverage_warnings")
    )
    return "\n\n".join(parts) + "\n"


def _culprit_section(failing: Sequence[JobReport], detail: Detail) -> str | None:
    """What the culprit search found in the failing jobs, merged; then the upstream drafts."""
    searched = [job for job in failing if job.culprit is not None]
    if not searched:
        return None
    sentences: dict[str, list[str]] = {}
    drafts: dict[str, tuple[str, str]] = {}  # package -> (file, text), the first job's
    for job in searched:
        culprit = job.culprit or {}
        for sentence in culprit.get("verdict") or []:
            sentences.setdefault(str(sentence), []).append(job.job)
        for draft in culprit.get("drafts") or []:
            drafts.setdefault(str(draft["package"]), (str(draft["file"]), str(draft["text"])))
    lines = []
    for sentence, names in sentences.items():
        where = "" if len(failing) == 1 else f" ({', '.join(code(name) for name in names)})"
        lines.append(f"- {sentence}{where}")
    parts = ["### Culprit search", "\n".join(lines)]
    if drafts and detail.drafts:
        parts += [
            f"<details><summary>Draft report for {_plain(package)}'s tracker</summary>\n\n"
            + fenced(text, info="markdown")
            + "\n\n</details>"
            for package, (_, text) in drafts.items()
        ]
    elif drafts:
        files = ", ".join(code(file) for file, _ in drafts.values())
        parts.append(
            f"The drafts for the upstream trackers were left out here: {files} in the "
            "job's report artifact."
        )
    return "\n\n".join(parts)


def _plain(name: str) -> str:
    """A package name with nothing but name characters, for HTML and Markdown alike."""
    return re.sub(r"[^\w.-]", "", name)


def _headline(jobs: Sequence[JobReport], run: RunInfo, tests_result: str | None) -> str:
    failing = sum(job.failing for job in jobs)
    where = ""
    if run.branch:
        where += f" on {code(run.branch)}"
    if run.sha:
        where += f" at {code(run.sha[:12])}"
    if not jobs:
        return f"## Nightly tests failed\n\nThe nightly tests failed in {run.link}{where}."
    if only_uploads_fail(jobs, tests_result):
        return (
            "## Nightly uploads need attention\n\nThe check of this project's nightly uploads "
            f"failed in {run.link}{where}."
        )
    count = f"{failing} of {len(jobs)} job{'s' if len(jobs) != 1 else ''} failed."
    if {job.outcome for job in jobs if job.failing} == {"checks-failed"}:
        return (
            "## Nightly checks failed\n\nThe tests passed, but other checks failed against "
            f"the nightlies in {run.link}{where}: {count}"
        )
    return f"## Nightly tests failed\n\nThe nightly tests failed in {run.link}{where}: {count}"


def _jobs_table(jobs: Sequence[JobReport]) -> str:
    rows = ["| Job | Python | OS | Result |", "| --- | --- | --- | --- |"]
    for job in jobs:
        if job.kind == "freshness":
            rows.append(f"| {code(job.job)} | — | — | {_FRESHNESS.get(job.outcome, 'failed')} |")
            continue
        rows.append(f"| {code(job.job)} | {code(job.python)} | {code(job.os)} | {_result(job)} |")
    return "\n".join(rows)


_FRESHNESS = {
    "fresh": "fresh",
    "stale": "stale: the channel will delete the nightlies",
    "missing": "no nightly on the channel",
    "error": "could not be checked",
    "absent": "report unreadable",
}


def _freshness_section(job: JobReport) -> str:
    """The freshness check: its sentence (what to do) and the dependency warnings."""
    parts = ["### Nightly uploads on the channel"]
    if job.problem is not None:
        parts.append(f"The freshness check left no usable report: {job.problem}.")
    message = job.data.get("message")
    if job.failing and isinstance(message, str) and message:
        parts.append(fenced(message))
    warnings = [text for text in _warnings(job) if text != message]
    if warnings:
        parts.append(
            "Dependencies whose nightlies are not fresh (the tests may have run on old code):\n\n"
            + fenced("\n".join(warnings))
        )
    stopped = _warnings(job, "coverage_warnings")
    if stopped:
        parts.append(
            "Wheel builds that stopped uploading (the newest nightly lacks wheels an older one "
            "has):\n\n" + fenced("\n".join(stopped))
        )
    return "\n\n".join(parts)


def _warnings(job: JobReport, field: str = "warnings") -> list[str]:
    """The freshness report's dependency `warnings`, or its `coverage_warnings`."""
    found = job.data.get(field) if job.kind == "freshness" else None
    return [str(text) for text in found if isinstance(text, str)] if isinstance(found, list) else []


def _result(job: JobReport) -> str:
    outcome = job.outcome
    if outcome == "absent":
        return "tests never ran / report absent"
    if outcome == "not-run":
        return f"tests never ran (stopped at {code(str(job.data.get('stage', '?')))})"
    counts = _counts(job)
    if job.log is not None and not job.log.finished:
        return f"crashed{f' ({counts})' if counts else ''}"
    if outcome == "passed":
        return f"passed{f' ({counts})' if counts else ''}"
    if outcome == "checks-failed":
        names = ", ".join(code(str(check["name"])) for check in job.failed_checks)
        failed = f"check failed: {names}" if names else "failed after the tests"
        return f"tests passed{f' ({counts})' if counts else ''}; {failed}"
    return f"failed{f' ({counts})' if counts else ''}"


def _counts(job: JobReport) -> str:
    numbers: Mapping[str, Any] = job.log.counts if job.log else {}
    pytest_info = job.data.get("pytest")
    if not numbers and isinstance(pytest_info, dict):
        numbers = pytest_info
    words = []
    for name, label in (("failed", "failed"), ("errors", "errors"), ("passed", "passed")):
        value = numbers.get(name)
        if isinstance(value, int) and value:
            words.append(f"{value} {label if value != 1 or name != 'errors' else 'error'}")
    return ", ".join(words)


def _changes_section(jobs: Sequence[JobReport], green: GreenRun, detail: Detail) -> str:
    title = "### Changed since the last green run"
    if green.problem:
        return f"{title}\n\n{green.problem}"
    link = f"[run {green.run_id}]({green.url})" if green.url else "the last green run"
    changes = version_changes(jobs, green.reports)
    if not changes:
        return (
            f"{title}\n\nNo installed version differs from {link}: the change is likely in "
            "this project, or in something the reports do not list."
        )
    rows = [
        f"{title}\n\nCompared with {link}; look here first for the upstream change:\n",
        "| Package | Source | Last green | This run | Jobs |",
        "| --- | --- | --- | --- | --- |",
    ]
    all_jobs = {job.job for job in jobs if job.problem is None}
    shown = changes if detail.versions else changes[:30]
    for change in shown:
        where = "all" if set(change.jobs) == all_jobs else ", ".join(change.jobs)
        rows.append(
            f"| {code(change.package)} | {change.source} | {_version(change.before)} "
            f"| {_version(change.after)} | {code(where)} |"
        )
    if len(shown) < len(changes):
        rows.append(f"\n…and {len(changes) - len(shown)} more.")
    return "\n".join(rows)


def _version(value: object) -> str:
    """A version as code, or a dash where the report has none."""
    return code(str(value)) if value else "—"


def _job_section(job: JobReport, detail: Detail, tables: dict[str, str]) -> str:
    title = f"### {code(job.job)}: Python {code(job.python)} on {code(job.os)}"
    parts = [title]
    if job.outcome == "absent":
        parts.append(
            f"Tests never ran / report absent: {job.problem}. The job failed before writing "
            "its report, or its upload failed; the run page shows which step."
        )
        return "\n\n".join(parts)
    if job.outcome == "not-run":
        parts.extend(_not_run(job, detail))
    elif job.outcome == "checks-failed":
        parts.append(_tests_passed(job, detail))
    else:
        parts.extend(_tests_failed(job, detail))
    parts.extend(_checks(job, detail))
    parts.extend(_reruns(job, detail))
    parts.extend(_versions(job, detail, tables))
    return "\n\n".join(parts)


def _tests_passed(job: JobReport, detail: Detail) -> str:
    """A job whose tests passed but that failed after them: its checks, or the run's
    sentence when nothing else says why (new deprecations, 'fail-on-new-deprecations')."""
    counts = _counts(job)
    passed = f"The tests passed{f' ({counts})' if counts else ''}"
    error = job.data.get("error")
    if job.failed_checks or not isinstance(error, str) or not error:
        return f"{passed}; other checks did not."
    return f"{passed}, but the run failed after them:\n\n" + fenced(
        _clip(error, None, detail.line_width)
    )


def _checks(job: JobReport, detail: Detail) -> list[str]:
    """Each other check that failed (mypy, a docs build), apart from the tests: its
    command, exit code or why it could not run, and its last lines."""
    parts = []
    for check in job.failed_checks:
        command = " ".join(str(part) for part in check.get("command") or [])
        if check.get("outcome") == "failed":
            head = (
                f"**Check {code(str(check['name']))} failed against the nightlies** "
                f"({code(command)}, exit code {check.get('exit_code')})."
            )
        else:
            head = (
                f"**Check {code(str(check['name']))} could not run** ({code(command)}): "
                f"{code(str(check.get('problem') or 'no reason recorded'))}."
            )
        tail = check.get("output_tail")
        if isinstance(tail, str) and tail.strip():
            head += " Its last lines:\n\n" + _fenced_tail(tail, detail)
        parts.append(head)
    return parts


def _reruns(job: JobReport, detail: Detail) -> list[str]:
    """The culprit search's re-runs of the failing tests: the evidence for its verdict."""
    trials = (job.culprit or {}).get("trials") or []
    if not trials or not detail.lists:
        return []
    effort = (job.culprit or {}).get("effort")
    caption = f"{effort}\n\n" if isinstance(effort, str) else ""
    rows = ["| Put back | Tests re-run | Still failing |", "| --- | --- | --- |"]
    for trial in trials:
        put_back = [p for p in trial.get("put_back") or [] if isinstance(p, dict)]
        what = "<br>".join(
            f"{code(str(p.get('name')))} {_version(p.get('version'))}" for p in put_back
        )
        failed = trial.get("failed") or []
        still = (
            f"not run: {code(str(trial['problem']))}"
            if trial.get("problem")
            else (", ".join(code(str(test)) for test in failed[:5]) or "none")
            + (f" …and {len(failed) - 5} more" if len(failed) > 5 else "")
        )
        rows.append(
            f"| {what or 'nothing (as installed)'} | {len(trial.get('tests') or [])} | {still} |"
        )
    return [
        "<details><summary>Culprit search: re-runs</summary>\n\n"
        + caption
        + "\n".join(rows)
        + "\n\n</details>"
    ]


def warning_errors(data: Mapping[str, Any]) -> list[str]:
    """The tests that failed because a warning became an error ('warnings-as-errors'),
    told apart from other failures: a deprecation caught before it breaks anything."""
    section = data.get("warnings")
    errors = section.get("errors") if isinstance(section, Mapping) else None
    if not isinstance(errors, list) or not errors:
        return []
    lines = [
        f"- {code(str(e.get('test')))}: {code(str(e.get('category')))} "
        f"{code(str(e.get('message')))} (from {code(str(e.get('package') or 'unknown'))}"
        f"{', a nightly' if e.get('nightly') else ''})"
        for e in errors[:20]
        if isinstance(e, Mapping)
    ]
    heading = "**Failed because a warning became an error** (`warnings-as-errors`):"
    return ["\n".join([heading, "", *lines])]


def _not_run(job: JobReport, detail: Detail) -> list[str]:
    stage = str(job.data.get("stage", "?"))
    parts = [f"The tests never ran: the {code(stage)} step failed."]
    error = job.data.get("error")
    if isinstance(error, str) and error:
        parts.append(fenced(_clip(error, None, detail.line_width)))
    parts.extend(_tail(job, detail))
    return parts


def _tests_failed(job: JobReport, detail: Detail) -> list[str]:
    parts: list[str] = []
    log = job.log
    if log is None:
        why = job.log_problem or "the report has no pytest section"
        parts.append(f"The tests failed, but {why}; the last lines of pytest's output:")
        parts.extend(_tail(job, detail, heading=False))
        return parts
    counts = _counts(job)
    version = f" (pytest {log.pytest_version})" if log.pytest_version else ""
    parts.append(f"**{counts or 'no test results'}**{version}")
    parts.extend(warning_errors(job.data))
    exit_code = _exit_code(job)
    if not log.finished:
        how = f" ({_describe_exit(exit_code)})" if exit_code is not None else ""
        last = (
            " The last test it reported on (the crash is in it or just after it):\n\n"
            + fenced(log.last_nodeid)
            if log.last_nodeid
            else ""
        )
        parts.append(f"pytest stopped before the end of the session{how}.{last}")
    if log.bad_lines:
        parts.append(
            f"{log.bad_lines} line(s) of the report log were not readable and were skipped."
        )
    groups = job.groups
    if not groups and log.finished:
        parts.append(
            f"pytest exited with code {exit_code}, yet its report log records no failing test."
        )
    elif groups and detail.lists:
        parts.append(_failure_list(groups, detail))
        if detail.traceback_lines != 0:
            parts.append(_tracebacks(groups, detail))
    if not log.finished or not groups:
        parts.extend(_tail(job, detail))
    return parts


def _exit_code(job: JobReport) -> int | None:
    pytest_info = job.data.get("pytest")
    code = pytest_info.get("exit_code") if isinstance(pytest_info, dict) else None
    if isinstance(code, int):
        return code
    return job.log.exit_status if job.log else None


def _describe_exit(code: int) -> str:
    """'killed by SIGSEGV: a crash' for a negative (signal) exit code, else 'exit code N'."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}: a crash"
    return f"exit code {code}"


def _failure_list(groups: Sequence[FailureGroup], detail: Detail) -> str:
    lines: list[str] = []
    shown = groups if detail.groups is None else groups[: detail.groups]
    for group in shown:
        label = "FAILED" if group.kind == "failed" else "ERROR "
        phase = (
            ""
            if group.when == "call"
            else f" ({'collection' if group.when == 'collect' else group.when})"
        )
        variants = group.variants
        headline = (
            _clip(group.headlines[0], None, detail.line_width or 300) if group.headlines else ""
        )
        if len(variants) > 1:
            lines.append(f"{label} {group.base}{phase} ({len(variants)} variants) - {headline}")
            listed = variants if detail.variants is None else variants[: detail.variants]
            more = (
                f", …and {len(variants) - len(listed)} more" if len(listed) < len(variants) else ""
            )
            lines.append(f"       variants: {', '.join(listed)}{more}")
            if len(group.headlines) > 1:
                lines.append(
                    f"       ({len(group.headlines)} different messages; the first is shown)"
                )
        else:
            lines.append(f"{label} {group.failures[0].nodeid}{phase} - {headline}")
    if len(shown) < len(groups):
        lines.append(f"…and {len(groups) - len(shown)} more failing tests")
    return "Failing tests:\n\n" + fenced("\n".join(lines))


def _tracebacks(groups: Sequence[FailureGroup], detail: Detail) -> str:
    blocks: list[str] = []
    for group in groups:
        first = group.failures[0]
        text = first.traceback or first.message
        if not text:
            continue
        others = f" (first of {len(group.failures)} variants)" if len(group.failures) > 1 else ""
        header = f"{f' {first.nodeid}{others} ':_^70}"
        blocks.append(f"{header}\n{_clip(text, detail.traceback_lines, detail.line_width)}")
    if not blocks:
        return ""
    return (
        "<details><summary>Tracebacks</summary>\n\n"
        + fenced("\n\n".join(blocks))
        + "\n\n</details>"
    )


def _tail(job: JobReport, detail: Detail, *, heading: bool = True) -> list[str]:
    tail = job.data.get("output_tail")
    if not isinstance(tail, str) or not tail.strip():
        return [] if heading else ["(no output was recorded)"]
    text = _fenced_tail(tail, detail)
    return [f"The last lines of its output:\n\n{text}" if heading else text]


def _fenced_tail(tail: str, detail: Detail) -> str:
    """A tool's last lines, fenced, fewer as the body must shrink."""
    lines = 10 if not detail.lists else 30 if detail.traceback_lines is not None else None
    return fenced(_clip(strip_ansi(tail), lines, detail.line_width))


def _versions(job: JobReport, detail: Detail, tables: dict[str, str]) -> list[str]:
    packages = job.packages
    if not packages or not detail.versions:
        return []
    rows = [
        "| Package | Source | Installed | Newest nightly | Status |",
        "| --- | --- | --- | --- | --- |",
    ]
    for package in packages:
        status = str(package.get("status", ""))
        if package.get("allowed_missing"):
            status += " (allowed)"
        if package.get("commit"):  # from git: the commit it was built from
            status += f" {code(str(short_commit(package['commit'])))}"
        rows.append(
            f"| {code(str(package['name']))} | {package.get('source', '')} "
            f"| {_version(package.get('installed'))} "
            f"| {_version(package.get('newest_nightly'))} | {status} |"
        )
    table = "\n".join(rows)
    repairs = _repairs(job.data.get("repairs"))
    same_as = tables.get(table + repairs)
    if same_as is not None:
        return [f"Nightly versions: the same as in {code(same_as)}."]
    tables[table + repairs] = job.job
    return [f"<details><summary>Nightly versions</summary>\n\n{table}{repairs}\n\n</details>"]


def _repairs(repairs: object) -> str:
    if not isinstance(repairs, list) or not repairs:
        return ""
    items = [
        f"- {code(str(r.get('name')))} {code(str(r.get('installed')))}, "
        f"required by {code(str(r.get('required_by')))}"
        for r in repairs
        if isinstance(r, dict)
    ]
    return "\n\nInstalled from the base index because a nightly needs them:\n\n" + "\n".join(items)


def _clip(text: str, lines: int | None, width: int | None) -> str:
    """The last `lines` lines of `text`, each cut to `width` characters (None: no limit)."""
    rows = text.splitlines()
    cut = lines is not None and len(rows) > lines
    if lines is not None:
        rows = rows[-lines:] if lines else []
    if width is not None:
        rows = [row if len(row) <= width else row[: width - 1] + "…" for row in rows]
    prefix = ["[…earlier lines cut…]"] if cut else []
    return "\n".join(prefix + rows)
