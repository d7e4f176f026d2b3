"""The generated projects run: every generated noxfile is loaded by real nox, one project
runs `nox -s nightly_tests` end to end against loopback indexes with the workflow's own
command, and the reporting and keepalive jobs' own commands run against the GitHub
stand-in."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nightly_world import NEWEST_NIGHTLY, World, build_world

from nightly_sessions.testing.github import JobRecord, StepRecord, serve_github
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.template import render
from template.template_world import (
    COMBINATIONS,
    DEFAULT_PYTHONS,
    WORKFLOWS,
    nox_steps,
    steps,
    workflow,
)


def nox_list(project: Path) -> subprocess.Popen[str]:
    """`nox -l` with the test environment's nightly-sessions (no PEP 723 script venv)."""
    return subprocess.Popen(
        [sys.executable, "-m", "nox", "--no-color", "-l"],
        cwd=project,
        env={**os.environ, "NOX_SCRIPT_MODE": "none"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.integration
def test_generated_noxfiles_list_the_nightly_sessions(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    projects = {}
    for name, source in rendered.items():
        project = tmp_path / name
        shutil.copytree(source, project)
        if COMBINATIONS[name].get("noxfile") == "noxfile_nightly.py":
            # What the user adds to their own noxfile.py, as the module's docstring says.
            with (project / "noxfile.py").open("a") as noxfile:
                noxfile.write("\nimport noxfile_nightly  # noqa: E402, F401\n")
        projects[name] = project
    listings = {name: nox_list(project) for name, project in projects.items()}
    for name, process in listings.items():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, f"{name}: {output}"
        pythons = COMBINATIONS[name].get("python_versions", DEFAULT_PYTHONS)
        for python in pythons if pythons != ["auto"] else []:
            assert f"nightly_tests-{python}" in output, f"{name}: {output}"
        assert "nightly_tests" in output, f"{name}: {output}"
        for session in ("nightly_plan", "nightly_issue", "nightly_keepalive", "build_nightly"):
            assert session in output, f"{name}: {output}"
        if name == "module-layout":
            assert "lint" in output, output


def local_command(command: str) -> str:
    """A workflow's `run:` line with nox from this environment instead of uvx or the
    token jobs' locked tool environment."""
    prefix = re.match(
        r'uvx --from "nox==[\d.]+" nox |"\$RUNNER_TEMP/nightly-tools/bin/nox" ', command
    )
    assert prefix, command
    return f"{shlex.quote(sys.executable)} -m nox --no-color {command[prefix.end() :]}"


def workflow_command(project: Path) -> tuple[str, dict[str, str]]:
    """The test job's `run:` line, with nox from this environment instead of uvx, and
    the step's environment variables that need no GitHub expression."""
    job = workflow(project, "nightly-tests.yml")["jobs"]["tests"]
    [step] = [step for step in steps(job) if "nox" in step.get("run", "")]
    env = {key: str(value) for key, value in step["env"].items() if "${{" not in str(value)}
    return local_command(step["run"]), env


@pytest.mark.integration
def test_wheels_report_and_keepalive_jobs_work_against_github(
    rendered: dict[str, Path], tmp_path: Path
) -> None:
    """The two jobs' own commands, through the generated noxfile, against the stand-in."""
    project = shutil.copytree(rendered["pure-auto-one"], tmp_path / "project")
    jobs = workflow(project, "nightly-wheels.yml")["jobs"]
    commands = [
        nox_steps(jobs["report"])["nightly_issue"][1]["run"],
        nox_steps(jobs["keepalive"])["nightly_keepalive"][1]["run"],
    ]
    grants = {"issues": "write", "actions": "write"}
    with serve_github(repository="example-org/skymap", permissions=grants) as github:
        for name in WORKFLOWS:
            github.add_workflow(name, state="disabled_inactivity")
        build = JobRecord(
            "Build the wheel and sdist",
            "failure",
            steps=[StepRecord("Check out the repository"), StepRecord("Build", "failure")],
        )
        reporting = JobRecord("Update the wheels tracking issue", None, status="in_progress")
        run_id = github.add_run(
            workflow="nightly-wheels.yml",
            conclusion="failure",
            jobs=[build, JobRecord("Upload to anaconda.org/x", "skipped"), reporting],
        )
        env = {
            **os.environ,
            "NOX_SCRIPT_MODE": "none",
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": github.token,
            "GITHUB_REPOSITORY": github.repository,
            "GITHUB_SERVER_URL": github.root_url,
            "GITHUB_RUN_ID": str(run_id),
            "GITHUB_WORKFLOW": "Nightly wheels",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
        processes = [
            subprocess.Popen(
                ["bash", "-c", local_command(command)],
                cwd=project,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for command in commands
        ]
        for process in processes:
            output, _ = process.communicate(timeout=120)
            assert process.returncode == 0, output
            assert github.token not in output
        enabled = {w.path: (w.state, w.enabled) for w in github.workflows.values()}
        assert enabled == dict.fromkeys(WORKFLOWS, ("active", 1))
        [opened] = github.issues(state="open", label="nightly-wheels-failure")
    assert "<!-- nightly-sessions:tracking-issue nightly-wheels -->" in opened.body
    assert f"/actions/runs/{run_id}/job/{build.id}#step:2:1" in opened.body


@pytest.mark.integration
def test_copied_project_runs_nightly_tests_end_to_end(
    template_repo: Path, tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer
) -> None:
    world: World = build_world(tmp_path, base_index, nightly_index)
    (world.project / "noxfile.py").unlink()  # the template writes the project's noxfile
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    other = "3.14" if python != "3.14" else "3.13"
    render(
        template_repo,
        world.project,
        nightly_packages="tinyarray",
        test_extras="test",
        python_versions=sorted([python, other]),
    )
    # A project that keeps its reports elsewhere locally: the step's own environment
    # puts them where the workflow's artifact looks.
    pyproject = world.project / "pyproject.toml"
    assert pyproject.read_text().rstrip().endswith('packages = "auto"')  # the last table
    pyproject.write_text(pyproject.read_text() + 'report-dir = "local-reports"\n')
    # The workflow's own command; its matrix entry selects one of the two Pythons.
    command, step_env = workflow_command(world.project)
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=world.project,
        env=world.env(NOX_SCRIPT_MODE="none", PYTHON_VERSION=python, **step_env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"nightly_tests-{other}" not in result.stderr
    assert not (world.project / "local-reports").exists()
    [path] = (world.project / "nightly-reports").rglob("nightly-report.json")
    report = json.loads(path.read_text())
    assert report["outcome"] == "passed"
    assert report["python"].startswith(python)
    [tinyarray] = report["packages"]
    assert tinyarray["installed"] == NEWEST_NIGHTLY
    assert tinyarray["status"] == "nightly"
