"""The jobs and steps of the generated workflows, per answer combination: the test
matrix, the reporting job, the `pythons` job, the wheel builds, the build moment, the
upload, and the nox sessions each step names."""

from __future__ import annotations

import datetime
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import yaml

from nightly_sessions.core.commands import BY_SESSION
from nightly_sessions.core.posargs import session_args
from template.template_world import (
    COMBINATIONS,
    DEFAULT_PYTHONS,
    NOX_COMMAND,
    RUNNER_OS,
    acts_upstream,
    available,
    issue_jobs,
    nox_steps,
    published_job,
    steps,
    when,
    workflow,
    workflow_files,
)

AUTO_MATRIX = "${{ fromJSON(needs.pythons.outputs.python) }}"
DIST_ENV = {"NIGHTLY_DIST_DIR": "dist"}  # where the artifacts are kept and gathered


def test_a_hanging_test_run_fails_its_step_before_the_job_times_out(
    rendered: dict[str, Path],
) -> None:
    """A timed-out job is cancelled, which the tracking issue ignores; a timed-out step fails."""
    checked = [path for path in workflow_files(rendered) if path.name == "nightly-tests.yml"]
    assert checked
    for path in checked:
        job = yaml.safe_load(path.read_text())["jobs"]["tests"]
        _, step = nox_steps(job)["nightly_tests"]
        assert 0 < step["timeout-minutes"] <= job["timeout-minutes"] - 10


def test_every_session_named_exists_and_takes_its_arguments(rendered: dict[str, Path]) -> None:
    seen = set()
    for path in workflow_files(rendered):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in steps(job):
                if "--session" not in step.get("run", ""):  # not the tool install either
                    continue
                match = NOX_COMMAND.match(step["run"])
                assert match, f"{path}: {step['run']}"
                assert match[1] in BY_SESSION, f"{path}: no session {match[1]}"
                seen.add(match[1])
                arguments = shlex.split((match[2] or "").removeprefix("-- "))
                assert session_args(match[1], arguments) is not None
    assert seen == {
        "nightly_tests", "nightly_issue", "nightly_keepalive", "build_nightly", "check_dist",
        "upload_nightly", "nightly_freshness", "nightly_pythons", "nightly_token",
        "nightly_last_green", "nightly_published",
    }  # fmt: skip


def test_test_workflow_follows_the_answers(rendered: dict[str, Path]) -> None:
    for name, project in rendered.items():
        answers = COMBINATIONS[name]
        data = workflow(project, "nightly-tests.yml")
        on = data[True]  # YAML 1.1 reads the key `on` as true
        assert on["schedule"] == [{"cron": answers.get("test_cron", "37 3 * * 1")}]
        assert "workflow_dispatch" in on
        tests = data["jobs"]["tests"]
        assert tests["permissions"] == {"contents": "read"}
        matrix = tests["strategy"]["matrix"]
        pythons = answers.get("python_versions", DEFAULT_PYTHONS)
        oses = answers.get("test_oses", ["ubuntu-latest"])
        on_demand = bool(answers.get("pr_label") or answers.get("test_on_push"))
        if pythons == ["auto"]:
            check_pythons_job(data["jobs"]["pythons"], oses)
            needs = ["trigger", "pythons"] if on_demand else ["pythons"]
            assert tests["needs"][: len(needs)] == needs
            assert (matrix["python-version"], matrix["os"]) == (AUTO_MATRIX, oses)
        else:
            assert "pythons" not in data["jobs"]
            assert (matrix["python-version"], matrix["os"]) == (pythons, oses)
        [setup] = [step for step in steps(tests) if "setup-python" in step.get("uses", "")]
        assert setup["with"]["allow-prereleases"] is True  # the "3.16 (pre-release)" answer
        _, run = nox_steps(tests)["nightly_tests"]
        # The report's job name is the artifact's suffix, which the tracking issue relies on.
        job_name = "py${{ matrix.python-version }}-${{ runner.os }}"
        assert run["env"]["NIGHTLY_JOB"] == job_name
        # The folder the artifact keeps, whatever report-dir the project set.
        assert run["env"]["NIGHTLY_REPORT_DIR"] == "nightly-reports"
        report = next(step for step in steps(tests) if "upload-artifact" in step.get("uses", ""))
        assert report["if"] == "${{ always() }}"  # reports survive failing tests
        assert report["with"] == {
            "name": f"nightly-reports-{job_name}",
            "path": "nightly-reports/",
            "if-no-files-found": "warn",
            "retention-days": 30,
        }
        expected = (
            {"tests"} | when(issue_jobs(answers), "report") | when(pythons == ["auto"], "pythons")
        ) | when(on_demand, "trigger")
        last_green = available(answers, "nightly_last_green")
        expected |= when(last_green, "last-green")
        assert set(data["jobs"]) == expected | when(answers.get("keepalive", True), "keepalive")
        check_last_green(data["jobs"], wanted=last_green, gated=on_demand)
        if issue_jobs(answers):
            check_report_job(data["jobs"]["report"], pythons, oses)
            wanted = available(answers, "nightly_freshness") and answers.get(
                "check_freshness", True
            )
            check_freshness_step(data["jobs"]["report"], wanted)


def check_last_green(jobs: dict[str, Any], *, wanted: bool, gated: bool) -> None:
    """One job fetches the last green run's reports with a read-only token; the test jobs,
    which hold none, take them from it and point NIGHTLY_LAST_GREEN at them only when
    there were some."""
    tests = jobs["tests"]
    run = nox_steps(tests)["nightly_tests"][1]
    if not wanted:
        assert "last-green" not in tests.get("needs", [])
        assert "NIGHTLY_LAST_GREEN" not in run["env"]
        return
    job = jobs["last-green"]
    assert job["permissions"] == {"contents": "read", "actions": "read"}
    assert ("needs.trigger.outputs.run == 'true'" in job.get("if", "")) == gated
    arguments, fetch = nox_steps(job)["nightly_last_green"]
    assert session_args("nightly_last_green", shlex.split(arguments.removeprefix("-- ")))
    assert arguments == '-- nightly-last-green --branch "$DEFAULT_BRANCH"'
    assert fetch["continue-on-error"] is True  # the tests never wait on it failing
    assert fetch["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    keep = next(step for step in steps(job) if "upload-artifact" in step.get("uses", ""))
    assert keep["with"]["name"] == "nightly-last-green"
    assert job["outputs"]["artifact"] == f"${{{{ steps.{keep['id']}.outputs.artifact-id }}}}"
    assert "last-green" in tests["needs"]
    download = next(step for step in steps(tests) if "download-artifact" in step.get("uses", ""))
    assert download["if"] == "${{ needs.last-green.outputs.artifact != '' }}"
    assert download["with"] == {"name": "nightly-last-green", "path": "nightly-last-green"}
    names = [step["name"] for step in steps(tests)]
    assert names.index(download["name"]) < names.index(run["name"])
    assert run["env"]["NIGHTLY_LAST_GREEN"] == (
        "${{ needs.last-green.outputs.artifact && 'nightly-last-green' || '' }}"
    )
    assert "github.token" not in yaml.safe_dump(tests)


def check_freshness_step(job: dict[str, Any], wanted: bool) -> None:
    """Where freshness.py asks for it: before the issue step, writing where that step reads."""
    names = [step["name"] for step in steps(job)]
    sessions = nox_steps(job)
    issue_step = sessions["nightly_issue"][1]
    if not wanted:
        assert "nightly_freshness" not in sessions
        assert "if" not in issue_step
        return
    arguments, step = sessions["nightly_freshness"]
    assert arguments == ""
    assert step["env"] == {"NIGHTLY_REPORT_DIR": "downloaded-reports", "NOX_SCRIPT_MODE": "none"}
    assert names.index(step["name"]) == names.index(issue_step["name"]) - 1
    assert issue_step["if"] == "${{ !cancelled() }}"  # a stale channel still gets reported


def check_pythons_job(job: dict[str, Any], oses: list[str]) -> None:
    """python_versions auto: the first job reads the matrix from pyproject.toml."""
    assert job["permissions"] == {"contents": "read"}
    assert job["outputs"] == {
        "python": "${{ steps.pythons.outputs.python }}",
        "jobs": "${{ steps.pythons.outputs.jobs }}",
    }
    arguments, step = nox_steps(job)["nightly_pythons"]
    assert step["id"] == "pythons"
    assert arguments.split() == ["--", *(RUNNER_OS[os] for os in oses)]


def check_report_job(job: dict[str, Any], pythons: list[str], oses: list[str]) -> None:
    auto = pythons == ["auto"]
    assert job["needs"] == (["pythons", "tests"] if auto else ["tests"])
    assert job["if"] == acts_upstream("always()")
    assert job["permissions"] == {"contents": "read", "issues": "write", "actions": "read"}
    assert job["concurrency"] == {"group": "nightly-tracking-issue", "cancel-in-progress": False}
    [download] = [step for step in steps(job) if "download-artifact" in step.get("uses", "")]
    assert download["continue-on-error"] is True
    assert download["with"] == {"pattern": "nightly-reports-*", "path": "downloaded-reports"}
    arguments, step = nox_steps(job)["nightly_issue"]
    assert arguments == "-- downloaded-reports"
    expected_jobs = [f"py{python}-{RUNNER_OS[os]}" for os in oses for python in pythons]
    assert step["env"] == {
        "GITHUB_TOKEN": "${{ github.token }}",
        "NIGHTLY_TESTS_RESULT": (
            "${{ needs.pythons.result == 'failure' && 'failure' || needs.tests.result }}"
            if auto
            else "${{ needs.tests.result }}"
        ),
        "NIGHTLY_EXPECT_JOBS": (
            "${{ needs.pythons.outputs.jobs }}" if auto else " ".join(expected_jobs)
        ),
        "NOX_SCRIPT_MODE": "none",
    }


def test_wheel_workflow_builds_per_kind_and_uploads_only_upstream(
    rendered: dict[str, Path],
) -> None:
    for name, project in rendered.items():
        answers = COMBINATIONS[name]
        data = workflow(project, "nightly-wheels.yml")
        assert data[True]["schedule"] == [{"cron": "17 2 * * 0"}]
        build = data["jobs"]["build"]
        uses = [step.get("uses", "") for step in steps(build)]
        assert not any("cibuildwheel" in use for use in uses)  # the session stamps the version
        arguments, build_step = nox_steps(build)["build_nightly"]
        assert arguments == ""
        # Nothing overrides the project's [tool.cibuildwheel] (test-command included):
        # the variables are the folder the artifact keeps, whatever dist-dir says, and
        # the run's one build moment.
        assert build_step["env"] == {**DIST_ENV, "NIGHTLY_BUILD_DATE": BUILD_DATE}
        assert build["needs"] == ["build-date"]
        check_build_date_job(data["jobs"])
        checkout = next(step for step in steps(build) if "checkout" in step.get("uses", ""))
        assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}
        kept = next(step for step in steps(build) if "upload-artifact" in step.get("uses", ""))
        if answers.get("compiled"):
            assert build["strategy"]["matrix"]["os"] == answers.get(
                "cibw_platforms", ["ubuntu-latest", "macos-latest", "windows-latest"]
            )
            assert build["runs-on"] == "${{ matrix.os }}"
            assert kept["with"]["name"] == "nightly-wheels-${{ matrix.os }}"
            assert kept["with"]["path"] == "dist/*.whl"
        else:
            assert kept["with"]["name"] == "nightly-wheels-pure"
            assert kept["with"]["path"] == "dist/*"  # sdist and wheel
        check_upload_job(data["jobs"]["upload"], answers)
        jobs = {"build", "upload"} | when(answers.get("keepalive", True), "keepalive")
        jobs |= when(published_job(answers), "test-published")
        assert set(data["jobs"]) == {"build-date"} | jobs | when(issue_jobs(answers), "report")
        if issue_jobs(answers):
            report = data["jobs"]["report"]
            order = ["build", "upload", "test-published", "keepalive"]
            assert report["needs"] == sorted(jobs, key=order.index)
            assert report["permissions"] == {
                "contents": "read", "issues": "write", "actions": "read"
            }  # fmt: skip
            assert report["if"] == acts_upstream("always()")
            arguments, issue_step = nox_steps(report)["nightly_issue"]
            assert arguments == "-- --workflow-run"
            # The upload job's token check, where the issue step reads it.
            fetch = next(s for s in steps(report) if s["name"] == "Fetch the upload token's check")
            assert fetch["continue-on-error"] is True
            assert fetch["with"] == {
                "pattern": "nightly-token-report",
                "path": "downloaded-reports",
            }
            assert steps(report).index(fetch) < steps(report).index(issue_step)
            assert issue_step["env"]["NIGHTLY_REPORT_DIR"] == "downloaded-reports"
        dependabot = project / ".github" / "dependabot.yml"
        assert dependabot.exists() == answers.get("dependabot", True)


BUILD_DATE = "${{ needs.build-date.outputs.date }}"


def check_build_date_job(jobs: dict[str, Any]) -> None:
    """One job reads the clock; every job that builds takes the moment from its output."""
    job = jobs["build-date"]
    assert job["permissions"] == {}
    assert "needs" not in job  # first, once per run
    assert "strategy" not in job
    assert job["outputs"] == {"date": "${{ steps.clock.outputs.date }}"}
    [step] = steps(job)
    assert step["id"] == "clock"
    assert step["run"] == 'echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$GITHUB_OUTPUT"'
    builders = {
        name: step
        for name, other in jobs.items()
        for step in steps(other)
        if "build_nightly" in step.get("run", "")
    }
    assert list(builders) == ["build"]
    for name, step in builders.items():
        assert step["env"]["NIGHTLY_BUILD_DATE"] == BUILD_DATE
        assert jobs[name]["needs"] == ["build-date"]


def test_the_build_moment_is_an_iso_8601_utc_timestamp(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    """The clock step's own command, as the runner runs it, writes what the session reads."""
    job = workflow(rendered["pure-auto-one"], "nightly-wheels.yml")["jobs"]["build-date"]
    output = tmp_path / "github-output"
    result = subprocess.run(
        ["bash", "-c", steps(job)[0]["run"]],
        env={**os.environ, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    name, _, value = output.read_text().strip().partition("=")
    assert name == "date"
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert moment.utcoffset() == datetime.timedelta(0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value)


def check_upload_job(upload_job: dict[str, Any], answers: dict[str, Any]) -> None:
    assert upload_job["permissions"] == {"contents": "read"}
    assert upload_job["needs"] == ["build"]
    assert upload_job["environment"]["name"] == "nightly-upload"
    if answers.get("upload_when", "any") == "all":  # only when every build job succeeded
        assert upload_job["if"] == acts_upstream("!cancelled() && needs.build.result == 'success'")
    else:  # best effort: what was built
        assert upload_job["if"] == acts_upstream("!cancelled()")
    names = [step["name"] for step in steps(upload_job)]
    session = answers.get("upload_with") == "session"
    # The token is checked before anything is sent: by the session itself, or by a step
    # of its own before the action; its report is kept for the wheels issue.
    token_step = [] if session else ["Check the upload token (expiry and scopes)"]
    kept = ["Keep nightly-reports/token/token-report.json as an artifact"]
    expected = [
        "Gather the files of every build job",
        "Check every file before upload",
        *token_step,
        "Upload the wheels",
        *(kept if issue_jobs(answers) else []),
    ]
    assert names[-len(expected) :] == expected
    gather = steps(upload_job)[names.index("Gather the files of every build job")]
    action = steps(upload_job)[names.index("Upload the wheels")]
    assert gather["with"] == {"pattern": "nightly-wheels-*", "path": "dist", "merge-multiple": True}
    arguments, check = nox_steps(upload_job)["check_dist"]
    assert (arguments, check["env"]) == ("", {**DIST_ENV, "NOX_SCRIPT_MODE": "none"})
    secret = answers.get("upload_token_secret", "ANACONDA_ORG_UPLOAD_TOKEN")
    token_env = {secret: f"${{{{ secrets.{secret} }}}}", "NIGHTLY_REPORT_DIR": "nightly-reports"}
    if issue_jobs(answers):
        keep = steps(upload_job)[names.index(kept[0])]
        assert keep["if"] == "${{ always() }}"  # an expired token fails the step before
        assert keep["with"] == {
            "name": "nightly-token-report", "path": "nightly-reports/token/token-report.json",
            "if-no-files-found": "ignore", "retention-days": 5,
        }  # fmt: skip
    if session:
        arguments, step = nox_steps(upload_job)["upload_nightly"]
        assert arguments == "-- --verify"
        # The session reads the variable named by upload_token_env, the same answer.
        assert step["env"] == {**DIST_ENV, **token_env, "NOX_SCRIPT_MODE": "none"}
        assert "uses" not in action
        assert "nightly_token" not in nox_steps(upload_job)
    else:
        arguments, token = nox_steps(upload_job)["nightly_token"]
        assert arguments == ""
        assert token["env"] == {**token_env, "NOX_SCRIPT_MODE": "none"}
        assert "secrets." not in token["run"]
        assert action["uses"].startswith("scientific-python/upload-nightly-action@")
        assert action["with"] == {
            "artifacts_path": "dist",
            "anaconda_nightly_upload_organization": answers.get(
                "channel", "scientific-python-nightly-wheels"
            ),
            "anaconda_nightly_upload_token": f"${{{{ secrets.{secret} }}}}",
            "anaconda_nightly_upload_labels": answers.get("channel_labels", "main"),
        }
