"""`nightly_issue -- --workflow-run`: the wheels workflow's own issue, against the stand-in."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from nightly_sessions.channel import token_check
from nightly_sessions.core.artifacts import TOKEN_NAME
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError, NightlyError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.testing.anaconda import serve_anaconda
from nightly_sessions.testing.github import FakeGitHub, JobRecord, StepRecord, serve_github
from nightly_sessions.tracking import issue, run_tracking
from nightly_sessions.tracking.decisions import marker

pytestmark = pytest.mark.integration

LABEL = "nightly-wheels-failure"
TESTS_ISSUE_BODY = f"{marker('nightly-tests')}\n\nThe tests fail."


def build(conclusion: str = "success", os: str = "ubuntu-latest") -> JobRecord:
    return JobRecord(
        f"Build wheels on {os}",
        conclusion,
        steps=[
            StepRecord("Set up job"),
            StepRecord("Check out the repository"),
            StepRecord("Build the nightly wheels with cibuildwheel", conclusion),
        ],
    )


def upload(conclusion: str = "success") -> JobRecord:
    return JobRecord(
        "Upload to anaconda.org/scientific-python-nightly-wheels",
        conclusion,
        steps=[StepRecord("Check every file before upload", conclusion)],
    )


def reporting() -> JobRecord:
    return JobRecord("Update the wheels tracking issue", None, status="in_progress")


@dataclass
class Reporter:
    """Runs `issue --workflow-run` in-process as a given run, recording what it logs."""

    server: FakeGitHub
    root: Path
    lines: list[str] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)

    def add_run(self, *jobs: JobRecord) -> int:
        return self.server.add_run(workflow="nightly-wheels.yml", jobs=[*jobs, reporting()])

    def environ(self, run_id: int | str, **extra: str) -> dict[str, str]:
        return {
            "GITHUB_API_URL": self.server.url,
            "GITHUB_TOKEN": self.server.token,
            "GITHUB_REPOSITORY": self.server.repository,
            "GITHUB_SERVER_URL": self.server.root_url,
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_WORKFLOW": "Nightly wheels",
            "GITHUB_STEP_SUMMARY": str(self.root / f"summary-{run_id}.md"),
            **extra,
        }

    def __call__(self, run_id: int | str, *args: str, **env: str) -> int:
        self.lines.clear()
        parsed = session_args("nightly_issue", ["--workflow-run", *args])
        assert parsed is not None
        return issue.run(
            parsed, self.settings, environ=self.environ(run_id, **env),
            sleep=lambda _: None, log=self.lines.append,
        )  # fmt: skip

    def run_url(self, run_id: int) -> str:
        return f"{self.server.root_url}/octo/project/actions/runs/{run_id}"


@pytest.fixture
def reporter(tmp_path: Path) -> Iterator[Reporter]:
    with serve_github() as server:
        yield Reporter(server, tmp_path)


def test_life_of_the_wheels_issue(reporter: Reporter) -> None:
    server = reporter.server
    tests_issue = server.add_issue(
        "Nightly tests are failing", TESTS_ISSUE_BODY, ["nightly-failure"]
    )

    # A build fails: one issue of its own kind, with the job and the step.
    first = reporter.add_run(build(), build("failure", "windows-latest"), upload())
    assert reporter(first) == 0
    [opened] = server.issues(label=LABEL)
    assert opened.title == "Nightly wheels are failing"
    assert marker("nightly-wheels") in opened.body
    failing_job = server.runs[first].jobs[1]
    job_url = f"{server.root_url}/octo/project/actions/runs/{first}/job/{failing_job.id}"
    assert (
        f"| [`Build wheels on windows-latest`]({job_url}) | **failure** "
        f"| [`Build the nightly wheels with cibuildwheel`]({job_url}#step:3:1) |"
    ) in opened.body
    assert "1 of 3 jobs failed" in opened.body  # the running reporter is not counted
    assert server.labels[LABEL]["description"].startswith("The scheduled build or upload")
    assert reporter.lines == [
        f"Opened issue #{opened.number}: {server.root_url}/octo/project/issues/2"
    ]
    assert (reporter.root / f"summary-{first}.md").read_text() == opened.body

    # The same run reported again changes nothing.
    writes = len(server.calls("POST")) + len(server.calls("PATCH"))
    assert reporter(first) == 0
    assert len(server.calls("POST")) + len(server.calls("PATCH")) == writes
    assert reporter.lines == [f"Nothing to do: issue #{opened.number} already shows this run."]

    # It fails again: the same issue is updated, with a comment saying it is the same.
    second = reporter.add_run(build(), build("failure", "windows-latest"), upload())
    assert reporter(second) == 0
    [updated] = server.issues(label=LABEL)
    assert updated.number == opened.number
    assert f"[run {second}]({reporter.run_url(second)})" in updated.body
    [comment] = updated.comments
    assert comment == (
        f"Still failing in [run {second}]({reporter.run_url(second)}): "
        "`Build wheels on windows-latest`. The same jobs and steps failed as before; the "
        f"description above shows the newest state.\n\n<!-- nightly-sessions:run {second} update -->"
    )

    # Now the upload fails instead.
    third = reporter.add_run(build(), build(os="windows-latest"), upload("failure"))
    assert reporter(third) == 0
    assert "1 new, 1 no longer failing" in server.issues(label=LABEL)[0].comments[-1]
    assert "Check every file before upload" in server.issues(label=LABEL)[0].body

    # Green: closed with a link to the green run.
    green = reporter.add_run(build(), build(os="windows-latest"), upload())
    assert reporter(green) == 0
    [closed] = server.issues(label=LABEL)
    assert closed.state == "closed"
    assert (
        closed.comments[-1]
        == f"Every job passed in [run {green}]({reporter.run_url(green)}); closing.\n\n"
        f"<!-- nightly-sessions:run {green} close -->"
    )
    assert (reporter.root / f"summary-{green}.md").read_text() == "Every job of this run passed.\n"

    # A later failure is a new breakage: a new issue.
    fourth = reporter.add_run(build("failure"), upload("skipped"))
    assert reporter(fourth) == 0
    assert [i.state for i in server.issues(label=LABEL)] == ["closed", "open"]

    # The tests issue was never touched.
    assert server.issue_records[tests_issue].body == TESTS_ISSUE_BODY
    assert server.issue_records[tests_issue].comments == []
    assert not server.calls("PATCH", rf"/issues/{tests_issue}$")


def test_custom_label_setting_and_key(reporter: Reporter) -> None:
    run = reporter.add_run(build("timed_out"))
    parsed = session_args("nightly_issue", ["--workflow-run", "--key", "wheels-2"])
    assert parsed is not None
    settings = Settings(wheels_issue_label="wheels-broken")
    assert issue.run(parsed, settings, environ=reporter.environ(run), log=print) == 0
    [opened] = reporter.server.issues(label="wheels-broken")
    assert marker("wheels-2") in opened.body


def test_cancelled_run_leaves_the_issue_alone(reporter: Reporter) -> None:
    assert reporter(reporter.add_run(build("failure"))) == 0
    assert reporter(reporter.add_run(build(), upload("cancelled"))) == 0
    assert [i.state for i in reporter.server.issues(label=LABEL)] == ["open"]
    [line] = reporter.lines
    assert line == (
        "Nothing to do: no job failed but Upload to anaconda.org/"
        "scientific-python-nightly-wheels was cancelled."
    )


def test_dry_run_reads_but_never_writes(reporter: Reporter) -> None:
    assert reporter(reporter.add_run(build("failure")), "--dry-run") == 0
    assert (
        reporter.lines[-1]
        == "Would open a tracking issue (a job failed and no tracking issue is open)."
    )
    assert marker("nightly-wheels") in reporter.lines[0]
    assert not reporter.server.calls("POST")
    assert not reporter.server.calls("PATCH")


def test_run_without_finished_jobs_is_refused(reporter: Reporter) -> None:
    run = reporter.server.add_run(jobs=[reporting()])
    with pytest.raises(ConfigError, match=rf"Run {run} has no finished job to report on"):
        reporter(run)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["reports"], {}, "drop the reports folder"),
        (["--expect-jobs", "py3.13-Linux"], {}, "drop the reports folder, --expect-jobs"),
        ([], {"GITHUB_RUN_ID": ""}, "No run to report: set GITHUB_RUN_ID or pass --run-id."),
        (["--run-id", "latest"], {}, "No run to report ('latest' is not a run id)"),
        ([], {"GITHUB_TOKEN": ""}, "No GitHub token: --workflow-run reads the run's jobs"),
    ],
)
def test_bad_input_is_one_sentence(
    reporter: Reporter, args: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        reporter(reporter.add_run(build()), *args, **env)


def test_run_id_option_reports_another_run(reporter: Reporter) -> None:
    run = reporter.add_run(build("failure"))
    assert reporter("999999", "--run-id", str(run)) == 0
    [opened] = reporter.server.issues(label=LABEL)
    assert f"[run {run}]({reporter.run_url(run)})" in opened.body


def test_jobs_need_actions_read(tmp_path: Path) -> None:
    with serve_github(permissions={"issues": "write"}) as server:
        reporter = Reporter(server, tmp_path)
        with pytest.raises(NetworkError, match=r"HTTP 403.*`permissions: actions: read`"):
            reporter(reporter.add_run(build("failure")))


def test_failure_to_report_still_names_the_failing_jobs(tmp_path: Path) -> None:
    with serve_github(permissions={"issues": "read", "actions": "read"}) as server:
        reporter = Reporter(server, tmp_path)
        with pytest.raises(NetworkError) as error:
            reporter(reporter.add_run(build("failure", "macos-latest")))
    message = str(error.value)
    assert "HTTP 403" in message
    assert message.endswith(
        "Meanwhile these jobs failed: Build wheels on macos-latest; see the run page."
    )
    assert server.token not in message


# The upload token: the upload job's check leaves token-report.json; the issue shows it.

ANACONDA_TOKEN = "anaconda-upload-token-Qw81"


def token_upload(conclusion: str = "success") -> JobRecord:
    return JobRecord(
        "Upload to anaconda.org/scientific-python-nightly-wheels",
        conclusion,
        steps=[
            StepRecord("Check every file before upload"),
            StepRecord("Check the upload token", conclusion),
            StepRecord("Upload the wheels", "skipped" if conclusion == "failure" else "success"),
        ],
    )


def check_token(folder: Path, run_id: int, **token: object) -> None:
    """Run the real token check against the anaconda.org stand-in, as the upload job of run
    `run_id` does, leaving its report where the reporting job downloads it."""
    with serve_anaconda() as anaconda:
        anaconda.add_token(ANACONDA_TOKEN, login="jdoe", **token)  # type: ignore[arg-type]
        options = token_check.TokenCheckOptions(api_url=anaconda.url, report_dir=folder)
        with contextlib.suppress(NightlyError):  # the step failed; its report stays
            token_check.run(
                options, ANACONDA_TOKEN, environ={"GITHUB_RUN_ID": str(run_id)}, log=lambda _: None
            )


@pytest.fixture
def token_reporter(tmp_path: Path) -> Iterator[Reporter]:
    """A reporter that reads the downloaded reports below tmp_path/downloaded-reports."""
    with serve_github() as server:
        settings = Settings(report_dir=str(tmp_path / "downloaded-reports"))
        yield Reporter(server, tmp_path, settings=settings)


def test_a_token_that_expires_soon_opens_the_issue_with_every_job_green(
    token_reporter: Reporter,
) -> None:
    reporter, server = token_reporter, token_reporter.server
    folder = reporter.settings.report_path / "nightly-token-report"

    # Every job passed, but the token expires in 10 days: an issue of its own title.
    expires = datetime.now(timezone.utc) + timedelta(days=10, hours=1)
    first = reporter.add_run(build(), token_upload())
    check_token(folder, first, expires=expires)
    assert reporter(first) == 0
    [opened] = server.issues(label=LABEL)
    assert (
        opened.title == run_tracking.TOKEN_TITLE == "The anaconda.org upload token needs renewing"
    )
    assert "## The anaconda.org upload token needs renewing" in opened.body
    assert "Every job of `Nightly wheels` passed in [run " in opened.body
    warning = (
        "The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN (nightly-uploads) expires on "
    )
    assert warning in opened.body
    assert ", in 10 days, and from then on every nightly upload fails: the anaconda.org user " in (
        opened.body
    )
    assert "jdoe must make a new personal token at https://anaconda.org/jdoe/settings/access" in (
        opened.body
    )
    assert 'pypi:upload ("Allow uploads to Standard Python repositories")' in opened.body
    assert "store it as the secret ANACONDA_ORG_UPLOAD_TOKEN" in opened.body
    assert warning in (reporter.root / f"summary-{first}.md").read_text()

    # The next run finds the same token: the issue is updated, the comment says so.
    second = reporter.add_run(build(), token_upload())
    check_token(folder, second, expires=expires)
    assert reporter(second) == 0
    [updated] = server.issues(label=LABEL)
    [comment] = updated.comments
    assert comment == (
        f"The upload token still needs renewing in [run {second}]({reporter.run_url(second)}). "
        "The upload token says the same as before; the description above shows the newest "
        f"state.\n\n<!-- nightly-sessions:run {second} update -->"
    )
    assert f"[run {second}]" in updated.body

    # Then a build fails too: the title follows what fails, the token section stays.
    third = reporter.add_run(build("failure"), token_upload())
    check_token(folder, third, expires=expires)
    assert reporter(third) == 0
    [both] = server.issues(label=LABEL)
    assert both.title == run_tracking.DEFAULT_TITLE
    assert "### The anaconda.org upload token" in both.body
    assert "`Build wheels on ubuntu-latest`" in both.body

    # A new token, every job green: closed, saying the token is valid.
    green = reporter.add_run(build(), token_upload())
    check_token(folder, green)
    assert reporter(green) == 0
    [closed] = server.issues(label=LABEL)
    assert closed.state == "closed"
    assert closed.comments[-1].startswith(
        f"Every job passed and the upload token is valid in [run {green}]"
    )
    for record in server.issue_records.values():
        assert ANACONDA_TOKEN not in record.body + "".join(record.comments)


def test_an_expired_token_is_the_failing_step_and_its_sentence(token_reporter: Reporter) -> None:
    reporter, server = token_reporter, token_reporter.server
    run = reporter.add_run(build(), token_upload("failure"))
    check_token(reporter.settings.report_path, run, expired=True)
    assert reporter(run) == 0
    [opened] = server.issues(label=LABEL)
    assert opened.title == run_tracking.DEFAULT_TITLE
    assert "| **failure** | [`Check the upload token`](" in opened.body
    assert (
        "### The anaconda.org upload token\n\nThe anaconda.org upload token in "
        "ANACONDA_ORG_UPLOAD_TOKEN has expired (anaconda.org answered 401: Authentication "
        "token has expired), so no nightly can be uploaded"
    ) in opened.body
    assert ANACONDA_TOKEN not in opened.body


def test_a_token_report_of_another_run_or_unreadable_is_left_out(
    token_reporter: Reporter,
) -> None:
    reporter, server = token_reporter, token_reporter.server
    folder = reporter.settings.report_path
    run = reporter.add_run(build(), token_upload())
    check_token(folder / "old", run - 1 if run > 1 else 999, expires=timedelta(days=3))
    (folder / "broken").mkdir()
    (folder / "broken" / TOKEN_NAME).write_text("{not json")
    assert reporter(run) == 0
    assert server.issues(label=LABEL) == []  # every job passed; the stale warning is not shown
    assert any("not a token report that can be read" in line for line in reporter.lines)
    assert any(f"not of run {run}; left out" in line for line in reporter.lines)


def test_a_valid_token_far_from_expiry_changes_nothing(token_reporter: Reporter) -> None:
    reporter = token_reporter
    run = reporter.add_run(build(), token_upload())
    check_token(reporter.settings.report_path, run)
    report = json.loads((reporter.settings.report_path / TOKEN_NAME).read_text())
    assert report["outcome"] == "ok"
    assert reporter(run) == 0
    assert reporter.server.issues(label=LABEL) == []
    assert reporter.lines == ["Nothing to do: every job passed and no tracking issue is open."]
