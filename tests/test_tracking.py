"""The tracking issue as values: loading report folders, the body, its limit, the decision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sample_reports import NUMPY_GREEN, NUMPY_NOW, SampleRuns, job_folder, packages, report_bytes

from nightly_sessions import tracking
from nightly_sessions.errors import ConfigError
from nightly_sessions.redact import add_secret
from nightly_sessions.tracking import Issue, JobReport, RunInfo

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


@pytest.fixture
def reports(tmp_path: Path, sample_runs: SampleRuns) -> Path:
    """Three jobs: failures in one, a collection error in another, one passing."""
    root = tmp_path / "reports"
    job_folder(root, "py3.12-Linux", sample_runs.get("mixed"))
    job_folder(root, "py3.13-Linux", sample_runs.get("collection"))
    job_folder(root, "py3.11-Linux", sample_runs.get("passing"))
    return root


def test_load_jobs_reads_every_report(reports: Path) -> None:
    jobs = tracking.load_jobs(reports)
    assert [(j.job, j.outcome, j.python, j.os) for j in jobs] == [
        ("py3.11-Linux", "passed", "3.11", "Linux"),
        ("py3.12-Linux", "tests-failed", "3.12", "Linux"),
        ("py3.13-Linux", "tests-failed", "3.13", "Linux"),
    ]
    assert jobs[1].log is not None
    assert jobs[1].log.failed == 5


def test_missing_and_broken_reports_count_as_failing(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    (root / "nightly-reports-py3.12-Windows").mkdir(parents=True)  # uploaded, but no report
    broken = root / "nightly-reports-py3.10-Linux"
    broken.mkdir()
    (broken / "nightly-report.json").write_text("{not json")
    other = root / "nightly-reports-py3.9-Linux"
    other.mkdir()
    (other / "nightly-report.json").write_text(json.dumps({"schema": 99}))
    jobs = {j.job: j for j in tracking.load_jobs(root, ["py3.13-macOS", "py3.12-Windows"])}
    assert {name: j.outcome for name, j in jobs.items()} == dict.fromkeys(
        ["py3.10-Linux", "py3.12-Windows", "py3.13-macOS", "py3.9-Linux"], "absent"
    )
    assert (
        jobs["py3.10-Linux"].problem == "nightly-report.json is unreadable (it is not valid JSON)"
    )
    assert (
        jobs["py3.12-Windows"].problem
        == "the artifact nightly-reports-py3.12-Windows holds no nightly-report.json"
    )
    assert jobs["py3.13-macOS"].problem == "no report was uploaded for this job"
    assert jobs["py3.9-Linux"].problem == "nightly-report.json is not a schema-1 nightly report"
    assert (jobs["py3.13-macOS"].python, jobs["py3.13-macOS"].os) == ("3.13", "macOS")
    assert tracking.is_failing(list(jobs.values()), None)


def test_no_reports_at_all_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    jobs = tracking.load_jobs(tmp_path / "never-downloaded")
    assert jobs == []
    assert tracking.is_failing(jobs, "success")
    body = tracking.render_body(jobs, RUN)
    assert "No nightly report was found at all" in body


def test_a_file_instead_of_a_folder_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"is not a folder; give the folder"):
        tracking.load_jobs(tmp_path / "file")


def test_body_shows_failures_fenced_and_grouped(reports: Path) -> None:
    jobs = tracking.load_jobs(reports)
    body = tracking.render_body(jobs, RUN)
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
    body = tracking.render_body(tracking.load_jobs(reports), RUN)
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
    body = tracking.render_body(tracking.load_jobs(root), RUN)
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
    body = tracking.render_body(tracking.load_jobs(root, ["py3.13-Windows"]), RUN)
    assert "The tests failed, but pytest's report log pytest-log.jsonl is absent" in body
    assert "short test summary info" in body  # the output tail stands in for the log
    assert "| `py3.13-Windows` | `3.13` | `Windows` | tests never ran / report absent |" in body
    assert "Tests never ran / report absent: no report was uploaded for this job." in body


def test_crash_is_named_with_its_last_test(tmp_path: Path, sample_runs: SampleRuns) -> None:
    root = tmp_path / "reports"
    job_folder(root, "py3.13-Linux", sample_runs.get("crash"))
    body = tracking.render_body(tracking.load_jobs(root), RUN)
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
    body = tracking.render_body(tracking.load_jobs(root), RUN)
    assert "ghs_secretinoutput42" not in body
    assert "token ***" in body


def test_version_changes_since_green(reports: Path) -> None:
    jobs = tracking.load_jobs(reports)
    green = [
        json.loads(report_bytes("py3.12-Linux")),
        json.loads(report_bytes("py3.13-Linux", NUMPY_NOW)),
    ]
    [change] = tracking.version_changes(jobs, green)
    assert (change.package, change.source, change.before, change.after, change.jobs) == (
        "numpy", "nightly", NUMPY_GREEN, NUMPY_NOW, ("py3.12-Linux",),
    )  # fmt: skip
    body = tracking.render_body(
        jobs, RUN, green=tracking.GreenRun(url="https://x/runs/5", run_id="5", reports=tuple(green))
    )
    assert "### Changed since the last green run" in body
    assert "Compared with [run 5](https://x/runs/5)" in body
    assert f"| `numpy` | nightly | `{NUMPY_GREEN}` | `{NUMPY_NOW}` | `py3.12-Linux` |" in body


def test_green_run_problem_is_said(reports: Path) -> None:
    green = tracking.GreenRun(problem="The report artifacts of the last green run have expired.")
    body = tracking.render_body(tracking.load_jobs(reports), RUN, green=green)
    assert (
        "### Changed since the last green run\n\nThe report artifacts of the last green run have expired."
        in body
    )


def test_fenced_outgrows_backticks_inside() -> None:
    assert tracking.fenced("a ``` b") == "````text\na ``` b\n````"
    assert tracking.fenced("plain") == "```text\nplain\n```"
    assert tracking.code("a|b`c") == "``a\\|b`c``"


@pytest.fixture(scope="module")
def big_jobs(tmp_path_factory: pytest.TempPathFactory, sample_runs: SampleRuns) -> list[JobReport]:
    root = tmp_path_factory.mktemp("big") / "reports"
    for job in ("py3.11-Linux", "py3.12-Linux", "py3.13-Linux", "py3.12-macOS"):
        job_folder(root, job, sample_runs.get("many"))
    return tracking.load_jobs(root)


def test_body_fits_githubs_limit_and_says_what_was_cut(big_jobs: list[JobReport]) -> None:
    full = tracking.render_body(big_jobs, RUN, limit=10**9)
    assert len(full) > 500_000
    body = tracking.render_body(big_jobs, RUN)
    assert len(body) <= tracking.BODY_LIMIT
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
    body = tracking.render_body(big_jobs, RUN, limit=limit)
    assert len(body) <= limit
    assert note in body
    assert present in body
    if absent is not None:
        assert absent not in body
    assert fences_balanced(body)


def test_last_resort_cut_keeps_fences_closed(big_jobs: list[JobReport]) -> None:
    body = tracking.render_body(big_jobs, RUN, limit=700)
    assert len(body) <= 700
    assert body.endswith("_The rest was cut to fit GitHub's size limit; see the run page._\n")
    assert fences_balanced(body)


def test_decisions_through_a_life(reports: Path, tmp_path: Path, sample_runs: SampleRuns) -> None:
    failing = tracking.load_jobs(reports)
    body = tracking.render_body(failing, RUN)
    opened = tracking.decide(failing, body, None, RUN)
    assert opened.action == "open"
    issue = Issue(number=4, body=body, url="u")
    assert tracking.decide(failing, body, issue, RUN).action == "nothing"  # same run again
    run2 = RunInfo(url="https://github.com/octo/project/actions/runs/78", run_id="78")
    body2 = tracking.render_body(failing, run2)
    update = tracking.decide(failing, body2, issue, run2)
    assert update.action == "update"
    assert update.comment == (
        "Still failing in [run 78](https://github.com/octo/project/actions/runs/78): 5 failed, "
        "3 errors in 2 of 3 jobs. Same failures as before; the description above shows the newest state."
    )
    green_root = tmp_path / "green"
    job_folder(green_root, "py3.12-Linux", sample_runs.get("passing"))
    green = tracking.load_jobs(green_root)
    close = tracking.decide(green, "", issue, run2)
    assert (close.action, close.comment) == (
        "close", "All nightly jobs passed in [run 78](https://github.com/octo/project/actions/runs/78); closing.",
    )  # fmt: skip
    assert tracking.decide(green, "", None, run2).action == "nothing"
    assert tracking.decide(failing, body2, issue, run2, "cancelled").action == "nothing"
    assert tracking.decide(green, "", issue, run2, "failure").action == "update"


def test_update_comment_tells_new_failures(
    reports: Path, tmp_path: Path, sample_runs: SampleRuns
) -> None:
    before = tracking.load_jobs(reports)
    issue = Issue(number=4, body=tracking.render_body(before, RUN))
    root = tmp_path / "more"
    job_folder(root, "py3.12-Linux", sample_runs.get("mixed"))
    job_folder(root, "py3.13-Linux", sample_runs.get("crash"))
    job_folder(root, "py3.11-Linux", sample_runs.get("passing"))
    after = tracking.load_jobs(root)
    decision = tracking.decide(after, tracking.render_body(after, RUN), issue, RUN)
    assert decision.comment is not None
    assert "The failures changed: 1 new, 1 no longer failing" in decision.comment


def test_tracking_issue_is_found_by_marker_not_title() -> None:
    mark = tracking.marker("nightly-tests")
    issues = [
        Issue(9, "Nightly tests are failing (no marker)"),
        Issue(7, f"{mark}\nnewer duplicate"),
        Issue(5, f"{mark}\nthe original"),
        Issue(3, f"{tracking.marker('docs-build')}\nanother workflow"),
    ]
    found = tracking.find_tracking_issue(issues, "nightly-tests")
    assert found is not None
    assert found.number == 5
    assert tracking.find_tracking_issue(issues[:1], "nightly-tests") is None


def test_same_body_ignores_line_ends_and_trailing_space() -> None:
    assert tracking.same_body("a\nb\n", "a \r\nb")
    assert not tracking.same_body("a\nb", "a\nc")
