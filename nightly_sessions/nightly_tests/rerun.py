"""The failing tests of a run, read from pytest's report log, and re-running only them.

The culprit search re-runs the failing node ids of the run's `pytest-log.jsonl` with the
run's own pytest options, leaving out the test paths (the node ids say what to run) and
the options that would stop early or pick other tests. A test counts as passing only
when its re-run reports it passing: one that was not reached or was skipped still fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nightly_sessions.core.report_log import log_entries

# Options that would stop a re-run early or choose other tests than the node ids.
_DROPPED = frozenset(
    {
        "-x", "--exitfirst", "--sw", "--stepwise", "--sw-skip", "--stepwise-skip",
        "--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first",
    }
)  # fmt: skip
_DROPPED_WITH_VALUE = frozenset({"--maxfail", "--deselect", "-k", "--report-log"})
# pytest options whose value is a separate argument and may name a path to keep.
_PATH_VALUED = frozenset(
    {
        "--rootdir", "-c", "--config-file", "--confcutdir", "--basetemp", "--ignore",
        "--ignore-glob", "--junitxml", "--junit-xml", "--cov", "--cov-config", "-p",
        "--import-mode", "-o", "--override-ini", "-m", "--log-file", "--durations",
    }
)  # fmt: skip
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
EXCERPT_LINES = 40
EXCERPT_WIDTH = 200


@dataclass(frozen=True)
class FailingTest:
    """A test that failed (in any phase) or a file that failed to collect, with an excerpt."""

    nodeid: str
    when: str  # setup, call, teardown or collect
    message: str  # the crash message (pytest's `E` line)
    excerpt: str  # the failing traceback entry: what an upstream report quotes


@dataclass(frozen=True)
class LogSummary:
    """What a report log says about its tests: the failing ones and those that passed."""

    failing: tuple[FailingTest, ...]
    passed: frozenset[str]
    finished: bool


def read_log(path: Path) -> LogSummary:
    """Read a pytest-reportlog file; an absent or unreadable one holds nothing."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            return parse_log(lines)
    except OSError:
        return LogSummary((), frozenset(), finished=False)


def parse_log(lines: Iterable[str]) -> LogSummary:
    """The failing tests in order of first failure, the passing ones, and whether it ended."""
    failing: dict[str, FailingTest] = {}
    phases_passed: dict[str, set[str]] = {}
    finished = False
    for entry in log_entries(lines):
        kind = entry.get("$report_type")
        if kind == "SessionFinish":
            finished = True
        elif kind in ("TestReport", "CollectReport") and entry.get("outcome") == "failed":
            nodeid = str(entry.get("nodeid") or "")
            if nodeid and nodeid not in failing:
                when = str(entry.get("when") or "collect")
                failing[nodeid] = FailingTest(nodeid, when, *_excerpt(entry.get("longrepr")))
        elif kind == "TestReport" and entry.get("outcome") == "passed":
            phases_passed.setdefault(str(entry.get("nodeid")), set()).add(str(entry.get("when")))
    passed = frozenset(
        nodeid
        for nodeid, phases in phases_passed.items()
        if "call" in phases and nodeid not in failing
    )
    return LogSummary(tuple(failing.values()), passed, finished)


def _excerpt(longrepr: object) -> tuple[str, str]:
    """(crash message, the last traceback entry) from any of pytest's serialised shapes."""
    if isinstance(longrepr, str):
        lines = _clean(longrepr).splitlines()
        marked = [line[1:].strip() for line in lines if line.startswith("E ")]
        return (marked[-1] if marked else ""), _cut(lines[-EXCERPT_LINES:])
    if isinstance(longrepr, list):  # (path, lineno, message)
        text = _clean(str(longrepr[-1])) if longrepr else ""
        return text, text
    if not isinstance(longrepr, Mapping):
        return "", ""
    crash = longrepr.get("reprcrash")
    message = _clean(str(crash.get("message") or "")) if isinstance(crash, Mapping) else ""
    traceback = longrepr.get("reprtraceback")
    chain = longrepr.get("chain")
    if isinstance(chain, list) and chain and isinstance(chain[-1], list) and chain[-1]:
        traceback = chain[-1][0]  # the exception pytest reports last
    entries = traceback.get("reprentries") if isinstance(traceback, Mapping) else None
    last = entries[-1] if isinstance(entries, list) and entries else None
    data = last.get("data") if isinstance(last, Mapping) else None
    if not isinstance(data, Mapping):
        return message, message
    lines = [_clean(str(line)) for line in data.get("lines") or []]
    location = data.get("reprfileloc")
    if isinstance(location, Mapping):
        where = f"{location.get('path')}:{location.get('lineno')}"
        lines.append(f"{where}: {_clean(str(location.get('message') or ''))}")
    return message.splitlines()[0] if message else "", _cut(lines[-EXCERPT_LINES:])


def _clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n")


def _cut(lines: Sequence[str]) -> str:
    return "\n".join(
        line if len(line) <= EXCERPT_WIDTH else line[: EXCERPT_WIDTH - 1] + "…" for line in lines
    ).strip("\n")


def rerun_options(args: Sequence[str], root: Path) -> list[str]:
    """`args` without test paths and without the options that stop early or pick tests."""
    kept: list[str] = []
    skip_value = False
    for position, arg in enumerate(args):
        if skip_value:
            skip_value = False
            continue
        name = arg.split("=", 1)[0]
        if arg in _DROPPED or name in _DROPPED_WITH_VALUE:
            skip_value = name == arg and name in _DROPPED_WITH_VALUE
            continue
        if name.startswith("--maxfail"):
            continue
        previous = args[position - 1] if position else ""
        if not arg.startswith("-") and previous not in _PATH_VALUED and _names_a_test(arg, root):
            continue
        kept.append(arg)
    return kept


def _names_a_test(arg: str, root: Path) -> bool:
    """Whether `arg` is a test path or node id (`tests/`, `tests/test_x.py::test_y`)."""
    path = arg.split("::", 1)[0]
    return bool(path) and (root / path).exists()
