"""The tox flavour of the tests workflow (answer runner=tox): the test step runs the tox env
of the tox_env answer with the nightly-sessions plugin, pinned as the noxfile pins it;
the rest of the workflow (report, artifacts, tracking issue) is the nox flavour's."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from nightly_world import NEWEST_NIGHTLY, build_world
from tox_plugin.tox_world import TOX, nightly_settings

from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.template import (
    ANSWERS_FILE,
    commit_all,
    git,
    git_environment,
    make_template_repo,
    render,
)
from template.template_world import COMBINATIONS, nox_steps, steps, workflow
from template.test_message import SHA, raw_message
from template.test_update import V2_LINE, change_template_to_v2, conflict_markers

TOX_COMBINATIONS = sorted(name for name, data in COMBINATIONS.items() if data.get("runner"))


def pinned_requirement(noxfile: Path) -> str:
    """The nightly-sessions requirement of the noxfile's PEP 723 block."""
    [requirement] = re.findall(
        r'^#     "(nightly-sessions[^"]*)",$', noxfile.read_text(), re.MULTILINE
    )
    return str(requirement)


def test_there_are_tox_combinations() -> None:
    assert TOX_COMBINATIONS == ["tox-auto", "tox-explicit"]


@pytest.mark.parametrize("name", TOX_COMBINATIONS)
def test_the_test_step_runs_the_tox_env_with_the_answers(
    rendered: dict[str, Path], name: str
) -> None:
    answers, project = COMBINATIONS[name], rendered[name]
    data = workflow(project, "nightly-tests.yml")
    tests = data["jobs"]["tests"]
    pattern, step = nox_steps(tests)["nightly_tests"]
    wanted = answers.get("tox_env", "py{python}-nightly").replace(
        "{python}", "${PYTHON_VERSION//./}"
    )
    assert pattern == wanted
    assert step["shell"] == "bash"
    env = step["env"]
    # The noxfile is still written: it holds the pin, which the tox step uses too.
    assert env["NIGHTLY_SESSIONS"] == pinned_requirement(project / "noxfile.py")
    assert env["NIGHTLY_CHANNEL"] == "scientific-python-nightly-wheels"
    assert env["PYTHON_VERSION"] == "${{ matrix.python-version }}"
    for key, question in (
        ("NIGHTLY_PACKAGES", "nightly_packages"),
        ("NIGHTLY_EXTRAS", "test_extras"),
        ("NIGHTLY_GROUPS", "test_groups"),
        ("NIGHTLY_WARNINGS_AS_ERRORS", "warnings_as_errors"),
    ):
        answer = answers.get(question, "auto")
        assert env.get(key) == (None if answer in ("auto", "") else answer), key
    assert not any("--session nightly_tests" in s.get("run", "") for s in steps(tests))
    example = answers.get("tox_env", "py{python}-nightly").replace("{python}", "313")
    assert (
        f"Reproduce a run locally with `tox -e {example}`."
        in (project / ".github/workflows/nightly-tests.yml").read_text()
    )
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["runner"] == "tox"


def test_nox_projects_have_no_tox(rendered: dict[str, Path]) -> None:
    for name, project in rendered.items():
        if name not in TOX_COMBINATIONS:
            text = (project / ".github/workflows/nightly-tests.yml").read_text()
            assert "tox" not in text, name


@pytest.mark.skipif(shutil.which("bash") is None, reason="the workflow's shell is bash")
@pytest.mark.parametrize(
    ("python", "env_name"), [("3.13", "py313-nightly"), ("3.14t", "py314t-nightly")]
)
def test_the_shell_names_the_env_of_the_matrix_python(
    rendered: dict[str, Path], python: str, env_name: str
) -> None:
    tests = workflow(rendered["tox-auto"], "nightly-tests.yml")["jobs"]["tests"]
    pattern, _ = nox_steps(tests)["nightly_tests"]
    result = subprocess.run(
        ["bash", "-c", f'printf %s "{pattern}"'],
        env={"PYTHON_VERSION": python}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout == env_name


@pytest.mark.parametrize(
    ("found", "runner"), [(None, "nox"), ("tox.ini", "tox"), ("tox.toml", "tox")]
)
def test_the_runner_defaults_to_tox_where_a_tox_configuration_is(
    plain_template: Path, tmp_path: Path, found: str | None, runner: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if found:
        (project / found).write_text("")
    render(plain_template, project)
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["runner"] == runner
    text = (project / ".github/workflows/nightly-tests.yml").read_text()
    assert ('tox run -e "py${PYTHON_VERSION//./}-nightly"' in text) == (runner == "tox")
    assert (project / "noxfile.py").is_file()


def message_section(text: str, start: str) -> str:
    """The two-line section of the message whose header starts with `start`, unindented."""
    lines = [line.strip() for line in text.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    return "\n".join(lines[first : first + 2]) + "\n"


@pytest.mark.parametrize(
    ("pythons", "env_names"),
    [
        (["3.12", "3.13t"], ["py312-nightly", "py313t-nightly"]),
        (["3.13"], ["py313-nightly"]),
        (["auto"], ["py310-nightly", "py316-nightly"]),
    ],
)
def test_the_message_shows_env_sections_that_tox_reads(
    tmp_path: Path, pythons: list[str], env_names: list[str]
) -> None:
    """The sections the message tells a tox project to add declare every env of the
    matrix with `nightly = true`, as tox itself reads them."""
    text = raw_message("gh:org/nightly-sessions", SHA, runner="tox", python_versions=pythons)
    (tmp_path / "ini").mkdir()
    (tmp_path / "ini" / "tox.ini").write_text("[tox]\n" + message_section(text, "[testenv:"))
    (tmp_path / "toml").mkdir()
    (tmp_path / "toml" / "tox.toml").write_text(message_section(text, "[env."))
    assert f"tox run -e {env_names[-1]}`" in text
    assert all(nightly_settings(tmp_path / "ini", env_names))
    assert nightly_settings(tmp_path / "toml", env_names[-1:]) == [True]


@pytest.mark.integration
def test_copier_update_switches_a_project_to_tox_and_keeps_it(tmp_path: Path) -> None:
    """`copier update --data runner=tox` turns the test step into the tox one, leaving the
    noxfile as it was; a later update to a new template version keeps the answers and
    moves the pin of both."""
    repo = make_template_repo(tmp_path / "nightly-sessions", "v1")
    project = render(repo, tmp_path / "skymap", ref="v1")
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Nightly workflows (nox)")
    noxfile = (project / "noxfile.py").read_text()
    tests_workflow = project / ".github" / "workflows" / "nightly-tests.yml"
    for data, ref in (({"runner": "tox", "tox_env": "py{python}-devdeps"}, "v1"), ({}, None)):
        if ref is None:
            change_template_to_v2(repo)
        with git_environment():
            copier.run_update(
                project, answers_file=ANSWERS_FILE, data=data, vcs_ref=ref, defaults=True,
                overwrite=True, unsafe=True, quiet=True,
            )  # fmt: skip
        assert conflict_markers(project) == []
        tests = workflow(project, "nightly-tests.yml")["jobs"]["tests"]
        pattern, step = nox_steps(tests)["nightly_tests"]
        assert pattern == "py${PYTHON_VERSION//./}-devdeps"
        # The tox step's nightly-sessions moves with the noxfile's pin, which v1 keeps.
        assert step["env"]["NIGHTLY_SESSIONS"] == pinned_requirement(project / "noxfile.py")
        assert ((project / "noxfile.py").read_text() == noxfile) == (ref == "v1")
        commit_all(project, "update")
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert (answers["runner"], answers["tox_env"]) == ("tox", "py{python}-devdeps")
    assert V2_LINE.strip() in tests_workflow.read_text()


TOX_PREFIX = re.compile(
    r'^uvx --from "tox==[\d.]+" --with "tox-uv==[\d.]+" --with "\$NIGHTLY_SESSIONS" tox '
)


@pytest.mark.integration
def test_copied_tox_project_runs_the_workflows_tox_command_end_to_end(
    template_repo: Path, tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer
) -> None:
    """The tox step's own command (tox from this environment instead of uvx) on the example
    project with the env section the message shows, against the loopback indexes."""
    world = build_world(tmp_path, base_index, nightly_index)
    (world.project / "noxfile.py").unlink()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    render(
        template_repo, world.project, runner="tox", nightly_packages="tinyarray",
        python_versions=[python],
    )  # fmt: skip
    message = raw_message("gh:org/nightly-sessions", SHA, runner="tox", python_versions=[python])
    (world.project / "tox.ini").write_text(
        f"[testenv]\nbase_python = {sys.executable}\nextras = test\n"
        f"commands = pytest tests -p no:cacheprovider\n\n{message_section(message, '[testenv:')}"
    )
    tests = workflow(world.project, "nightly-tests.yml")["jobs"]["tests"]
    _, step = nox_steps(tests)["nightly_tests"]
    prefix = TOX_PREFIX.match(step["run"])
    assert prefix, step["run"]
    command = f"{shlex.quote(str(TOX))} --colored no {step['run'][prefix.end() :]}"
    step_env = {k: str(v) for k, v in step["env"].items() if "${{" not in str(v)}
    result = subprocess.run(
        ["bash", "-c", command], cwd=world.project,
        env=world.env(
            PYTHON_VERSION=python, NIGHTLY_JOB=f"py{python}-Linux", PIP_INDEX_URL=base_index.url,
            UV_DEFAULT_INDEX=base_index.url, **step_env,
        ),
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"py{python.replace('.', '')}-nightly: OK" in result.stdout
    report = json.loads(
        (
            world.project / "nightly-reports" / f"py{python}-Linux" / "nightly-report.json"
        ).read_text()
    )
    assert report["outcome"] == "passed"
    [tinyarray] = report["packages"]
    assert (tinyarray["installed"], tinyarray["status"]) == (NEWEST_NIGHTLY, "nightly")
