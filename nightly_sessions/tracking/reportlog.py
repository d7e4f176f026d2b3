"""Read pytest's `--report-log` (JSON lines) into failures a person can act on.

pytest-reportlog writes one JSON object per line as the run goes, so a crashed run leaves
a log without its `SessionFinish` line and maybe a cut last line; both are told apart
from a finished run rather than treated as unreadable. Every text taken from the log
has its ANSI escape codes removed: it ends up in Markdown, not in a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nightly_sessions.core.errors import ConfigError

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Other control characters, except tab and newline, make Markdown unreadable too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Kind = Literal["failed", "error"]


def strip_ansi(text: str) -> str:
    """`text` without ANSI escape sequences, carriage-return line ends or control characters."""
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def split_parameters(nodeid: str) -> tuple[str, str | None]:
    """`a.py::test_x[1-2]` -> (`a.py::test_x`, `[1-2]`); ids without parameters -> (id, None)."""
    name_start = nodeid.find("::")
    bracket = nodeid.find("[", max(name_start, 0))
    if name_start < 0 or bracket < 0 or not nodeid.endswith("]"):
        return nodeid, None
    return nodeid[:bracket], nodeid[bracket:]


@dataclass(frozen=True)
class Failure:
    """One failing test phase or collection error; `when` is setup, call, teardown or collect."""

    nodeid: str
    kind: Kind
    when: str
    message: str
    traceback: str

    @property
    def base(self) -> str:
        """The test id without its parameters: the key that groups parametrized variants."""
        return split_parameters(self.nodeid)[0]

    @property
    def parameters(self) -> str | None:
        return split_parameters(self.nodeid)[1]

    @property
    def headline(self) -> str:
        """The first non-empty line of the crash message (what pytest's summary shows)."""
        for line in self.message.splitlines():
            if line.strip():
                return line.strip()
        return ""


@dataclass(frozen=True)
class FailureGroup:
    """The failures of one test function: its parametrized variants, or just the test."""

    base: str
    kind: Kind
    when: str
    failures: tuple[Failure, ...]

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(f.parameters for f in self.failures if f.parameters is not None)

    @property
    def headlines(self) -> tuple[str, ...]:
        """The distinct crash headlines, in order of first appearance."""
        return tuple(dict.fromkeys(f.headline for f in self.failures))


@dataclass(frozen=True)
class ReportLog:
    """What one report log says: failures, counts, and whether pytest reached its end."""

    failures: tuple[Failure, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    finished: bool = False
    exit_status: int | None = None
    pytest_version: str | None = None
    last_nodeid: str | None = None
    bad_lines: int = 0

    @property
    def failed(self) -> int:
        return self.counts.get("failed", 0)

    @property
    def errors(self) -> int:
        return self.counts.get("errors", 0)


def read_report_log(path: Path) -> ReportLog:
    """Parse the report log at `path`; ConfigError when the file cannot be read at all."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return parse_report_log(lines)
    except OSError as exc:
        message = f"Cannot read the pytest report log {path} ({exc.strerror or exc})."
        raise ConfigError(message) from None


def parse_report_log(lines: Iterable[str]) -> ReportLog:
    """Parse report-log lines; lines that are not JSON objects are counted, not fatal."""
    failures: list[Failure] = []
    outcomes: dict[str, str] = {}
    finished = False
    exit_status: int | None = None
    version: str | None = None
    last: str | None = None
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if not isinstance(entry, dict):
            bad += 1
            continue
        kind = entry.get("$report_type")
        if kind == "SessionStart":
            version = _text(entry.get("pytest_version")) or None
        elif kind == "SessionFinish":
            finished = True
            status = entry.get("exitstatus")
            exit_status = status if isinstance(status, int) else None
        elif kind == "CollectReport" and entry.get("outcome") == "failed":
            failures.append(_collect_failure(entry))
            outcomes[f"collect::{entry.get('nodeid', '')}"] = "errors"
        elif kind == "TestReport":
            nodeid = _text(entry.get("nodeid"))
            last = nodeid or last
            failure = _test_failure(entry)
            if failure is not None:
                failures.append(failure)
            _count(outcomes, nodeid, entry)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return ReportLog(
        failures=tuple(failures),
        counts=counts,
        finished=finished,
        exit_status=exit_status,
        pytest_version=version,
        last_nodeid=last,
        bad_lines=bad,
    )


def group_failures(failures: Sequence[Failure]) -> list[FailureGroup]:
    """Group parametrized variants of one test (same kind and phase), in order of appearance."""
    groups: dict[tuple[str, str, str], list[Failure]] = {}
    for failure in failures:
        groups.setdefault((failure.base, failure.kind, failure.when), []).append(failure)
    return [
        FailureGroup(base=base, kind=kind, when=when, failures=tuple(members))  # type: ignore[arg-type]
        for (base, kind, when), members in groups.items()
    ]


# How pytest's outcomes add up to its summary line: a failing setup or teardown is an error;
# one test can be both failed (call) and an error (teardown), as pytest counts it.
def _count(outcomes: dict[str, str], nodeid: str, entry: Mapping[str, Any]) -> None:
    when = entry.get("when")
    outcome = entry.get("outcome")
    xfail = "wasxfail" in entry
    if outcome == "failed":
        key = f"{nodeid}::{when}" if when != "call" else nodeid
        outcomes[key] = "failed" if when == "call" else "errors"
    elif outcome == "skipped" and nodeid not in outcomes:
        outcomes[nodeid] = "xfailed" if xfail else "skipped"
    elif outcome == "passed" and when == "call":
        outcomes[nodeid] = "xpassed" if xfail else "passed"


def _test_failure(entry: Mapping[str, Any]) -> Failure | None:
    if entry.get("outcome") != "failed":
        return None
    when = _text(entry.get("when")) or "call"
    message, traceback = _longrepr(entry.get("longrepr"))
    traceback = _with_sections(traceback, entry.get("sections"))
    return Failure(
        nodeid=_text(entry.get("nodeid")),
        kind="failed" if when == "call" else "error",
        when=when,
        message=message,
        traceback=traceback,
    )


def _collect_failure(entry: Mapping[str, Any]) -> Failure:
    message, traceback = _longrepr(entry.get("longrepr"))
    return Failure(
        nodeid=_text(entry.get("nodeid")) or "(session)",
        kind="error",
        when="collect",
        message=message,
        traceback=traceback,
    )


def _longrepr(longrepr: object) -> tuple[str, str]:
    """(crash message, traceback text) from any of the shapes pytest serialises."""
    if isinstance(longrepr, str):
        text = strip_ansi(longrepr)
        return _last_error_line(text), text
    if isinstance(longrepr, list):  # (path, lineno, message), as skips are written
        text = strip_ansi(_text(longrepr[-1] if longrepr else ""))
        return text, text
    if not isinstance(longrepr, dict):
        return "", ""
    crash = longrepr.get("reprcrash")
    message = strip_ansi(_text(crash.get("message"))) if isinstance(crash, dict) else ""
    chain = longrepr.get("chain")
    parts: list[str] = []
    if isinstance(chain, list) and chain:
        for link in chain:
            if not isinstance(link, list) or len(link) != 3:
                continue
            tb, _crash, description = link
            parts.append(_traceback_text(tb))
            if description:
                parts.append(strip_ansi(_text(description)))
    else:
        parts.append(_traceback_text(longrepr.get("reprtraceback")))
    traceback = "\n".join(part for part in parts if part).strip("\n")
    if not message:
        message = _last_error_line(traceback)
    return message, traceback


def _traceback_text(tb: object) -> str:
    if not isinstance(tb, dict):
        return ""
    lines: list[str] = []
    entries = tb.get("reprentries")
    for entry in entries if isinstance(entries, list) else []:
        data = entry.get("data") if isinstance(entry, dict) else None
        if not isinstance(data, dict):
            continue
        if lines:
            lines.append("")
        lines.extend(_text(line) for line in data.get("lines") or [])
        location = data.get("reprfileloc")
        if isinstance(location, dict):
            where = f"{_text(location.get('path'))}:{location.get('lineno')}"
            lines.append(f"{where}: {_text(location.get('message'))}")
    extra = tb.get("extraline")
    if isinstance(extra, str) and extra:
        lines.append(extra)
    return strip_ansi("\n".join(lines))


def _with_sections(traceback: str, sections: object) -> str:
    """Append captured output (stdout, stderr, log) the way pytest shows it under a failure."""
    parts = [traceback] if traceback else []
    for section in sections if isinstance(sections, list) else []:
        if isinstance(section, list) and len(section) == 2:
            title, content = (_text(part) for part in section)
            parts.append(f"{f' {title} ':-^60}\n{strip_ansi(content).rstrip()}")
    return "\n".join(parts)


def _last_error_line(text: str) -> str:
    """The line pytest marks with `E` last, else the last non-empty line."""
    lines = [line for line in text.splitlines() if line.strip()]
    marked = [line[1:].strip() for line in lines if line.startswith("E ")]
    if marked:
        return marked[-1]
    return lines[-1].strip() if lines else ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)
