"""Runs on demand: a labelled pull request, the "[test-nightly]" marker in a commit
message, pushes to the default branch. The `trigger` job's decision runs for real in
bash, and what a pull request can reach is read off the rendered workflows."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nightly_sessions.testing.template import GIT_ENV, commit_all, git
from template.template_world import COMBINATIONS, workflow

MARKER = "[test-nightly]"


def the_tests_workflow(rendered: dict[str, Path], combination: str) -> dict[Any, Any]:
    return workflow(rendered[combination], "nightly-tests.yml")


def decide_script(rendered: dict[str, Path]) -> tuple[str, dict[str, str]]:
    """The `run:` of the Decide step, and its env as written (expressions unevaluated)."""
    job = the_tests_workflow(rendered, "auto-pythons")["jobs"]["trigger"]
    [step] = [step for step in job["steps"] if step.get("id") == "decide"]
    return step["run"], step["env"]


def decide(script: str, cwd: Path, **env: str) -> str:
    output = cwd / "github-output"
    output.write_text("")
    values = {
        "EVENT": "schedule", "DEFAULT_BRANCH_PUSH": "false", "LABELLED": "false",
        "PUSHED_MESSAGE": "", "MARKER": MARKER, **env,
    }  # fmt: skip
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={**GIT_ENV, "PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **values},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [line] = output.read_text().splitlines()
    return line.removeprefix("run=")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout of a pull request's head whose newest commit says nothing special."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    git(folder, "init", "--quiet", "--initial-branch=main")
    (folder / "a.txt").write_text("a\n")
    commit_all(folder, "Fix a typo")
    return folder


@pytest.mark.parametrize(
    ("event", "env", "message", "runs"),
    [
        ("schedule", {}, None, "true"),
        ("workflow_dispatch", {}, None, "true"),
        ("pull_request", {}, None, "false"),
        ("pull_request", {"LABELLED": "true"}, None, "true"),
        ("pull_request", {}, f"Try numpy's nightly {MARKER}", "true"),
        ("pull_request", {}, "$(touch pwned) `touch pwned` [test-nightly", "false"),
        ("push", {"DEFAULT_BRANCH_PUSH": "true"}, None, "true"),
        ("push", {}, None, "false"),
        ("push", {"PUSHED_MESSAGE": f"WIP {MARKER}"}, None, "true"),
        ("push", {"PUSHED_MESSAGE": "$(touch pwned)\n`touch pwned`"}, None, "false"),
    ],
    ids=[
        "schedule", "manual", "pr-plain", "pr-labelled", "pr-marker", "pr-hostile-message",
        "push-default-branch", "push-other-branch", "push-marker", "push-hostile-message",
    ],
)  # fmt: skip
def test_the_trigger_job_decides(
    rendered: dict[str, Path],
    checkout: Path,
    event: str,
    env: dict[str, str],
    message: str | None,
    runs: str,
) -> None:
    script, written = decide_script(rendered)
    assert written["MARKER"] == MARKER
    assert written["LABELLED"] == (
        "${{ contains(github.event.pull_request.labels.*.name, 'run-nightly') }}"
    )
    if message is not None:
        (checkout / "b.txt").write_text("b\n")
        commit_all(checkout, message)
    assert decide(script, checkout, EVENT=event, **env) == runs
    assert not (checkout / "pwned").exists()  # messages are searched, never run


def test_without_on_demand_answers_there_is_no_trigger(rendered: dict[str, Path]) -> None:
    for name, answers in COMBINATIONS.items():
        data = the_tests_workflow(rendered, name)
        on_demand = bool(answers.get("pr_label") or answers.get("test_on_push"))
        assert ("trigger" in data["jobs"]) == on_demand, name
        events = set(data[True])  # YAML 1.1 reads `on` as true
        expected = {"schedule", "workflow_dispatch"}
        expected |= {"pull_request"} if answers.get("pr_label") else set()
        expected |= {"push"} if answers.get("test_on_push") else set()
        assert events == expected, name


@pytest.mark.parametrize("name", ["auto-pythons", "pure-explicit-several"])
def test_a_pull_request_reaches_only_read_only_jobs_without_secrets(
    rendered: dict[str, Path], name: str
) -> None:
    """Every job a pull request can start reads only; the ones that write run on the
    schedule or by hand, and the tests wait for the trigger's decision. The one token a
    pull request's run holds is the last-green job's, read-only, and it runs no code of
    the pull request's beyond the noxfile's pinned sessions."""
    data = the_tests_workflow(rendered, name)
    for job_name, job in data["jobs"].items():
        condition = str(job.get("if", ""))
        writes = job_name in {"report", "keepalive"}
        if writes:
            assert "github.event_name == 'schedule'" in condition, job_name
            assert "'pull_request'" not in condition, job_name
            continue
        reads = {"contents": "read"} | ({"actions": "read"} if job_name == "last-green" else {})
        assert job["permissions"] == reads, job_name
        text = yaml.safe_dump(job)
        assert "secrets." not in text, job_name
        assert ("github.token" in text) == (job_name == "last-green"), job_name
        if job_name != "trigger":
            assert "needs.trigger.outputs.run == 'true'" in condition, job_name
    label = COMBINATIONS[name]["pr_label"]
    assert f"labels.*.name, '{label}')" in yaml.safe_dump(data, allow_unicode=True, width=1000)
