"""The Copier template rendered through copier's API for many answer combinations.

Every combination's workflows are checked in one check-jsonschema and one zizmor run,
every generated noxfile is loaded by real nox, one project runs `nox -s nightly_tests`
end to end against loopback indexes, and the reporting and keepalive jobs' own commands
run against the GitHub stand-in.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import copier
import jinja2
import nox.project
import pytest
import yaml
from nightly_world import NEWEST_NIGHTLY, World, build_world
from packaging.version import Version

from nightly_sessions import freshness, issue, keepalive, upload
from nightly_sessions.config import Settings
from nightly_sessions.sessions import SESSIONS
from nightly_sessions.testing.github import JobRecord, StepRecord, serve_github
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.template import (
    ANSWERS_FILE,
    BASE_ANSWERS,
    ROOT,
    copy_template,
    git,
    git_environment,
    make_template_repo,
    render,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BIN = Path(sys.executable).parent
WORKFLOWS = ("nightly-tests.yml", "nightly-wheels.yml")
SHA_PIN = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v?\d+(\.\d+)*\s*$")
ALL_PLATFORMS = [
    "ubuntu-latest",
    "ubuntu-24.04-arm",
    "macos-latest",
    "macos-15-intel",
    "windows-latest",
    "windows-11-arm",
]
RUNNER_OS = {"ubuntu-latest": "Linux", "macos-latest": "macOS", "windows-latest": "Windows"}
NOX_COMMAND = re.compile(
    r'^uvx --from "nox==[\d.]+" nox (?:--noxfile noxfile_nightly\.py )?--session (\w+)(?: (.*))?$'
)
NOX_PIN = re.compile(r'run: uvx --from "(nox==[\d.]+)" nox ')
REPOSITORY = "example-org/skymap"
DEFAULT_PYTHONS = ["auto"]  # read from pyproject.toml at every run (the `pythons` job)
NEWEST_STABLE = ["3.14", "3.15"]  # the newest two stable releases (December 2026)
AUTO_MATRIX = "${{ fromJSON(needs.pythons.outputs.python) }}"
DIST_ENV = {"NIGHTLY_DIST_DIR": "dist"}  # where the artifacts are kept and gathered


def _combinations() -> dict[str, dict[str, Any]]:
    """pure/compiled x auto/explicit packages x one/several Pythons, plus layouts."""
    combos: dict[str, dict[str, Any]] = {}
    for compiled, packages, pythons in itertools.product(
        (False, True), ("auto", "numpy, scipy.special-x"), (["3.13"], ["3.10", "3.15", "3.16"])
    ):
        name = "-".join(
            (
                "compiled" if compiled else "pure",
                "auto" if packages == "auto" else "explicit",
                "one" if len(pythons) == 1 else "several",
            )
        )
        combos[name] = {
            "compiled": compiled,
            "nightly_packages": packages,
            "python_versions": pythons,
        }
    # Vary the remaining answers across the same renders.
    combos["compiled-explicit-several"].update(
        cibw_platforms=ALL_PLATFORMS, test_oses=["ubuntu-latest", "macos-latest", "windows-latest"]
    )
    combos["pure-explicit-one"].update(
        test_extras="test, docs",
        test_groups="",
        dependabot=False,
        channel="my-channel",
        upload_with="session",
        keepalive=False,
    )
    combos["compiled-auto-one"].update(
        cibw_platforms=["ubuntu-24.04-arm"],
        upload_token_secret="SKYMAP_NIGHTLY_TOKEN",
        upload_with="session",
    )
    combos["compiled-explicit-one"].update(keepalive=False, check_freshness=False)
    combos["pure-auto-several"].update(
        test_cron="*/30 0-6/2 1,15 JAN-JUN MON-FRI",
        test_oses=["ubuntu-latest", "windows-latest"],
        issue_label="upstream-nightly",
    )
    combos["auto-pythons"] = {
        "python_versions": ["auto"],
        "test_oses": ["ubuntu-latest", "macos-latest"],
    }
    combos["module-layout"] = {
        "noxfile": "noxfile_nightly.py",
        "python_versions": ["3.11"],
        "sessions_available": ["nightly_tests", "nightly_plan", "build_nightly", "nightly_issue"],
    }
    # The staged roll-out switch: without `nightly_issue`, no reporting jobs.
    combos["without-issue-jobs"] = {
        "sessions_available": ["nightly_tests", "nightly_plan", "build_nightly"],
        "keepalive": False,
    }
    return combos


def when(condition: bool, name: str) -> set[str]:
    return {name} if condition else set()


def available(answers: dict[str, Any], session: str) -> bool:
    return session in answers.get("sessions_available", [session])


def issue_jobs(answers: dict[str, Any]) -> bool:
    return available(answers, "nightly_issue")


COMBINATIONS = _combinations()
USER_NOXFILE = '''"""The project's own sessions, which the template must not touch."""

import nox


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    session.log("linting")
'''


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template_repo(tmp_path_factory.mktemp("template") / "nightly-sessions")


@pytest.fixture(scope="module")
def rendered(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every combination rendered into its own project folder."""
    root = tmp_path_factory.mktemp("projects")
    projects = {}
    for name, data in COMBINATIONS.items():
        project = root / name
        if data.get("noxfile") == "noxfile_nightly.py":
            project.mkdir()
            (project / "noxfile.py").write_text(USER_NOXFILE)
        projects[name] = render(template_repo, project, **data)
    return projects


def workflow(project: Path, name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((project / ".github" / "workflows" / name).read_text())
    return data


def workflow_files(rendered: dict[str, Path]) -> list[Path]:
    return [
        project / ".github" / "workflows" / name
        for project in rendered.values()
        for name in WORKFLOWS
    ]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = job["steps"]
    return result


def run_tool(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, timeout=300
    )


def test_workflows_validate_against_the_github_schema(rendered: dict[str, Path]) -> None:
    files = workflow_files(rendered)
    result = run_tool(
        BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files
    )
    assert result.returncode == 0, result.stdout + result.stderr
    dependabot = [p / ".github" / "dependabot.yml" for p in rendered.values()]
    present = [path for path in dependabot if path.exists()]
    result = run_tool(BIN / "check-jsonschema", "--builtin-schema", "vendor.dependabot", *present)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_findings(rendered: dict[str, Path]) -> None:
    result = run_tool(
        BIN / "zizmor", "--offline", "--no-config", "--format", "json", *rendered.values()
    )
    assert json.loads(result.stdout) == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_template_sources_use_one_escaping_rule() -> None:
    """GitHub's `${{` is never plain template text: only Jinja prints it, as '${{'."""
    sources = [*(ROOT / "template").rglob("*.jinja"), *(ROOT / "copier-includes").glob("*")]
    assert sources
    lexer = jinja2.Environment()
    for path in sources:
        text = path.read_text()
        assert "{% raw" not in text, path
        tokens = list(lexer.lex(text))
        for (line, kind, value), (_, following, _) in itertools.pairwise(tokens):
            # "${{ x }}" written plainly lexes as the text "$" and then a Jinja expression.
            unescaped = value.endswith("$") and following == "variable_begin"
            assert not (kind == "data" and unescaped), f"{path}:{line}: raw ${{{{"


def test_every_action_is_pinned_by_commit_sha_with_its_version(rendered: dict[str, Path]) -> None:
    for path in workflow_files(rendered):
        uses = [line for line in path.read_text().splitlines() if "uses:" in line]
        assert uses
        for line in uses:
            assert SHA_PIN.match(line), f"{path}: {line}"
    wheels = (rendered["pure-auto-one"] / ".github/workflows/nightly-wheels.yml").read_text()
    assert (
        "scientific-python/upload-nightly-action@e76cfec8a4611fd02808a801b0ff5a7d7c1b2d99 # 0.6.4"
        in wheels
    )


def test_every_pinned_action_is_used(rendered: dict[str, Path]) -> None:
    """No pin lingers that no workflow uses (nobody would notice it going stale)."""
    table = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT))
    module = table.get_template("copier-includes/pins.jinja").module
    pins = set(module.PINS.values())  # type: ignore[attr-defined]
    assert len(pins) >= 6, pins
    used = {
        line.split("uses:", 1)[1].strip()
        for path in workflow_files(rendered)
        for line in path.read_text().splitlines()
        if "uses:" in line
    }
    assert set(pins) == used


def test_workflows_hold_least_privilege_and_pass_values_through_env(
    rendered: dict[str, Path],
) -> None:
    for path in workflow_files(rendered):
        text = path.read_text()
        assert not re.search(r"\{%|\{#|\{\{ *'", text), f"{path}: Jinja left in the output"
        data = yaml.safe_load(text)
        assert data["permissions"] == {}
        assert data["concurrency"]["group"]
        for name, job in data["jobs"].items():
            assert "permissions" in job, f"{path}: job {name} inherits permissions"
            assert job.get("timeout-minutes"), f"{path}: job {name} has no timeout"
            for step in steps(job):
                assert "${{" not in step.get("run", ""), f"{path}: {step['name']}"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
                if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                    assert step["with"]["version"] == "0.13.8"  # = the uv pin of the test extra


def nox_steps(job: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The job's nox steps: session name -> (arguments after the session, the step)."""
    found = {}
    for step in steps(job):
        match = NOX_COMMAND.match(step.get("run", ""))
        if match:
            found[match[1]] = (match[2] or "", step)
    return found


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
    parsers: dict[str, Callable[[list[str]], object]] = {
        "nightly_issue": issue.parse_session_args,
        "nightly_keepalive": keepalive.parse_session_args,
        "upload_nightly": lambda args: upload.parse_session_args(args, Settings(), print),
        "nightly_freshness": lambda a: freshness.parse_session_args(a, Settings(), print),
    }
    seen = set()
    for path in workflow_files(rendered):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in steps(job):
                if "nox" not in step.get("run", ""):
                    continue
                match = NOX_COMMAND.match(step["run"])
                assert match, f"{path}: {step['run']}"
                assert match[1] in SESSIONS, f"{path}: no session {match[1]}"
                seen.add(match[1])
                arguments = shlex.split((match[2] or "").removeprefix("-- "))
                if match[1] in parsers:
                    assert parsers[match[1]](arguments) is not None
    assert seen == {
        "nightly_tests", "nightly_issue", "nightly_keepalive", "build_nightly", "check_dist",
        "upload_nightly", "nightly_freshness", "nightly_pythons",
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
        if pythons == ["auto"]:
            check_pythons_job(data["jobs"]["pythons"], oses)
            assert tests["needs"] == ["pythons"]
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
        )
        assert set(data["jobs"]) == expected | when(answers.get("keepalive", True), "keepalive")
        if issue_jobs(answers):
            check_report_job(data["jobs"]["report"], pythons, oses)
            wanted = available(answers, "nightly_freshness") and answers.get(
                "check_freshness", True
            )
            check_freshness_step(data["jobs"]["report"], wanted)


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
    assert step["env"] == {"NIGHTLY_REPORT_DIR": "downloaded-reports"}
    assert names.index(step["name"]) == names.index(issue_step["name"]) - 1
    assert issue_step["if"] == "${{ !cancelled() }}"  # a stale channel still gets reported


def acts_upstream(first: str) -> str:
    """The `if:` of every job that uploads or touches a tracking issue."""
    return (
        f"${{{{ {first}"
        " && (github.event_name == 'schedule' || github.event_name == 'workflow_dispatch')"
        " && (github.event_name == 'schedule'"
        " || github.ref == format('refs/heads/{0}', github.event.repository.default_branch))"
        f" && github.repository == '{REPOSITORY}' }}}}"
    )


GITHUB_EXPRESSION = re.compile(r"^(\s+|[\w.]+(\(\))?|'[^']*'|==|&&|\|\||!|\(|\)|,)*$")


def runs(condition: str, event: str, ref: str, repository: str = REPOSITORY) -> bool:
    """Evaluate a job's `if:` for a run of `event` on `ref`, the default branch being main.

    Only the operators the workflows use (&&, ||, ==, format, the status functions) are
    translated; anything else fails the check below instead of being misread.
    """
    expression = condition.removeprefix("${{").removesuffix("}}")
    assert GITHUB_EXPRESSION.match(expression), expression
    python = (
        expression.replace("&&", " and ")
        .replace("||", " or ")
        .replace("!cancelled()", "True")
        .replace("always()", "True")
    )
    github = SimpleNamespace(
        event_name=event,
        ref=ref,
        repository=repository,
        event=SimpleNamespace(repository=SimpleNamespace(default_branch="main")),
    )
    names = {"github": github, "format": lambda text, *args: text.format(*args)}
    return bool(eval(python, {"__builtins__": {}}, names))


def test_only_the_default_branch_uploads_and_reports(rendered: dict[str, Path]) -> None:
    """A manual run from another branch builds and tests, but never uploads nor reports."""
    acting = {"upload": "!cancelled()", "report": "always()"}
    checked = set()
    for path in workflow_files(rendered):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            if name not in acting:
                assert "if" not in job or "schedule" in job["if"], f"{path}: {name}"
                continue
            checked.add((path.name, name))
            condition = job["if"]
            assert condition == acts_upstream(acting[name]), f"{path}: {name}"
            assert runs(condition, "schedule", "refs/heads/main")
            assert runs(condition, "workflow_dispatch", "refs/heads/main")
            assert not runs(condition, "workflow_dispatch", "refs/heads/my-feature")
            assert not runs(condition, "workflow_dispatch", "refs/tags/main")
            assert not runs(condition, "push", "refs/heads/main")
            assert not runs(condition, "schedule", "refs/heads/main", repository="fork/skymap")
    assert checked == {
        ("nightly-tests.yml", "report"), ("nightly-wheels.yml", "upload"),
        ("nightly-wheels.yml", "report"),
    }  # fmt: skip


REPOSITORY_CHECK = "Check that this is the repository of the template's answer"


def step_runs(condition: str, repository: str, *, fork: bool = False, index: int = 0) -> bool:
    """Evaluate the repository check's `if:` for a run in `repository`."""
    expression = condition.removeprefix("${{").removesuffix("}}").strip()
    python = (
        expression.replace("!github.event.repository.fork", "not fork")
        .replace("strategy.job-index", "index")
        .replace("github.repository", "repository")
        .replace("&&", " and ")
    )
    assert re.fullmatch(r"(\s+|and|not|fork|index|repository|!=|==|'[^']*'|\d+)*", python), python
    names = {"repository": repository, "fork": fork, "index": index}
    return bool(eval(python, {"__builtins__": {}}, names))


def test_a_repository_answer_that_does_not_match_is_a_warning(rendered: dict[str, Path]) -> None:
    """The guarded jobs skip silently in a repository other than the answer: the first job
    of the tests and of the build matrix says so, with the fix, unless it runs in a fork."""
    for name, project in rendered.items():
        for workflow_name, job_name in (
            ("nightly-tests.yml", "tests"),
            ("nightly-wheels.yml", "build"),
        ):
            jobs = workflow(project, workflow_name)["jobs"]
            guarded = sorted(
                job for job, data in jobs.items()
                if f"github.repository == '{REPOSITORY}'" in data.get("if", "")
            )  # fmt: skip
            found = [step for step in steps(jobs[job_name]) if step["name"] == REPOSITORY_CHECK]
            if not guarded:
                assert found == [], f"{name}: {workflow_name}"
                continue
            assert found == steps(jobs[job_name])[:1], f"{name}: {workflow_name}"
            step = found[0]
            assert step["env"] == {"ANSWER": REPOSITORY}
            condition = step["if"]
            assert not step_runs(condition, REPOSITORY)
            assert step_runs(condition, "someone/skymap")
            assert not step_runs(condition, "someone/skymap", fork=True)
            assert not step_runs(condition, "someone/skymap", index=1)  # once per matrix
            result = subprocess.run(
                ["bash", "-c", step["run"]],
                env={**os.environ, "ANSWER": REPOSITORY, "GITHUB_REPOSITORY": "someone/skymap"},
                capture_output=True,
                text=True,
                check=True,
            )
            [line] = result.stdout.splitlines()
            assert line.startswith(
                "::warning title=Nightly jobs skipped in this repository::This repository is "
                f"someone/skymap, but the nightly-sessions template was answered repository="
                f"{REPOSITORY}, and the "
            )
            named = re.findall(r"(?:the |, | and )(\w+)(?= \(|(?: jobs?)? run)", line)
            assert sorted(named) == guarded, line
            assert line.endswith(
                "If this is the upstream repository, fix the answer: copier update --trust "
                f"--defaults --answers-file {ANSWERS_FILE} --data repository=someone/skymap"
            )


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
        "NIGHTLY_TESTS_RESULT": "${{ needs.tests.result }}",
        "NIGHTLY_EXPECT_JOBS": (
            "${{ needs.pythons.outputs.jobs }}" if auto else " ".join(expected_jobs)
        ),
    }


# The wheels a cibw_platforms runner builds for its own architecture.
CIBW_PLATFORM_TAG = {
    "ubuntu-latest": "manylinux_x86_64",
    "ubuntu-24.04-arm": "manylinux_aarch64",
    "macos-latest": "macosx_arm64",
    "macos-15-intel": "macosx_x86_64",
    "windows-latest": "win_amd64",
    "windows-11-arm": "win_arm64",
}


def test_offered_pythons_are_supported_releases_and_the_next_pre_release() -> None:
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    choices: dict[str, str] = config["python_versions"]["choices"]
    versions = [tuple(map(int, value.split("."))) for value in choices.values() if value != "auto"]
    assert versions == sorted(versions)
    # nightly-sessions itself runs on every one of them.
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert min(versions) >= tuple(map(int, requires.removeprefix(">=").split(".")))
    stable = [value for label, value in choices.items() if label == value]
    [(label, pre_release)] = [
        (label, v) for label, v in choices.items() if label != v and v != "auto"
    ]
    assert (label, pre_release) == (f"{pre_release} (pre-release)", list(choices.values())[-1])
    assert next(iter(choices.values())) == "auto"
    assert config["python_versions"]["default"] == DEFAULT_PYTHONS
    assert stable[-2:] == NEWEST_STABLE
    # The pinned cibuildwheel builds every stable one on every runner the template offers.
    platforms = tomllib.loads(
        (resources.files("cibuildwheel") / "resources" / "build-platforms.toml").read_text()
    )
    identifiers = {
        build["identifier"]
        for table in platforms.values()
        for build in table["python_configurations"]
    }
    assert set(config["cibw_platforms"]["choices"].values()) == set(CIBW_PLATFORM_TAG)
    for version in stable:
        for tag in CIBW_PLATFORM_TAG.values():
            assert f"cp{version.replace('.', '')}-{tag}" in identifiers, (version, tag)


def test_min_copier_version_is_the_oldest_that_renders_every_answer() -> None:
    """copier 9.4 to 9.6 render project_name '' and repository '/' from the defaults, or
    skip the noxfile check; the README's install line asks for the same minimum."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    minimum = Version(config["_min_copier_version"])
    assert minimum == Version("9.7.0")
    assert Version(importlib.metadata.version("copier")) >= minimum
    readme = (ROOT / "README.md").read_text()
    assert re.findall(r"copier>=([\d.]+)", readme) == [f"{minimum.major}.{minimum.minor}"]


def test_runner_os_names_cover_every_test_os() -> None:
    choices = yaml.safe_load((ROOT / "copier.yml").read_text())["test_oses"]["choices"]
    assert set(choices.values()) == set(RUNNER_OS)
    assert {runner: label for label, runner in choices.items()} == RUNNER_OS  # runner.os values


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
        assert set(data["jobs"]) == {"build-date"} | jobs | when(issue_jobs(answers), "report")
        if issue_jobs(answers):
            report = data["jobs"]["report"]
            assert report["needs"] == sorted(jobs, key=["build", "upload", "keepalive"].index)
            assert report["permissions"] == {
                "contents": "read", "issues": "write", "actions": "read"
            }  # fmt: skip
            assert report["if"] == acts_upstream("always()")
            assert nox_steps(report)["nightly_issue"][0] == "-- --workflow-run"
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
    assert upload_job["if"] == acts_upstream("!cancelled()")
    names = [step["name"] for step in steps(upload_job)]
    assert names[-3:] == [
        "Gather the files of every build job",
        "Check every file before upload",
        "Upload the wheels",
    ]
    gather, _, action = steps(upload_job)[-3:]
    assert gather["with"] == {"pattern": "nightly-wheels-*", "path": "dist", "merge-multiple": True}
    arguments, check = nox_steps(upload_job)["check_dist"]
    assert (arguments, check["env"]) == ("", DIST_ENV)
    secret = answers.get("upload_token_secret", "ANACONDA_ORG_UPLOAD_TOKEN")
    if answers.get("upload_with") == "session":
        arguments, step = nox_steps(upload_job)["upload_nightly"]
        assert arguments == "-- --verify"
        # The session reads the variable named by upload_token_env, the same answer.
        assert step["env"] == {**DIST_ENV, secret: f"${{{{ secrets.{secret} }}}}"}
        assert "uses" not in action
    else:
        assert action["uses"].startswith("scientific-python/upload-nightly-action@")
        assert action["with"] == {
            "artifacts_path": "dist",
            "anaconda_nightly_upload_organization": answers.get(
                "channel", "scientific-python-nightly-wheels"
            ),
            "anaconda_nightly_upload_token": f"${{{{ secrets.{secret} }}}}",
        }


def test_keepalive_job_holds_actions_write_alone_and_names_real_files(
    rendered: dict[str, Path],
) -> None:
    for name, project in rendered.items():
        wanted = COMBINATIONS[name].get("keepalive", True)
        for path in (project / ".github" / "workflows").glob("*.yml"):
            jobs = yaml.safe_load(path.read_text())["jobs"]
            assert ("keepalive" in jobs) == wanted, f"{name}: {path.name}"
            writers = [n for n, job in jobs.items() if "actions" in job["permissions"]]
            for job_name in writers:
                level = jobs[job_name]["permissions"]["actions"]
                assert level == ("write" if job_name == "keepalive" else "read"), job_name
            if not wanted:
                continue
            job = jobs["keepalive"]
            assert job["permissions"] == {"contents": "read", "actions": "write"}
            assert job["if"] == (
                "${{ github.event_name == 'schedule' && "
                "github.repository == 'example-org/skymap' }}"
            )
            arguments, step = nox_steps(job)["nightly_keepalive"]
            assert step["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
            files = shlex.split(arguments.removeprefix("-- "))
            assert sorted(files) == sorted(p.name for p in path.parent.glob("nightly-*.yml"))


def test_noxfile_pins_nightly_sessions_to_the_template_commit(
    rendered: dict[str, Path], template_repo: Path
) -> None:
    commit = git(template_repo, "rev-parse", "v1")
    expected = f"nightly-sessions @ git+file://{template_repo}@{commit}"
    noxfile = rendered["pure-auto-one"] / "noxfile.py"
    script = nox.project.load_toml(str(noxfile))
    # Script mode installs the very nox that CI starts with uvx, not any newer one.
    workflows = {
        pin
        for path in workflow_files({"pure-auto-one": rendered["pure-auto-one"]})
        for pin in NOX_PIN.findall(path.read_text())
    }
    [nox_pin] = workflows
    assert script["dependencies"] == [nox_pin, expected]
    assert script["requires-python"] == ">=3.10"
    text = noxfile.read_text()
    assert 'nox.needs_version = ">=2025.2.9"' in text
    assert 'python=["3.13"]' in text
    assert git(template_repo, "cat-file", "-t", commit) == "commit"
    # noxfile_nightly.py is a noxfile of its own: the same PEP 723 block, and REQUIREMENT
    # for the noxfile.py that loads it.
    module_path = rendered["module-layout"] / "noxfile_nightly.py"
    module = module_path.read_text()
    assert f'REQUIREMENT = "{expected}"' in module
    assert nox.project.load_toml(str(module_path))["dependencies"] == [nox_pin, expected]


def test_register_call_carries_the_answers(rendered: dict[str, Path]) -> None:
    text = (rendered["pure-explicit-one"] / "noxfile.py").read_text()
    call = text[text.index("nightly_sessions.register(") :]
    assert 'packages=["numpy", "scipy.special-x"]' in call
    assert 'extras=["test", "docs"]' in call
    assert "groups=[]" in call
    assert 'channel="my-channel"' in call
    assert 'upload_token_env="ANACONDA_ORG_UPLOAD_TOKEN"' in call
    issue = (rendered["pure-auto-several"] / "noxfile.py").read_text()
    assert 'packages="auto"' in issue
    assert 'issue_label="upstream-nightly"' in issue


def test_answers_file_lets_copier_update(rendered: dict[str, Path], template_repo: Path) -> None:
    recorded = yaml.safe_load((rendered["compiled-auto-one"] / ANSWERS_FILE).read_text())
    assert recorded["_src_path"] == str(template_repo)
    assert recorded["_commit"] == "v1"
    assert recorded["cibw_platforms"] == ["ubuntu-24.04-arm"]
    assert recorded["upload_token_secret"] == "SKYMAP_NIGHTLY_TOKEN"
    assert recorded["check_freshness"] is True
    off = yaml.safe_load((rendered["compiled-explicit-one"] / ANSWERS_FILE).read_text())
    assert off["check_freshness"] is False  # `copier update` keeps it off until asked
    assert "sessions_available" not in recorded  # computed, never frozen into a project


def words(text: str) -> str:
    """`text` with every run of whitespace as one space: messages wrap where they like."""
    return " ".join(text.split())


SHA = "0123456789abcdef0123456789abcdef01234567"
LOCAL = "a local copy, which CI runners cannot install"
SSH = "an SSH URL, which CI runners cannot install from without a key"


def message_after_copy(src: str, commit: str | None, **data: Any) -> str:
    """copier.yml's `_message_after_copy`, rendered as copier does, for a source `src`."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],  # copier's own
        undefined=jinja2.StrictUndefined,
    )
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    context = {
        name: question["default"]
        for name, question in config.items()
        if not name.startswith("_") and "default" in question
    }
    context.update(
        project_name="skymap",
        repository=REPOSITORY,
        noxfile="noxfile.py",
        dependabot=True,
        _copier_answers={"_src_path": src},
        _copier_conf={
            "answers_file": ANSWERS_FILE,
            "vcs_ref_hash": commit,
            "dst_path": "/nonexistent/project",
        },
        _external_data={},
        **data,
    )
    return words(environment.from_string(config["_message_after_copy"]).render(context))


@pytest.mark.parametrize(
    ("src", "commit", "warning"),
    [
        ("https://github.com/scientific-python/nightly-sessions", SHA, None),
        ("gh:scientific-python/nightly-sessions", SHA, None),
        ("/home/me/nightly-sessions", SHA, LOCAL),
        ("file:///home/me/nightly-sessions", SHA, LOCAL),
        ("git+file:///home/me/nightly-sessions", SHA, LOCAL),
        ("/home/me/plain-folder", None, LOCAL),  # not a git repository: no commit
        ("git@github.com:scientific-python/nightly-sessions.git", SHA, SSH),
    ],
)
def test_message_warns_when_ci_cannot_install_the_pin(
    src: str, commit: str | None, warning: str | None
) -> None:
    message = message_after_copy(src, commit)
    if warning is None:
        assert "WARNING" not in message
        assert "CI runners" not in message
        return
    assert f"WARNING: noxfile.py pins nightly-sessions from {src}, {warning}." in message
    assert "CI needs a URL it can reach, e.g. the GitHub URL of nightly-sessions" in message
    # How to change it: both places at once, so that `copier update` keeps the new URL.
    assert f"{ANSWERS_FILE}: _src_path: <URL>" in message
    assert f'noxfile.py: "nightly-sessions @ git+<URL>@{commit or "<commit>"}"' in message


def test_message_of_a_relative_path_asks_for_a_reachable_url() -> None:
    message = message_after_copy("../nightly-sessions", SHA)
    assert "nightly-sessions is NOT pinned in noxfile.py" in message
    assert "Copy it from a URL your CI can reach" in message
    assert "WARNING" not in message


def test_message_points_the_token_to_the_upload_environment() -> None:
    message = message_after_copy("gh:scientific-python/nightly-sessions", SHA)
    assert (
        "Store the upload token as the secret ANACONDA_ORG_UPLOAD_TOKEN of the environment"
        " nightly-upload in example-org/skymap (Settings > Environments; allow only your"
        " default branch to deploy), or as a repository secret." in message
    )


@pytest.mark.parametrize("check_freshness", [True, False])
def test_message_says_how_to_switch_the_freshness_check(check_freshness: bool) -> None:
    message = message_after_copy(
        "gh:scientific-python/nightly-sessions", SHA, check_freshness=check_freshness
    )
    switch = (
        f"copier update --trust --defaults --answers-file {ANSWERS_FILE}"
        f" --data check_freshness={str(not check_freshness).lower()}"
    )
    assert switch in message
    if check_freshness:
        assert "fails until your first nightly is on the channel" in message
    else:
        assert "Once your first nightly is on the channel, turn on" in message


def test_copier_shows_the_warning_after_copying_from_an_absolute_path(
    template_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real copier prints the message, with the recorded source and commit."""
    with git_environment():
        copier.run_copy(
            str(template_repo),
            tmp_path / "project",
            data=BASE_ANSWERS,
            defaults=True,
            unsafe=True,
            quiet=False,
        )
    message = words(capsys.readouterr().err)
    commit = git(template_repo, "rev-parse", "v1")
    assert f"pins nightly-sessions from {template_repo}, {LOCAL}." in message
    assert f'"nightly-sessions @ git+<URL>@{commit}"' in message
    assert f"git+file://{template_repo}@{commit}" in (tmp_path / "project/noxfile.py").read_text()


def test_existing_noxfile_is_kept_and_imports_the_module(rendered: dict[str, Path]) -> None:
    project = rendered["module-layout"]
    assert (project / "noxfile.py").read_text() == USER_NOXFILE


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


@pytest.fixture(scope="module")
def plain_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a plain folder: copier reads it in place, without a clone."""
    return copy_template(tmp_path_factory.mktemp("plain") / "template")


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("test_cron", "0 3 * *", "'0 3 * *' has 4 fields, but a cron expression needs five"),
        ("build_cron", "0 3 * * 1 2", "has 6 fields, but a cron expression needs five"),
        (
            "test_cron",
            "61 3 * * 1",
            "The minute field of '61 3 * * 1' is '61', but it accepts 0-59",
        ),
        ("test_cron", "0 24 * * 1", "The hour field of '0 24 * * 1' is '24', but it accepts 0-23"),
        ("test_cron", "0 3 32 * *", "The day of month field of '0 3 32 * *' is '32'"),
        ("build_cron", "0 3 * 13 *", "The month field of '0 3 * 13 *' is '13'"),
        ("test_cron", "0 3 * * 1-7", "The day of week field of '0 3 * * 1-7' is '1-7'"),
        ("test_cron", "0 3 * * MON,SOMEDAY", "accepts 0-6 or SUN-SAT"),
        ("nightly_packages", "numpy, -scipy", "'-scipy' is not a valid package name"),
        ("nightly_packages", "num$py", "'num$py' is not a valid package name"),
        ("nightly_packages", "auto, numpy", "'auto' cannot be mixed with names"),
        ("nightly_packages", " ", "Give 'auto' or at least one package name"),
        ("test_extras", "test!", "'test!' is not a valid extra name"),
        ("test_groups", "dev_", "'dev_' is not a valid group name"),
        ("project_name", "-skymap", "'-skymap' is not a valid project name"),
        (
            "python_versions",
            ["3.9"],  # end of life; nightly-sessions needs 3.10
            "'3.9' is not in ['auto', '3.10', '3.11', '3.12', '3.13', '3.14', '3.15', '3.16']",
        ),
        ("python_versions", ["3.17"], "'3.17' is not in"),
        ("python_versions", [], "Choose at least one Python version."),
        ("test_oses", [], "Choose at least one operating system."),
        ("repository", "skymap", "'skymap' is not a GitHub repository: write it as owner/name"),
        ("repository", "a/b/c", "'a/b/c' is not a GitHub repository"),
        ("repository", "-org/skymap", "'-org/skymap' is not a GitHub repository"),
        (
            "upload_token_secret",
            "GITHUB_TOKEN",
            "GitHub reserves secret names that start with GITHUB_",
        ),
        ("upload_token_secret", "MY TOKEN", "'MY TOKEN' is not a GitHub secret name"),
        ("channel", "my channel", "'my channel' is not an anaconda.org user or organisation name"),
        ("issue_label", " nightly", "must be non-empty, without spaces at either end"),
        ("issue_label", "x" * 51, "is 51 characters long; GitHub allows at most 50"),
        ("upload_with", "twine", "'twine' is not in ['action', 'session']"),
    ],
)
def test_bad_answers_are_refused_with_a_reason(
    plain_template: Path, tmp_path: Path, question: str, answer: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        render(plain_template, tmp_path / "project", **{question: answer})
    assert question in str(error.value)
    assert not (tmp_path / "project" / "noxfile.py").exists()


def test_unusual_but_valid_answers_are_accepted(plain_template: Path, tmp_path: Path) -> None:
    project = render(
        plain_template,
        tmp_path / "project",
        project_name="sky.map_2",
        repository="Example-Org/sky.map_2",
        test_cron="0,30 */4 1-7 jan-mar/2 sun",
        nightly_packages="numpy,scipy pandas",
        upload_token_secret="_TOKEN_2",
    )
    text = (project / "noxfile.py").read_text()
    assert 'packages=["numpy", "scipy", "pandas"]' in text
    assert (
        '- cron: "0,30 */4 1-7 jan-mar/2 sun"'
        in (project / ".github/workflows/nightly-tests.yml").read_text()
    )


def local_command(command: str) -> str:
    """A workflow's `run:` line with nox from this environment instead of uvx."""
    prefix = re.match(r'uvx --from "nox==[\d.]+" nox ', command)
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
