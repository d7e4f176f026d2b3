"""`last-green`: the last green run's reports fetched for the test jobs, against the GitHub stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sample_reports import report_bytes

from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.nightly_tests.culprit_run import last_green_versions
from nightly_sessions.testing.github import FakeGitHub, serve_github
from nightly_sessions.tracking import last_green

pytestmark = pytest.mark.integration

JOBS = ("py3.12-Linux", "py3.13-Linux")


def environ(server: FakeGitHub, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_API_URL": server.url,
        "GITHUB_TOKEN": server.token,
        "GITHUB_REPOSITORY": server.repository,
        "GITHUB_WORKFLOW_REF": "octo/project/.github/workflows/nightly.yml@refs/pull/7/merge",
        **extra,
    }


def green_run(server: FakeGitHub, *jobs: str, numpy: str = "2.4.0.dev0+green") -> int:
    artifacts = {
        f"nightly-reports-{job}": {
            f"{job}/nightly-report.json": report_bytes(job, numpy),
            f"{job}/pytest-log.jsonl": b"",
        }
        for job in jobs
    }
    return server.add_run(conclusion="success", artifacts=artifacts)


def fetch(server: FakeGitHub, root: Path, *args: str, **env: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    parsed = session_args("nightly_last_green", [*args])
    assert parsed is not None
    code = last_green.run(
        parsed, Settings(project_root=root), environ=environ(server, **env),
        sleep=lambda _: None, log=lines.append,
    )  # fmt: skip
    return code, lines


def test_the_newest_green_run_s_reports_land_one_folder_per_job(
    github_server: FakeGitHub, tmp_path: Path
) -> None:
    green_run(github_server, *JOBS, numpy="2.4.0.dev0+older")
    newest = green_run(github_server, *JOBS)
    github_server.add_run(conclusion="failure", artifacts={"nightly-reports-x": {"a": b""}})
    code, lines = fetch(github_server, tmp_path, "--branch", "main")
    assert code == 0
    folder = tmp_path / "nightly-last-green"
    assert sorted(p.name for p in folder.iterdir()) == sorted(JOBS)
    report = json.loads((folder / "py3.13-Linux" / "nightly-report.json").read_text())
    assert report["job"] == "py3.13-Linux"
    assert f"runs/{newest}" in lines[-1]
    assert github_server.token not in "\n".join(lines)
    # What the culprit search then reads for its job: that run's versions.
    settings = Settings(project_root=tmp_path, last_green="nightly-last-green")
    versions, notes = last_green_versions(settings, "py3.13-Linux", "3.13")
    assert notes == []
    assert versions is not None
    assert versions["numpy"] == "2.4.0.dev0+green"


def test_a_newer_green_run_replaces_the_folder(github_server: FakeGitHub, tmp_path: Path) -> None:
    green_run(github_server, *JOBS)
    fetch(github_server, tmp_path, "--branch", "main")
    green_run(github_server, "py3.14-Linux")
    fetch(github_server, tmp_path, "--branch", "main")
    folder = tmp_path / "nightly-last-green"
    assert [p.name for p in folder.iterdir()] == ["py3.14-Linux"]
    assert not folder.with_name("nightly-last-green.old").exists()


def test_no_green_run_yet_is_a_notice_and_leaves_the_folder(
    github_server: FakeGitHub, tmp_path: Path
) -> None:
    kept = tmp_path / "nightly-last-green" / "py3.12-Linux" / "nightly-report.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    code, lines = fetch(github_server, tmp_path, "--branch", "main", GITHUB_ACTIONS="true")
    assert code == 0
    assert lines == [
        (
            "::notice title=No last green run to compare with::No successful run of "
            "`nightly.yml` on `main` to compare with yet."
        )
    ]
    assert kept.read_text() == "{}"


def test_without_a_token_it_says_which_permission(
    github_server: FakeGitHub, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"No GitHub token: .*`permissions: actions: read`\)\.$"):
        fetch(github_server, tmp_path, "--branch", "main", GITHUB_TOKEN="")


def test_outside_actions_the_workflow_must_be_named(
    github_server: FakeGitHub, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="outside GitHub Actions pass --workflow"):
        fetch(github_server, tmp_path, GITHUB_WORKFLOW_REF="")
    green_run(github_server, "py3.12-Linux")
    code, _ = fetch(
        github_server, tmp_path, "--workflow", "nightly.yml", "--branch", "main",
        GITHUB_WORKFLOW_REF="",
    )  # fmt: skip
    assert code == 0
    assert (tmp_path / "nightly-last-green" / "py3.12-Linux").is_dir()


def test_without_actions_read_the_refusal_is_a_sentence(tmp_path: Path) -> None:
    with serve_github(permissions={"issues": "write"}) as server:
        server.add_run(conclusion="success", artifacts={})
        with pytest.raises(Exception, match="GitHub refused finding the last green run") as info:
            fetch(server, tmp_path, "--branch", "main")
    assert server.token not in str(info.value)


def test_a_failed_write_keeps_the_earlier_reports(tmp_path: Path) -> None:
    folder = tmp_path / "last"
    last_green.replace_folder(folder, [{"job": "py3.12-Linux"}])
    blocker = tmp_path / "last.partial"
    blocker.write_text("a file where the staging folder goes")  # rmtree ignores a file
    with pytest.raises(
        ConfigError, match=r"Could not write the last green run's reports to .*last"
    ):
        last_green.replace_folder(folder, [{"job": "py3.13-Linux"}])
    assert [p.name for p in folder.iterdir()] == ["py3.12-Linux"]


@pytest.mark.parametrize(
    ("job", "expected"),
    [("py3.14t-Linux", "py3.14t-Linux"), ("../../etc", "etc"), ("a b/c", "a_b_c"), ("", "job-3")],
)
def test_job_folder_names_stay_inside_the_folder(job: str, expected: str) -> None:
    assert last_green.job_folder_name({"job": job}, 3) == expected


def test_the_workflow_step_runs_it_from_the_command_line(
    github_server: FakeGitHub, tmp_path: Path
) -> None:
    green_run(github_server, "py3.13-Linux")
    env = {**os.environ, **environ(github_server), "GITHUB_ACTIONS": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "nightly_sessions", "last-green", "--branch", "main"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "nightly-last-green" / "py3.13-Linux" / "nightly-report.json").is_file()
    assert github_server.token not in done.stdout + done.stderr
