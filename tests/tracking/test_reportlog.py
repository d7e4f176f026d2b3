"""Reading pytest's report log: the logs come from real pytest runs on tests/samples/suites."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sample_reports import SampleRuns

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.tracking.reportlog import (
    group_failures,
    parse_report_log,
    read_report_log,
    split_parameters,
    strip_ansi,
)


def pytest_summary_counts(summary: str) -> dict[str, int]:
    """pytest's own closing line, e.g. '5 failed, 3 passed, 2 errors in 0.1s', as numbers."""
    words = {"error": "errors", "errors": "errors"}
    counts = {}
    for number, word in re.findall(r"(\d+) (\w+)", strip_ansi(summary).split(" in ")[0]):
        counts[words.get(word, word)] = int(number)
    return counts


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("\x1b[31mred\x1b[0m plain", "red plain"),
        ("\x1b[1;38;5;196mbold\x1b[m", "bold"),
        ("\x1b]8;;https://example.org\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("line one\r\nline two\rthree", "line one\nline two\nthree"),
        ("bell\x07 and tab\tkept", "bell and tab\tkept"),
    ],
)
def test_strip_ansi(text: str, clean: str) -> None:
    assert strip_ansi(text) == clean


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("tests/test_a.py::test_x[1-2]", ("tests/test_a.py::test_x", "[1-2]")),
        ("tests/test_a.py::TestK::test_x[a[0]]", ("tests/test_a.py::TestK::test_x", "[a[0]]")),
        ("tests/test_a.py::test_x", ("tests/test_a.py::test_x", None)),
        ("tests/data[1]/test_a.py", ("tests/data[1]/test_a.py", None)),
        ("tests/data[1]/test_a.py::test_y", ("tests/data[1]/test_a.py::test_y", None)),
    ],
)
def test_split_parameters(nodeid: str, expected: tuple[str, str | None]) -> None:
    assert split_parameters(nodeid) == expected


def test_mixed_failures_are_read_like_pytest_counts_them(sample_runs: SampleRuns) -> None:
    run = sample_runs.get("mixed")
    log = read_report_log(run.log)
    assert log.finished
    assert log.exit_status == run.exit_code == 1
    assert log.pytest_version == pytest.__version__
    assert dict(log.counts) == pytest_summary_counts(run.summary)
    by_id = {(f.nodeid, f.when): f for f in log.failures}
    assert set(by_id) == {
        ("test_sample_colors.py::test_coloured_failure", "call"),
        ("test_sample_fixtures.py::test_query", "setup"),
        ("test_sample_fixtures.py::test_scratch", "teardown"),
        ("test_sample_numbers.py::test_is_zero[1]", "call"),
        ("test_sample_numbers.py::test_is_zero[2]", "call"),
        ("test_sample_numbers.py::test_is_zero[3]", "call"),
        ("test_sample_numbers.py::test_chained", "call"),
    }
    fixture = by_id["test_sample_fixtures.py::test_query", "setup"]
    assert (fixture.kind, fixture.headline) == (
        "error",
        "RuntimeError: the fixture could not connect",
    )
    teardown = by_id["test_sample_fixtures.py::test_scratch", "teardown"]
    assert (teardown.kind, teardown.headline) == ("error", "OSError: cleanup failed")
    variant = by_id["test_sample_numbers.py::test_is_zero[2]", "call"]
    assert variant.kind == "failed"
    assert variant.headline == "AssertionError: @someone please look, see #123 (value 2)"
    assert "test_sample_numbers.py:14: AssertionError" in variant.traceback
    chained = by_id["test_sample_numbers.py::test_chained", "call"]
    assert "KeyError: 'missing'" in chained.traceback
    assert "direct cause of the following exception" in chained.traceback


def test_ansi_codes_are_stripped_from_messages_tracebacks_and_output(
    sample_runs: SampleRuns,
) -> None:
    raw = sample_runs.get("mixed").log.read_text()
    assert "\\u001b[31m" in raw  # pytest wrote the escape codes into the log
    log = read_report_log(sample_runs.get("mixed").log)
    [coloured] = [f for f in log.failures if f.nodeid.endswith("test_coloured_failure")]
    assert coloured.headline == "ValueError: shape mismatch: (3,) vs (4,)"
    assert "Captured stdout call" in coloured.traceback
    assert "warning: ping @someone about #456" in coloured.traceback
    assert all("\x1b" not in f.message + f.traceback for f in log.failures)


def test_parametrized_variants_are_grouped(sample_runs: SampleRuns) -> None:
    log = read_report_log(sample_runs.get("mixed").log)
    groups = {group.base: group for group in group_failures(log.failures)}
    zero = groups["test_sample_numbers.py::test_is_zero"]
    assert zero.variants == ("[1]", "[2]", "[3]")
    assert zero.kind == "failed"
    assert len(zero.headlines) == 3
    assert len(groups) == 5
    # A setup error and a call failure of one test are different groups.
    assert groups["test_sample_fixtures.py::test_query"].when == "setup"


def test_collection_error_keeps_its_traceback(sample_runs: SampleRuns) -> None:
    run = sample_runs.get("collection")
    log = read_report_log(run.log)
    assert log.finished
    assert log.exit_status == 2
    [failure] = log.failures
    assert (failure.nodeid, failure.kind, failure.when) == (
        "test_sample_broken_import.py",
        "error",
        "collect",
    )
    assert failure.headline.startswith("ImportError: cannot import name 'removed_in_nightly'")
    assert "test_sample_broken_import.py:5: in <module>" in failure.traceback
    assert dict(log.counts) == pytest_summary_counts(run.summary) == {"errors": 1}


def test_crashed_run_is_told_apart(sample_runs: SampleRuns) -> None:
    run = sample_runs.get("crash")
    assert run.exit_code < 0  # the interpreter was killed by a signal
    log = read_report_log(run.log)
    assert not log.finished
    assert log.exit_status is None
    assert log.last_nodeid == "test_sample_crash.py::test_crashes"
    assert log.failures == ()
    assert dict(log.counts) == {"passed": 1}


def test_cut_and_foreign_lines_are_counted_not_fatal(
    sample_runs: SampleRuns, tmp_path: Path
) -> None:
    copy = tmp_path / "log.jsonl"
    shutil.copy(sample_runs.get("mixed").log, copy)
    with copy.open("a") as log_file:
        log_file.write('[1, 2]\n{"$report_type": "TestReport", "nodeid": "cut off\n')
    log = read_report_log(copy)
    assert log.bad_lines == 2
    assert len(log.failures) == 7


def test_skip_shapes_and_unknown_entries_do_not_break_parsing() -> None:
    lines = [
        '{"$report_type": "SessionStart", "pytest_version": "9.0"}',
        (
            '{"$report_type": "TestReport", "nodeid": "a.py::t", "when": "setup",'
            ' "outcome": "skipped", "longrepr": ["a.py", 3, "Skipped: no"]}'
        ),
        (
            '{"$report_type": "TestReport", "nodeid": "a.py::x", "when": "call",'
            ' "outcome": "failed", "longrepr": "[XPASS(strict)] should fail"}'
        ),
        '{"$report_type": "WarningMessage", "message": "whatever"}',
        '{"$report_type": "SessionFinish", "exitstatus": 1}',
    ]
    log = parse_report_log(lines)
    assert dict(log.counts) == {"skipped": 1, "failed": 1}
    [xpass] = log.failures
    assert xpass.headline == "[XPASS(strict)] should fail"


def test_missing_log_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^Cannot read the pytest report log .*absent\.jsonl"):
        read_report_log(tmp_path / "absent.jsonl")
