from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nightly_sessions.core.artifacts import REPORT_MARKDOWN_NAME, REPORT_NAME
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.run_report import read_report
from nightly_sessions.nightly_tests.report import (
    RunReport,
    count_tests,
    render_markdown,
    write_report,
)
from nightly_sessions.nightly_tests.verify import PackageVersion, VersionReport

SUITE = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

def test_ok(): pass
def test_fails(): assert 1 == 2
def test_error(broken): pass
@pytest.mark.skip(reason="not today")
def test_skipped(): pass
"""


def run_pytest(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    log = folder / "log.jsonl"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--report-log={log}", str(folder)],
        cwd=folder, capture_output=True, check=False,
    )  # fmt: skip
    return log


def test_counts_from_a_real_report_log(tmp_path: Path) -> None:
    counts = count_tests(run_pytest(tmp_path, {"test_suite.py": SUITE}))
    assert (counts.passed, counts.failed, counts.errors, counts.skipped) == (1, 1, 1, 1)
    assert counts.exit_code == 1


def test_collection_errors_count_as_errors(tmp_path: Path) -> None:
    log = run_pytest(tmp_path, {"test_broken_import.py": "import no_such_module_here\n"})
    counts = count_tests(log)
    assert (counts.errors, counts.exit_code) == (1, 2)
    assert count_tests(log, exit_code=9).exit_code == 9  # the process's code wins


def test_absent_log_counts_nothing(tmp_path: Path) -> None:
    assert count_tests(tmp_path / "absent.jsonl").passed == 0


def make_report(**fields: object) -> RunReport:
    report = RunReport(
        project="demo", job="py3.11-Linux", python="3.11",
        nightly_index="https://pypi.anaconda.org/t/tok-999999/chan/simple", base_index="http://127.0.0.1/simple",
    )  # fmt: skip
    for name, value in fields.items():
        setattr(report, name, value)
    return report


def test_written_report_and_step_summary(tmp_path: Path) -> None:
    versions = VersionReport(
        (PackageVersion("numpy", "nightly", "2.5.0.dev0", "2.5.0.dev0", "nightly", False),)
    )
    report = make_report(versions=versions, stage="tests", outcome="passed")
    summary = tmp_path / "summary.md"
    path = write_report(report, tmp_path / "reports", {"GITHUB_STEP_SUMMARY": str(summary)})
    data = json.loads(path.read_text())
    assert (data["schema"], data["culprit"]) == (3, None)  # no search on a passing run
    assert data["packages"][0]["status"] == "nightly"
    assert "tok-999999" not in path.read_text()
    markdown = (tmp_path / "reports" / REPORT_MARKDOWN_NAME).read_text()
    assert "| `numpy` | `2.5.0.dev0` | `2.5.0.dev0` | `nightly` |" in markdown
    assert summary.read_text().strip() == markdown.strip()
    assert read_report(path)["outcome"] == "passed"


def test_not_run_report_says_which_step_stopped() -> None:
    report = make_report(stage="install", error="Failed to install x.", output_tail="ERROR: no x\n")
    markdown = render_markdown(report.to_dict())
    assert "tests did not run" in markdown
    assert "**Stopped at the install step:** Failed to install x." in markdown
    assert "ERROR: no x" in markdown


def test_unreadable_reports_are_sentences(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"nightly-report.json is absent \(in .*\); run `nox -s nightly_tests` again",
    ):
        read_report(tmp_path / REPORT_NAME)
    (tmp_path / REPORT_NAME).write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"is unreadable \(it is not valid JSON\)"):
        read_report(tmp_path / REPORT_NAME)
    (tmp_path / REPORT_NAME).write_text('{"schema": 9}', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a nightly report of schema 1, 2 or 3"):
        read_report(tmp_path / REPORT_NAME)


def test_unwritable_report_folder_is_a_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="Cannot write the report into"):
        write_report(make_report(), blocker / "reports", {})


def test_odd_lines_in_a_report_log_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        '1\n"text"\n{"$report_type": "TestReport", "when": "call", "outcome": "passed"}\n{oops\n'
    )
    assert count_tests(log).passed == 1


COUNTS = {"exit_code": 1, "report_log": "x", "passed": 1, "failed": 1, "errors": 0, "skipped": 0}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"job": None}, "'job' is missing or not text"),
        ({"packages": "numpy"}, "'packages' is missing or not a list"),
        ({"packages": [{"installed": "1.0"}]}, "an entry of 'packages' is not a table with a name"),
        ({"repairs": ["numpy"]}, "an entry of 'repairs' is not a table"),
        ({"output_tail": 5}, "'output_tail' is not text"),
        ({"error": ["x"]}, "'error' is not text"),
        ({"dependency_check": True}, "'dependency_check' is not a table"),
        ({"pytest": {**COUNTS, "passed": "3"}}, "'pytest' has counts or an exit code that are not"),
        ({"outcome": "weird"}, "'outcome' is 'weird'"),
        ({"pytest": {"exit_code": 1}}, "'pytest' lacks the exit code and counts"),
    ],
)
def test_damaged_reports_are_sentences(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    path = write_report(make_report(), tmp_path, {})
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=f"is damaged: {re.escape(problem)} "):
        read_report(path)


def test_a_failed_dependency_check_gets_its_own_section(tmp_path: Path) -> None:
    output = "consumer 1.0 has requirement tinyarray<1.1, but you have tinyarray 1.1.0.dev0."
    check = {
        "ok": False,
        "output": output + " (from https://pypi.anaconda.org/t/tok-check-7/chan/simple)",
        "command": "pip check",
    }
    summary = tmp_path / "summary.md"
    report = make_report(dependency_check=check, stage="tests", outcome="passed")
    path = write_report(report, tmp_path / "reports", {"GITHUB_STEP_SUMMARY": str(summary)})
    data = json.loads(path.read_text())
    assert data["dependency_check"]["ok"] is False  # still in the JSON
    assert "tok-check-7" not in path.read_text()
    markdown = (tmp_path / "reports" / REPORT_MARKDOWN_NAME).read_text()
    assert "### Dependency check" in markdown
    assert "`pip check` found conflicts. The run went on" in markdown
    assert f"```\n{output} (from https://pypi.anaconda.org/t/***/chan/simple)\n```" in markdown
    assert "### Dependency check" in summary.read_text()


def test_a_passed_dependency_check_adds_nothing() -> None:
    report = make_report(dependency_check={"ok": True, "output": "No broken requirements found."})
    assert "Dependency check" not in render_markdown(report.to_dict())


def test_check_output_with_backticks_cannot_close_its_fence() -> None:
    check = {"ok": False, "output": "odd ``` line", "command": "uv pip check"}
    markdown = render_markdown(make_report(dependency_check=check).to_dict())
    assert "````\nodd ``` line\n````" in markdown
