"""The template tests' world: the answer combinations, and reading the rendered workflows.

Every combination of COMBINATIONS is rendered once per test session (`conftest.py` here
turns `render_combinations` into the session fixture `rendered`); the tests of security,
contents, the noxfile and the end-to-end runs all read those same projects.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from nightly_sessions.testing.template import ROOT, commit_all, git, render

BIN = Path(sys.executable).parent
WORKFLOWS = ("nightly-tests.yml", "nightly-wheels.yml")
ALL_PLATFORMS = [
    "ubuntu-latest",
    "ubuntu-24.04-arm",
    "macos-latest",
    "macos-15-intel",
    "windows-latest",
    "windows-11-arm",
]
RUNNER_OS = {"ubuntu-latest": "Linux", "macos-latest": "macOS", "windows-latest": "Windows"}
# uvx in jobs without a token; the locked tool environment's nox in those with one.
NOX_COMMAND = re.compile(
    r'^(?:uvx --from "nox==[\d.]+" nox|"\$RUNNER_TEMP/nightly-tools/bin/nox") '
    r"(?:--noxfile noxfile_nightly\.py )?--session (\w+)(?: (.*))?$"
)
# The tests step of the tox flavour (answer runner=tox): tox and tox-uv from uvx with
# nightly-sessions, the env named by the tox_env answer; it stands for nightly_tests.
TOX_COMMAND = re.compile(
    r'^uvx --from "tox==[\d.]+" --with "tox-uv==[\d.]+" --with "\$NIGHTLY_SESSIONS" '
    r'tox run -e "([^"]+)"$'
)
REPOSITORY = "example-org/skymap"
DEFAULT_PYTHONS = ["auto"]  # read from pyproject.toml at every run (the `pythons` job)


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
        cibw_platforms=ALL_PLATFORMS,
        test_oses=["ubuntu-latest", "macos-latest", "windows-latest"],
        nightly_build_deps="numpy, Cython",
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
    combos["compiled-explicit-one"].update(
        keepalive=False, check_freshness=False, upload_when="all", channel_labels="main,nightly"
    )
    combos["pure-explicit-one"].update(upload_when="all", channel_labels="nightly")
    combos["compiled-auto-one"].update(warnings_as_errors="DeprecationWarning, FutureWarning")
    combos["pure-auto-several"].update(warnings_as_errors="numpy.exceptions.RankWarning")
    combos["pure-auto-several"].update(
        test_cron="*/30 0-6/2 1,15 JAN-JUN MON-FRI",
        test_oses=["ubuntu-latest", "windows-latest"],
        issue_label="upstream-nightly",
        test_published=False,
        nightly_build_deps="numpy",
    )
    combos["auto-pythons"] = {
        "python_versions": ["auto"],
        "test_oses": ["ubuntu-latest", "macos-latest"],
        "pr_label": "run-nightly",
        "test_on_push": True,
    }
    combos["pure-explicit-several"].update(pr_label="nightly 🔥 tests")
    combos["module-layout"] = {
        "noxfile": "noxfile_nightly.py",
        "python_versions": ["3.11"],
        "sessions_available": ["nightly_tests", "nightly_plan", "build_nightly", "nightly_issue"],
    }
    # tox projects: the default env pattern with auto Pythons, and an own pattern with
    # explicit packages, no extras and a free-threaded Python.
    combos["tox-auto"] = {"runner": "tox", "test_oses": ["ubuntu-latest", "windows-latest"]}
    combos["tox-explicit"] = {
        "runner": "tox",
        "tox_env": "nightly-py{python}",
        "nightly_packages": "numpy, scipy",
        "test_extras": "",
        "python_versions": ["3.12", "3.14t"],
        "pr_label": "run-nightly",
        "warnings_as_errors": "DeprecationWarning,FutureWarning",
    }
    # The staged roll-out switch: without `nightly_issue`, no reporting jobs.
    combos["without-issue-jobs"] = {
        "sessions_available": ["nightly_tests", "nightly_plan", "build_nightly"],
        "keepalive": False,
    }
    return combos


COMBINATIONS = _combinations()
USER_NOXFILE = '''"""The project's own sessions, which the template must not touch."""

import nox


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    session.log("linting")
'''


def render_combinations(template: Path, root: Path) -> dict[str, Path]:
    """Every combination rendered from `template` into its own project folder under `root`."""
    projects = {}
    for name, data in COMBINATIONS.items():
        project = root / name
        if data.get("noxfile") == "noxfile_nightly.py":
            project.mkdir()
            (project / "noxfile.py").write_text(USER_NOXFILE)
        projects[name] = render(template, project, **data)
    return projects


def when(condition: bool, name: str) -> set[str]:
    return {name} if condition else set()


def available(answers: dict[str, Any], session: str) -> bool:
    return session in answers.get("sessions_available", [session])


def issue_jobs(answers: dict[str, Any]) -> bool:
    return available(answers, "nightly_issue")


def published_job(answers: dict[str, Any]) -> bool:
    """Whether the wheels workflow tests what it uploaded (answer test_published)."""
    return bool(answers.get("test_published", True)) and available(answers, "nightly_published")


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


def nox_steps(job: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The job's nox steps: session name -> (arguments after the session, the step).

    The tox flavour's test step counts as nightly_tests, its argument the tox env.
    """
    found = {}
    for step in steps(job):
        match = NOX_COMMAND.match(step.get("run", ""))
        if match:
            found[match[1]] = (match[2] or "", step)
        tox = TOX_COMMAND.match(step.get("run", ""))
        if tox:
            found["nightly_tests"] = (tox[1], step)
    return found


def acts_upstream(first: str) -> str:
    """The `if:` of every job that uploads or touches a tracking issue."""
    return (
        f"${{{{ {first}"
        " && (github.event_name == 'schedule' || github.event_name == 'workflow_dispatch')"
        " && (github.event_name == 'schedule'"
        " || github.ref == format('refs/heads/{0}', github.event.repository.default_branch))"
        f" && github.repository == '{REPOSITORY}' }}}}"
    )


def run_tool(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, timeout=300
    )


# What a checkout of nightly-sessions holds that installing it from git needs.
PACKAGE_PARTS = ("copier.yml", "copier-includes", "template", "nightly_sessions", "pyproject.toml")


def make_package_repo(folder: Path) -> Path:
    """nightly-sessions itself (package and template) as a git repository tagged v1, for
    tests that install it from git as a generated noxfile's pin does."""
    repo = folder / "nightly-sessions"
    repo.mkdir()
    for part in PACKAGE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, repo / part)
    (repo / "README.md").write_text("nightly-sessions\n", encoding="utf-8")
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "nightly-sessions", "v1")
    return repo
