"""The issue body: failures fenced and grouped, versions, redaction, and the size limit."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sample_reports import NUMPY_NOW, SampleRuns, job_folder, packages

from nightly_sessions.core.redact import add_secret
from nightly_sessions.tracking import decisions as tracking
from nightly_sessions.tracking import issue_body, job_reports
from nightly_sessions.tracking.decisions import RunInfo
from nightly_sessions.tracking.job_reports import JobReport

RUN = RunInfo(
    url="https://github.com/octo/project/actions/runs/77",
    run_id="77",
    branch="main",
    sha="0123456789abcdef",
)


def outside_code(markdown: str) -> str:
    """The Markdown with fenced blocks and inline code spans removed: what GitHub would link."""
    text = re.sub(r"^(`{3,})[^\n]*\n.*?^\1\s*$", "", markdown, flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"(`+).+?\1", "", text)


def fences_balanced(markdown: str) -> bool:
    opened = ""
    for line in markdown.splitlines():
        ticks = len(line) - len(line.lstrip("`"))
        if not opened and ticks >= 3:
            opened = "`" * ticks
        elif opened and line.strip() == "`" * len(line.strip()) and ticks >= len(opened):
            opened = ""
    return not opened


def test_body_shows_failures_fenced_and_grouped(reports: Path) -> None:
    jobs = job_reports.load_jobs(reports)
    body = issue_body.render_body(jobs, RUN)
    assert body.startswith(tracking.marker("nightly-tests"))
    assert (
        "[run 77](https://github.com/octo/project/actions/runs/77) on `main` at `0123456789ab`"
        in body
    )
    assert "2 of 3 jobs failed" in body
    assert "### `py3.12-Linux`: Python `3.12` on `Linux`" in body
    assert "### `py3.13-Linux`: Python `3.13` on `Linux`" in body
    assert "### `py3.11-Linux`" not in body  # passing jobs get no section
    assert "| `py3.11-Linux` | `3.11` | `Linux` | passed (4 passed) |" in body
    assert "FAILED test_sample_numbers.py::test_is_zero (3 variants) - AssertionError" in body
    assert "variants: [1], [2], [3]" in body
    assert "ERROR  test_sample_fixtures.py::test_query (setup) - RuntimeError" in body
    assert (
        "ERROR  test_sample_fixtures.py::test_scratch (teardown) - OSError: cleanup failed" in body
    )
    assert "ERROR  test_sample_broken_import.py (collection) - ImportError" in body
    assert "test_sample_broken_import.py:5: in <module>" in body  # the collection traceback
    assert "\x1b" not in body
    assert "shape mismatch: (3,) vs (4,)" in body
    # Test output pings and links nobody: @someone and #123 appear only inside code.
    assert "@someone" in body
    assert "#123" in body
    assert "#456" in body
    visible = outside_code(body)
    assert not re.search(r"@\w", visible)
    assert not re.search(r"#\d", visible)
    assert fences_balanced(body)


def test_versions_table_and_repeated_tables(reports: Path) -> None:
    body = issue_body.render_body(job_reports.load_jobs(reports), RUN)
    assert f"| `numpy` | nightly | `{NUMPY_NOW}` | `{NUMPY_NOW}` | nightly |" in body
    assert "| `packaging` | base | `25.0` | — | release |" in body
    assert "Nightly versions: the same as in `py3.12-Linux`." in body


def test_not_run_job_shows_stage_error_and_tail(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    job_folder(
        root, "py3.14-Linux", None, outcome="not-run", stage="verify",
        error="pandas is absent (the channel has no wheel of it for this platform).",
        output_tail="\x1b[31merror\x1b[0m: resolution failed\n@someone look",
        package_rows=packages(pandas=None),
    )  # fmt: skip
    body = issue_body.render_body(job_reports.load_jobs(root), RUN)
    assert "| `py3.14-Linux` | `3.14` | `Linux` | tests never ran (stopped at `verify`) |" in body
    assert "The tests never ran: the `verify` step failed." in body
    assert (
        "```text\npandas is absent (the channel has no wheel of it for this platform).\n```" in body
    )
    assert "```text\nerror: resolution failed\n@someone look\n```" in body
    assert "| `pandas` | nightly | — | `3.1.0.dev0+456.gdeadbee` | missing |" in body
    assert not re.search(r"@\w", outside_code(body))


def test_absent_report_log_and_absent_job(tmp_path: Path, sample_runs: SampleRuns) -> None:
    root = tmp_path / "reports"
    job_folder(root, "py3.12-Linux", sample_runs.get("mixed"), keep_log=False)
    body = issue_body.render_body(job_reports.load_jobs(root, ["py3.13-Windows"]), RUN)
    assert "The tests failed, but pytest's report log pytest-log.jsonl is absent" in body
    assert "short test summary info" in body  # the output tail stands in for the log
    assert "| `py3.13-Windows` | `3.13` | `Windows` | tests never ran / report absent |" in body
    assert "Tests never ran / report absent: no report was uploaded for this job." in body


def test_crash_is_named_with_its_last_test(tmp_path: Path, sample_runs: SampleRuns) -> None:
    root = tmp_path / "reports"
    job_folder(root, "py3.13-Linux", sample_runs.get("crash"))
    body = issue_body.render_body(job_reports.load_jobs(root), RUN)
    assert "| `py3.13-Linux` | `3.13` | `Linux` | crashed (1 passed) |" in body
    assert "pytest stopped before the end of the session (killed by SIGSEGV: a crash)." in body
    assert "```text\ntest_sample_crash.py::test_crashes\n```" in body
    assert "Fatal Python error: Segmentation fault" in body
    assert "\x1b" not in body


def test_secrets_in_output_are_redacted(tmp_path: Path) -> None:
    add_secret("ghs_secretinoutput42")
    root = tmp_path / "reports"
    job_folder(
        root,
        "py3.12-Linux",
        None,
        outcome="not-run",
        stage="install",
        output_tail="token ghs_secretinoutput42",
    )
    body = issue_body.render_body(job_reports.load_jobs(root), RUN)
    assert "ghs_secretinoutput42" not in body
    assert "token ***" in body


def test_heading_names_the_uploads_only_when_the_tests_did_not_fail(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    job_folder(root, "py3.12-Linux", None, outcome="passed")
    (root / "freshness").mkdir()
    (root / "freshness" / "freshness-report.json").write_text(
        '{"schema": 1, "kind": "freshness", "outcome": "stale", "message": "24 days old"}'
    )
    jobs = job_reports.load_jobs(root)
    assert "## Nightly uploads need attention" in issue_body.render_body(jobs, RUN)
    body = issue_body.render_body(jobs, RUN, tests_result="failure")
    assert "## Nightly tests failed" in body  # the test jobs failed after their reports
    assert '"run":77}' in body.splitlines()[2]  # the hidden state names the run


def test_green_run_problem_is_said(reports: Path) -> None:
    green = tracking.GreenRun(problem="The report artifacts of the last green run have expired.")
    body = issue_body.render_body(job_reports.load_jobs(reports), RUN, green=green)
    assert (
        "### Changed since the last green run\n\nThe report artifacts of the last green run have expired."
        in body
    )


def test_code_spans_escape_pipes_and_outgrow_backticks() -> None:
    assert issue_body.code("a|b`c") == "``a\\|b`c``"


@pytest.fixture(scope="module")
def big_jobs(tmp_path_factory: pytest.TempPathFactory, sample_runs: SampleRuns) -> list[JobReport]:
    root = tmp_path_factory.mktemp("big") / "reports"
    for job in ("py3.11-Linux", "py3.12-Linux", "py3.13-Linux", "py3.12-macOS"):
        job_folder(root, job, sample_runs.get("many"))
    return job_reports.load_jobs(root)


def test_body_fits_githubs_limit_and_says_what_was_cut(big_jobs: list[JobReport]) -> None:
    full = issue_body.render_body(big_jobs, RUN, limit=10**9)
    assert len(full) > 500_000
    body = issue_body.render_body(big_jobs, RUN)
    assert len(body) <= issue_body.BODY_LIMIT
    assert "Shortened to fit GitHub's 65,536-character limit" in body
    assert fences_balanced(body)
    assert body.startswith(tracking.marker("nightly-tests"))


@pytest.mark.parametrize(
    ("limit", "note", "present", "absent"),
    [
        (400_000, "tracebacks were cut to their last 30 lines", "[…earlier lines cut…]", None),
        (150_000, "tracebacks were left out.", "variants: [0], [1], [2]", "<summary>Tracebacks"),
        (
            60_000,
            "long lists of failing tests were cut",
            "…and 61 more failing tests",
            "Tracebacks",
        ),
        (12_000, "only counts are shown", "**480 failed", "FAILED"),
        (1_300, "version tables were left out", "**480 failed", "Nightly versions"),
    ],
)
def test_shortening_order(
    big_jobs: list[JobReport], limit: int, note: str, present: str, absent: str | None
) -> None:
    body = issue_body.render_body(big_jobs, RUN, limit=limit)
    assert len(body) <= limit
    assert note in body
    assert present in body
    if absent is not None:
        assert absent not in body
    assert fences_balanced(body)


def test_last_resort_cut_keeps_fences_closed(big_jobs: list[JobReport]) -> None:
    body = issue_body.render_body(big_jobs, RUN, limit=700)
    assert len(body) <= 700
    assert body.endswith("_The rest was cut to fit GitHub's size limit; see the run page._\n")
    assert fences_balanced(body)


# The culprit search (report schema 2).

CULPRIT_SENTENCE = (
    f"Culprit: `test_sample_numbers.py::test_is_zero[1]` fails with numpy {NUMPY_NOW} and "
    "passes with numpy 2.4.1 (last green run)."
)
DRAFT = (
    "Title: nightly numpy breaks sample's test_is_zero[1] (2.4.1 passes)\n\n---\n\n"
    "```pytb\nE   AssertionError: ask @\u200bsomeone\n```\n"
)


def with_culprit(folder: Path, *, draft: str = DRAFT, flaky: bool = False) -> None:
    """Turn a job folder's report into a schema-2 report whose culprit search found numpy."""
    path = folder / "nightly-report.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    verdict = [CULPRIT_SENTENCE]
    if flaky:
        verdict.append(
            "Flaky: `test_sample_numbers.py::test_slow` is flaky: it failed, then "
            "passed when re-run with the same versions; no package is blamed."
        )
    put_back = {"name": "numpy", "nightly": NUMPY_NOW, "version": "2.4.1", "origin": "last-green"}
    data["schema"] = 2
    data["culprit"] = {
        "status": "found",
        "verdict": verdict,
        "effort": "The search made 2 re-runs in 4.0 s of its 1 min budget (rule).",
        "trials": [
            {"put_back": [], "tests": ["a", "b"], "failed": ["a"], "seconds": 1.0},
            {"put_back": [put_back], "tests": ["a"], "failed": [], "seconds": 3.0},
        ],
        "drafts": [{"package": "numpy", "file": "upstream-numpy.md", "text": draft}],
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def test_the_culprit_comes_first_merged_across_jobs_then_the_evidence(
    tmp_path: Path, sample_runs: SampleRuns
) -> None:
    root = tmp_path / "reports"
    with_culprit(job_folder(root, "py3.12-Linux", sample_runs.get("mixed")), flaky=True)
    with_culprit(job_folder(root, "py3.13-Linux", sample_runs.get("mixed")))
    job_folder(root, "py3.11-Linux", sample_runs.get("collection"))  # schema 1: no search
    body = issue_body.render_body(job_reports.load_jobs(root), RUN)
    section = body.index("### Culprit search")
    assert section < body.index("| Job | Python | OS | Result |")
    assert f"- {CULPRIT_SENTENCE} (`py3.12-Linux`, `py3.13-Linux`)" in body
    assert "- Flaky: `test_sample_numbers.py::test_slow` is flaky" in body
    assert body.count("<details><summary>Draft report for numpy's tracker</summary>") == 1
    assert "````markdown\nTitle: nightly numpy breaks" in body
    # The evidence, in each job's section: the re-runs.
    assert body.count("<details><summary>Culprit search: re-runs</summary>") == 2
    assert "| nothing (as installed) | 2 | `a` |" in body
    assert "| `numpy` `2.4.1` | 1 | none |" in body
    assert "The search made 2 re-runs in 4.0 s of its 1 min budget (rule)." in body
    assert not re.search(r"@\w", outside_code(body))
    assert fences_balanced(body)


def test_reports_without_a_search_have_no_culprit_section(reports: Path) -> None:
    body = issue_body.render_body(job_reports.load_jobs(reports), RUN)
    assert "Culprit search" not in body


def test_a_long_body_leaves_out_the_drafts_and_says_where_they_are(
    tmp_path: Path, sample_runs: SampleRuns
) -> None:
    root = tmp_path / "reports"
    long_draft = DRAFT + "```text\n" + "a line of a long traceback\n" * 2_000 + "```\n"
    with_culprit(job_folder(root, "py3.12-Linux", sample_runs.get("mixed")), draft=long_draft)
    jobs = job_reports.load_jobs(root)
    assert len(issue_body.render_body(jobs, RUN, limit=10**9)) > 50_000
    body = issue_body.render_body(jobs, RUN, limit=30_000)
    assert "Draft report for" not in body
    assert (
        "The drafts for the upstream trackers were left out here: `upstream-numpy.md` in the "
        "job's report artifact."
    ) in body
    assert f"- {CULPRIT_SENTENCE}" in body  # the verdict stays
    assert fences_balanced(body)
