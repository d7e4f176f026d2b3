"""The whole life of the tracking issue, against the GitHub stand-in, from real report logs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sample_reports import NUMPY_GREEN, NUMPY_NOW, SampleRuns, job_folder, report_bytes

from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.testing.example import EXAMPLE_PROJECT
from nightly_sessions.testing.github import FakeGitHub, serve_github
from nightly_sessions.testing.pypi import free_port
from nightly_sessions.tracking import issue

pytestmark = pytest.mark.integration

WRITES = r"^(?!/_blobs)"  # every API path


@dataclass
class Reporter:
    """Runs the `issue` command in-process as a given workflow run, recording what it logs."""

    server: FakeGitHub
    root: Path
    runs: SampleRuns
    lines: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def reports(self, name: str, **suites: str | None) -> Path:
        """A downloaded-artifacts folder: job name -> sample suite (None: no report)."""
        folder = self.root / name
        for job, suite in suites.items():
            job_name = re.sub(r"^py(\d+)_(\d+)_", r"py\1.\2-", job)  # py3_12_Linux
            if suite is None:
                (folder / f"nightly-reports-{job_name}").mkdir(parents=True)
            else:
                job_folder(folder, job_name, self.runs.get(suite))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def environ(self, run_id: int, **extra: str) -> dict[str, str]:
        return {
            "GITHUB_API_URL": self.server.url,
            "GITHUB_TOKEN": self.server.token,
            "GITHUB_REPOSITORY": self.server.repository,
            "GITHUB_SERVER_URL": self.server.root_url,
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            "GITHUB_WORKFLOW_REF": "octo/project/.github/workflows/nightly.yml@refs/heads/main",
            "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_STEP_SUMMARY": str(self.root / f"summary-{run_id}.md"),
            **extra,
        }

    def __call__(self, folder: Path, run_id: int, *args: str, **env: str) -> int:
        self.lines.clear()
        parsed = session_args("nightly_issue", [str(folder), *args])
        assert parsed is not None
        return issue.run(
            parsed, Settings(), environ=self.environ(run_id, **env),
            sleep=self.sleeps.append, log=self.lines.append,
        )  # fmt: skip

    def run_url(self, run_id: int) -> str:
        return f"{self.server.root_url}/octo/project/actions/runs/{run_id}"

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def reporter(github_server: FakeGitHub, tmp_path: Path, sample_runs: SampleRuns) -> Reporter:
    return Reporter(github_server, tmp_path, sample_runs)


def add_green_run(server: FakeGitHub, *jobs: str) -> int:
    artifacts = {
        f"nightly-reports-{job}": {
            "nightly-report.json": report_bytes(job),
            "pytest-log.jsonl": b"",
        }
        for job in jobs
    }
    return server.add_run(conclusion="success", artifacts=artifacts)


def writes(server: FakeGitHub) -> int:
    return len([c for c in server.requests if c.method in ("POST", "PATCH")])


def test_the_whole_life(reporter: Reporter, github_server: FakeGitHub) -> None:
    green_id = add_green_run(github_server, "py3.12-Linux", "py3.13-Linux")
    failing = reporter.reports(
        "failing", py3_11_Linux="passing", py3_12_Linux="mixed", py3_13_Linux="collection"
    )
    # A scheduled run fails: one issue is opened, with the label created.
    assert reporter(failing, 101) == 0
    assert reporter.output == f"Opened issue #1: {github_server.root_url}/octo/project/issues/1"
    [opened] = github_server.issues(state="open", label="nightly-failure")
    assert opened.title == "Nightly tests are failing"
    assert github_server.labels["nightly-failure"]["color"] == "d73a4a"
    assert "<!-- nightly-sessions:tracking-issue nightly-tests -->" in opened.body
    assert (
        f"failed in [run 101]({reporter.run_url(101)}) on `main` at `0123456789ab`" in opened.body
    )
    assert f"Compared with [run {green_id}]({reporter.run_url(green_id)})" in opened.body
    changed = (
        f"| `numpy` | nightly | `{NUMPY_GREEN}` | `{NUMPY_NOW}` | `py3.12-Linux, py3.13-Linux` |"
    )
    assert changed in opened.body  # py3.11-Linux had no report in the green run
    assert "FAILED test_sample_numbers.py::test_is_zero (3 variants)" in opened.body
    summary = (reporter.root / "summary-101.md").read_text()
    assert summary.startswith("<!-- nightly-sessions:tracking-issue nightly-tests -->")

    # The same report again (a re-run of the reporting job) changes nothing.
    before = writes(github_server)
    assert reporter(failing, 101) == 0
    assert reporter.output == "Nothing to do: issue #1 already shows this run."
    assert writes(github_server) == before

    # The next night fails the same way: the same issue is updated, with a comment.
    assert reporter(failing, 102) == 0
    assert reporter.output.startswith("Updated issue #1")
    [updated] = github_server.issues(state="open")
    assert f"[run 102]({reporter.run_url(102)})" in updated.body
    assert updated.comments == [
        (
            f"Still failing in [run 102]({reporter.run_url(102)}): 5 failed, 3 errors in 2 of 3 jobs. "
            "Same failures as before; the description above shows the newest state.\n\n"
            "<!-- nightly-sessions:run 102 update -->"
        )
    ]

    # Another night fails differently: still the same issue, and the comment says so.
    crashed = reporter.reports(
        "crashed", py3_11_Linux="passing", py3_12_Linux="mixed", py3_13_Linux="crash"
    )
    assert reporter(crashed, 103) == 0
    [updated] = github_server.issues(state="open")
    assert updated.number == 1
    assert "killed by SIGSEGV" in updated.body
    assert "The failures changed: 1 new, 1 no longer failing" in updated.comments[-1]
    assert len(updated.comments) == 2

    # Green again: the issue is closed with a comment linking the green run.
    green = reporter.reports(
        "green", py3_11_Linux="passing", py3_12_Linux="passing", py3_13_Linux="passing"
    )
    assert reporter(green, 104) == 0
    assert reporter.output.startswith("Closed issue #1")
    [closed] = github_server.issues(state="closed")
    assert (closed.state_reason, closed.comments[-1]) == (
        "completed",
        (
            f"All nightly jobs passed in [run 104]({reporter.run_url(104)}); closing.\n\n"
            "<!-- nightly-sessions:run 104 close -->"
        ),
    )
    assert (reporter.root / "summary-104.md").read_text() == "All nightly jobs passed.\n"
    before = writes(github_server)
    assert reporter(green, 104) == 0
    assert reporter.output == "Nothing to do: every job passed and no tracking issue is open."
    assert writes(github_server) == before

    # It breaks again: a new issue for the new breakage; the old one stays closed.
    assert reporter(failing, 105) == 0
    assert reporter.output.startswith("Opened issue #2")
    assert [(i.number, i.state) for i in github_server.issues()] == [(1, "closed"), (2, "open")]
    texts = [i.body + "".join(i.comments) for i in github_server.issues()]
    assert all(github_server.token not in text for text in texts)


def test_a_reopened_old_issue_is_closed_as_a_duplicate(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    failing = reporter.reports("failing", py3_12_Linux="mixed")
    green = reporter.reports("green", py3_12_Linux="passing")
    assert reporter(failing, 1, "--no-compare") == 0
    assert reporter(green, 2, "--no-compare") == 0
    assert reporter(failing, 3, "--no-compare") == 0  # a new breakage: issue #2
    github_server.issue_records[1].state = "open"  # someone reopens the old issue
    assert reporter(failing, 4, "--no-compare") == 0
    assert reporter.lines == [
        "Closed issue #1 as a duplicate of #2.",
        f"Updated issue #2: {github_server.root_url}/octo/project/issues/2",
    ]
    old = github_server.issue_records[1]
    assert (old.state, old.state_reason, old.comments[-1]) == (
        "closed", "not_planned", "Duplicate of #2",
    )  # fmt: skip
    assert "[run 4]" in github_server.issue_records[2].body
    assert reporter(green, 5, "--no-compare") == 0
    assert [i.state for i in github_server.issues()] == ["closed", "closed"]
    assert old.comments.count("Duplicate of #2") == 1


def test_duplicates_are_closed_on_any_run_and_a_dry_run_only_says_so(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    marker = "<!-- nightly-sessions:tracking-issue nightly-tests -->"
    for n in range(3):
        github_server.add_issue(
            "Nightly tests are failing", f"{marker}\nbody {n}", ["nightly-failure"]
        )
    green = reporter.reports("green", py3_12_Linux="passing")
    assert reporter(green, 9, "--no-compare", "--dry-run") == 0
    assert reporter.lines[-2:] == [
        "Would close issue #2 as a duplicate of #3.",
        "Would close issue #1 as a duplicate of #3.",
    ]
    assert writes(github_server) == 0
    # The comment on #2 is posted but closing it fails: the re-run closes it, once.
    github_server.fail("PATCH", r"/issues/2$", 500, times=4)
    with pytest.raises(NetworkError, match=r"HTTP 500 while updating issue #2"):
        reporter(green, 9, "--no-compare")
    assert reporter(green, 9, "--no-compare") == 0
    closing = (
        f"All nightly jobs passed in [run 9]({reporter.run_url(9)}); closing.\n\n"
        "<!-- nightly-sessions:run 9 close -->"
    )
    assert [(i.state, i.comments) for i in github_server.issues()] == [
        ("closed", ["Duplicate of #3"]),
        ("closed", ["Duplicate of #3"]),
        ("closed", [closing]),
    ]


def test_a_lost_update_comment_is_posted_by_the_re_run(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    failing = reporter.reports("failing", py3_12_Linux="mixed")
    assert reporter(failing, 1, "--no-compare") == 0
    github_server.fail("POST", r"/comments$", 502)
    with pytest.raises(NetworkError, match=r"HTTP 502 while commenting on issue #1"):
        reporter(failing, 2, "--no-compare")
    assert reporter(failing, 2, "--no-compare") == 0  # the job re-run
    [updated] = github_server.issues()
    [comment] = updated.comments
    assert comment.startswith(f"Still failing in [run 2]({reporter.run_url(2)})")
    assert "[run 2]" in updated.body
    # The comment is posted but its answer is lost: the re-run only updates the body.
    github_server.fail("POST", r"/comments$", 502, after=True)
    with pytest.raises(NetworkError):
        reporter(failing, 3, "--no-compare")
    assert "[run 2]" in github_server.issues()[0].body
    assert reporter(failing, 3, "--no-compare") == 0
    assert reporter.output.startswith("Updated issue #1")
    [updated] = github_server.issues()
    assert "[run 3]" in updated.body
    assert len(updated.comments) == 2
    assert updated.comments[-1].endswith("<!-- nightly-sessions:run 3 update -->")
    assert reporter(failing, 3, "--no-compare") == 0
    assert reporter.output == "Nothing to do: issue #1 already shows this run."


def test_a_failed_close_is_finished_by_the_re_run_with_one_comment(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    assert reporter(reporter.reports("failing", py3_12_Linux="mixed"), 1, "--no-compare") == 0
    green = reporter.reports("green", py3_12_Linux="passing")
    github_server.fail("PATCH", r"/issues/1$", 500, times=4)  # every retry of the close
    with pytest.raises(NetworkError, match=r"HTTP 500 while updating issue #1"):
        reporter(green, 2, "--no-compare")
    [still_open] = github_server.issues()
    assert (still_open.state, len(still_open.comments)) == ("open", 1)
    assert reporter(green, 2, "--no-compare") == 0
    assert reporter.output.startswith("Closed issue #1")
    [closed] = github_server.issues()
    assert (closed.state, len(closed.comments)) == ("closed", 1)


def test_a_re_run_of_an_older_run_leaves_a_newer_issue_alone(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    failing = reporter.reports("failing", py3_12_Linux="mixed")
    green = reporter.reports("green", py3_12_Linux="passing")
    assert reporter(green, 100, "--no-compare") == 0
    assert reporter(failing, 101, "--no-compare") == 0  # the newest run fails: issue #1
    before = writes(github_server)
    for folder in (green, failing):  # someone re-runs the older run's reporting job
        assert reporter(folder, 100, "--no-compare") == 0
        assert reporter.output == (
            "Nothing to do: run 100 is older than run 101, which issue #1 already shows; "
            "a re-run of an older run leaves it as it is."
        )
    assert writes(github_server) == before
    [issue_record] = github_server.issues(state="open")
    assert "[run 101]" in issue_record.body
    # Run 102 is green and closes it; re-running run 101 does not open it again.
    assert reporter(green, 102, "--no-compare") == 0
    assert reporter(failing, 101, "--no-compare") == 0
    assert reporter.output == (
        "Nothing to do: run 101 is older than run 102, which issue #1 already shows; "
        "a re-run of an older run leaves it as it is."
    )
    assert github_server.issues(state="open") == []
    assert reporter(failing, 103, "--no-compare") == 0  # a new breakage
    assert reporter.output.startswith("Opened issue #2")


def freshness(folder: Path, outcome: str) -> Path:
    """Add the freshness check's report to a reports folder."""
    (folder / "freshness").mkdir(exist_ok=True)
    message = "The newest nightly of sample was uploaded 24 days ago; 6 days are left."
    report = {"schema": 1, "kind": "freshness", "outcome": outcome, "message": message}
    (folder / "freshness" / "freshness-report.json").write_text(json.dumps(report))
    return folder


def test_an_issue_only_about_uploads_says_so(reporter: Reporter, github_server: FakeGitHub) -> None:
    stale = freshness(reporter.reports("stale", py3_12_Linux="passing"), "stale")
    assert reporter(stale, 1, "--no-compare", NIGHTLY_TESTS_RESULT="success") == 0
    [opened] = github_server.issues()
    assert opened.title == "Nightly uploads need attention"
    assert "## Nightly uploads need attention" in opened.body
    # The tests break as well: the title follows; a title someone chose is kept.
    both = freshness(reporter.reports("both", py3_12_Linux="mixed"), "stale")
    assert reporter(both, 2, "--no-compare") == 0
    assert github_server.issues()[0].title == "Nightly tests are failing"
    assert reporter(stale, 3, "--no-compare") == 0
    assert github_server.issues()[0].title == "Nightly uploads need attention"
    github_server.issue_records[1].title = "numpy nightlies broke us"
    assert reporter(both, 4, "--no-compare") == 0
    assert github_server.issues()[0].title == "numpy nightlies broke us"
    # All green: the comment says what passed.
    fresh = freshness(reporter.reports("fresh", py3_12_Linux="passing"), "fresh")
    assert reporter(fresh, 5, "--no-compare") == 0
    [closed] = github_server.issues()
    assert closed.state == "closed"
    assert closed.comments[-1].startswith(
        f"The nightly tests passed and the nightly uploads are fresh in [run 5]({reporter.run_url(5)})"
    )


def test_found_by_marker_not_by_title_or_pull_request(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    marker = "<!-- nightly-sessions:tracking-issue nightly-tests -->"
    github_server.add_issue(
        "Nightly tests are failing", "same title, no marker", ["nightly-failure"]
    )
    github_server.add_issue("A fix", marker, ["nightly-failure"], pull_request=True)
    github_server.add_issue("Tracking", f"{marker}\nold body", ["nightly-failure"])
    assert reporter(reporter.reports("r", py3_12_Linux="mixed"), 7, "--no-compare") == 0
    assert reporter.output.startswith("Updated issue #3")
    assert github_server.issues()[0].body == "same title, no marker"


def test_dry_run_prints_and_touches_nothing(reporter: Reporter, github_server: FakeGitHub) -> None:
    folder = reporter.reports("r", py3_12_Linux="mixed")
    assert reporter(folder, 8) == 0
    before = writes(github_server)
    assert reporter(folder, 9, "--dry-run") == 0
    assert writes(github_server) == before
    body, action = reporter.lines
    assert "<!-- nightly-sessions:tracking-issue nightly-tests -->" in body
    assert action.startswith(
        "Would update issue #1 (the nightly tests failed again) with the comment: Still failing in [run 9]"
    )
    assert not (reporter.root / "summary-9.md").exists()


def test_dry_run_without_a_token_needs_no_api(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    assert (
        reporter(reporter.reports("r", py3_12_Linux="mixed"), 8, "--dry-run", GITHUB_TOKEN="") == 0
    )
    assert reporter.lines[-1] == (
        "Would open a tracking issue, or update the open one labelled 'nightly-failure' "
        "(no GitHub token to look it up)."
    )
    assert github_server.requests == []


def test_missing_token_is_a_config_error(reporter: Reporter) -> None:
    with pytest.raises(ConfigError, match=r"^No GitHub token: set GITHUB_TOKEN or GH_TOKEN"):
        reporter(reporter.reports("r", py3_12_Linux="mixed"), 8, GITHUB_TOKEN="")


def test_gh_token_and_label_setting(reporter: Reporter, github_server: FakeGitHub) -> None:
    folder = reporter.reports("r", py3_12_Linux="mixed")
    assert (
        reporter(folder, 8, "--label", "upstream", GITHUB_TOKEN="", GH_TOKEN=github_server.token)
        == 0
    )
    assert [i.labels for i in github_server.issues()] == [["upstream"]]


def test_never_ran_jobs_are_reported(reporter: Reporter, github_server: FakeGitHub) -> None:
    folder = reporter.reports("r", py3_11_Linux="passing", py3_12_macOS=None)
    job_folder(
        folder, "py3.14-Linux", None, outcome="not-run", stage="install",
        error="uv could not install numpy: no wheel for this Python.",
        output_tail="\x1b[31merror\x1b[0m: No solution found when resolving dependencies",
    )  # fmt: skip
    env = {"NIGHTLY_EXPECT_JOBS": "py3.11-Linux, py3.12-macOS py3.13-Windows"}
    assert reporter(folder, 11, "--no-compare", **env) == 0
    [opened] = github_server.issues()
    assert "3 of 4 jobs failed" in opened.body
    assert (
        "| `py3.13-Windows` | `3.13` | `Windows` | tests never ran / report absent |" in opened.body
    )
    assert "the artifact nightly-reports-py3.12-macOS holds no nightly-report.json" in opened.body
    assert "The tests never ran: the `install` step failed." in opened.body
    assert "error: No solution found" in opened.body


def test_cancelled_run_leaves_the_issue_alone(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    folder = reporter.reports("r", py3_12_Linux=None)
    assert reporter(folder, 12, "--tests-result", "cancelled") == 0
    assert (
        reporter.output
        == "Nothing to do: the test jobs were cancelled; the tracking issue is left as it is."
    )
    assert github_server.requests == []


def test_failure_after_the_tests_is_reported(reporter: Reporter, github_server: FakeGitHub) -> None:
    folder = reporter.reports("r", py3_12_Linux="passing")
    assert reporter(folder, 13, "--no-compare", NIGHTLY_TESTS_RESULT="failure") == 0
    [opened] = github_server.issues()
    assert "every report says the tests passed: a step after the tests failed" in opened.body


def test_bad_tests_result_is_a_sentence(reporter: Reporter) -> None:
    with pytest.raises(
        ConfigError, match=r"NIGHTLY_TESTS_RESULT is 'red', but it must be one of success"
    ):
        reporter(reporter.reports("r"), 13, NIGHTLY_TESTS_RESULT="red")


def test_green_run_comparison_problems_are_said(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    folder = reporter.reports("r", py3_12_Linux="mixed")
    assert reporter(folder, 14) == 0
    assert (
        "No successful run of `nightly.yml` on `main` to compare with yet."
        in github_server.issues()[0].body
    )
    expired = github_server.add_run(
        artifacts={"nightly-reports-py3.12-Linux": {"a": b""}}, expired=True
    )
    assert reporter(folder, 15) == 0
    assert (
        f"The report artifacts of the last green run, [run {expired}]"
        in github_server.issues()[0].body
    )
    assert "have expired" in github_server.issues()[0].body


def test_no_actions_permission_still_opens_the_issue(
    tmp_path: Path, sample_runs: SampleRuns
) -> None:
    with serve_github(permissions={"issues": "write"}) as server:
        reporter = Reporter(server, tmp_path, sample_runs)
        assert reporter(reporter.reports("r", py3_12_Linux="mixed"), 16) == 0
        [opened] = server.issues()
    assert (
        "The last green run could not be read: GitHub refused finding the last green run"
        in opened.body
    )
    assert "`actions: read`" in opened.body


def test_enterprise_server(tmp_path: Path, sample_runs: SampleRuns) -> None:
    with serve_github(api_prefix="/api/v3") as server:
        reporter = Reporter(server, tmp_path, sample_runs)
        assert reporter(reporter.reports("r", py3_12_Linux="mixed"), 17) == 0
        assert len(server.issues()) == 1
        assert all(call.path.startswith("/repos/") for call in server.calls(path=WRITES))


def test_missing_issues_write_fails_and_keeps_the_test_failure(
    tmp_path: Path, sample_runs: SampleRuns
) -> None:
    with serve_github(permissions={"issues": "read", "actions": "read"}) as server:
        reporter = Reporter(server, tmp_path, sample_runs)
        with pytest.raises(NetworkError) as error:
            reporter(reporter.reports("r", py3_12_Linux="mixed"), 18)
    message = str(error.value)
    assert "HTTP 403: Resource not accessible by integration" in message
    assert "`permissions: issues: write`" in message
    assert message.endswith(
        "Meanwhile the nightly tests failed (1 failing job(s)); see the run page."
    )
    assert error.value.exit_code == 3


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            {"method": "POST", "path": r"/issues$", "status": 422, "message": "Validation Failed"},
            "HTTP 422: Validation Failed",
        ),
        (
            {"method": "GET", "path": r"/issues$", "status": 401, "message": "Bad credentials"},
            "GitHub rejected the token",
        ),
        ({"method": "GET", "path": r"/issues$", "status": 404}, "answered 404 while listing"),
        (
            {
                "method": "GET",
                "path": r"/issues$",
                "status": 429,
                "headers": {"retry-after": "900"},
                "times": 9,
            },
            "rate limit",
        ),
        (
            {"method": "GET", "path": r"/issues$", "status": 500, "times": 9},
            "HTTP 500 while listing",
        ),
    ],
)
def test_api_errors_are_one_sentence(
    reporter: Reporter, github_server: FakeGitHub, fault: dict[str, object], expected: str
) -> None:
    github_server.fail(**fault)  # type: ignore[arg-type]
    with pytest.raises(NetworkError, match=expected) as error:
        reporter(reporter.reports("r", py3_12_Linux="mixed"), 19, "--no-compare")
    assert "\n" not in str(error.value)
    assert github_server.token not in str(error.value)


def test_rate_limit_within_the_bound_is_waited_out(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    github_server.fail("POST", r"/issues$", 429, headers={"retry-after": "20"})
    assert reporter(reporter.reports("r", py3_12_Linux="mixed"), 20, "--no-compare") == 0
    assert reporter.sleeps == [20.0]
    assert len(github_server.issues()) == 1


def test_lost_answer_to_create_makes_no_duplicate(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    github_server.fail("POST", r"/issues$", 502, after=True)
    folder = reporter.reports("r", py3_12_Linux="mixed")
    assert reporter(folder, 21, "--no-compare") == 0
    assert reporter.output.startswith("Opened issue #1")
    assert len(github_server.issues()) == 1
    assert reporter(folder, 21, "--no-compare") == 0  # the job re-run
    assert len(github_server.issues()) == 1


def test_unreachable_api(reporter: Reporter) -> None:
    folder = reporter.reports("r", py3_12_Linux="mixed")
    with pytest.raises(
        NetworkError, match=r"^GitHub could not be reached while listing the open issues"
    ):
        reporter(folder, 22, "--no-compare", GITHUB_API_URL=f"http://127.0.0.1:{free_port()}")


def test_bad_arguments_are_one_sentence(reporter: Reporter) -> None:
    with pytest.raises(
        ConfigError,
        match=r"^The command line is wrong: unrecognized arguments: --bogus; see `nox -s nightly_issue -- --help`",
    ):
        session_args("nightly_issue", ["--bogus"])
    with pytest.raises(
        ConfigError, match=r"^The repository 'nope' is not of the form owner/name\.$"
    ):
        reporter(reporter.reports("r"), 23, "--repository", "nope")
    with pytest.raises(
        ConfigError, match=r"^GITHUB_API_URL is 'ftp://x', but it must be an http\(s\) URL\.$"
    ):
        reporter(reporter.reports("r"), 23, GITHUB_API_URL="ftp://x")


# The real entry points: `python -m nightly_sessions issue` and `nox -s nightly_issue`.


def clean_environ(server: FakeGitHub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "NIGHTLY_"))}
    env.update(
        GITHUB_API_URL=server.url, GITHUB_REPOSITORY=server.repository, GITHUB_RUN_ID="31",
        GITHUB_SERVER_URL=server.root_url, GITHUB_TOKEN=server.token, **extra,
    )  # fmt: skip
    return env


def run_tool(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_cli_reports_and_never_prints_the_token(
    reporter: Reporter, github_server: FakeGitHub
) -> None:
    folder = reporter.reports("r", py3_12_Linux="mixed")
    token = github_server.token
    dry = run_tool(
        ["-m", "nightly_sessions", "issue", str(folder), "--dry-run"],
        reporter.root,
        clean_environ(github_server),
    )
    assert dry.returncode == 0, dry.stderr
    assert "Would open a tracking issue (the nightly tests failed" in dry.stdout
    real = run_tool(
        ["-m", "nightly_sessions", "issue", str(folder)],
        reporter.root,
        clean_environ(github_server),
    )
    assert real.returncode == 0, real.stderr
    assert "Opened issue #1" in real.stdout
    github_server.fail("GET", r"/issues$", 403, message=f"token {token} lacks issues: write")
    failed = run_tool(
        ["-m", "nightly_sessions", "issue", str(folder)],
        reporter.root,
        clean_environ(github_server),
    )
    assert failed.returncode == 3
    assert failed.stderr.startswith("nightly-sessions: GitHub refused listing the open issues")
    assert "Traceback" not in failed.stderr
    for result in (dry, real, failed):
        assert token not in result.stdout + result.stderr
    assert all(
        token not in i.body and token not in "".join(i.comments) for i in github_server.issues()
    )


def test_nox_session(reporter: Reporter, github_server: FakeGitHub, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(
        EXAMPLE_PROJECT, project, ignore=shutil.ignore_patterns(".nox", "nightly-reports")
    )
    folder = reporter.reports("r", py3_12_Linux="mixed")
    env = clean_environ(github_server)
    result = run_tool(
        ["-m", "nox", "--no-color", "-s", "nightly_issue", "--", str(folder)], project, env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Opened issue #1" in result.stderr
    assert len(github_server.issues()) == 1
    bad = run_tool(
        ["-m", "nox", "--no-color", "-s", "nightly_issue", "--", "--bogus"], project, env
    )
    assert bad.returncode != 0
    assert "unrecognized arguments: --bogus; see `nox -s nightly_issue -- --help`" in bad.stderr
    for output in (result.stdout + result.stderr, bad.stdout + bad.stderr):
        assert github_server.token not in output


@pytest.mark.parametrize(
    "label",
    ["bug: nightly 🔥", "nightly ${{ github.token }}", "$(id) `x` #1", "Ünïcode 夜間 label"],
)
def test_odd_labels_reach_github_as_given(
    reporter: Reporter, github_server: FakeGitHub, label: str
) -> None:
    """Labels the template accepts (emoji, `${{`, `$(`, non-ASCII) go to the API intact, and
    the next run finds the issue by that label instead of opening a second one.
    """
    folder = reporter.reports("r", py3_12_Linux="mixed")
    assert reporter(folder, 8, "--no-compare", "--label", label) == 0
    assert [i.labels for i in github_server.issues()] == [[label]]
    assert reporter(folder, 9, "--no-compare", "--label", label) == 0
    assert len(github_server.issues()) == 1
