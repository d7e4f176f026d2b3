"""`copier update` from v1 to v2 of a throwaway template repository keeps the user's edits."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest
import yaml

from nightly_sessions.testing.template import (
    ANSWERS_FILE,
    commit_all,
    git,
    git_environment,
    make_template_repo,
    render,
    update,
)

pytestmark = pytest.mark.integration

USER_SESSION = '''

@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """A session the maintainers added by hand."""
    session.log("building the docs")
'''
V2_LINE = '  FORCE_COLOR: "1"  # added in v2'


def change_template_to_v2(repo: Path) -> str:
    """Add a top-level `env:` to the test workflow; commit and tag it v2."""
    path = repo / "template" / ".github" / "workflows" / "nightly-tests.yml.jinja"
    text = path.read_text()
    text = text.replace("permissions: {}\n", f"permissions: {{}}\n\nenv:\n{V2_LINE}\n", 1)
    path.write_text(text)
    return commit_all(repo, "v2: colour in CI logs", "v2")


def conflict_markers(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej":
            found.append(str(path))
            continue
        for line in path.read_text().splitlines():
            if line.startswith(("<<<<<<<", ">>>>>>>", "=======")):
                found.append(f"{path}: {line}")
    return found


def test_update_keeps_user_edits_and_brings_the_new_version(tmp_path: Path) -> None:
    repo = make_template_repo(tmp_path / "nightly-sessions", "v1")
    v1 = git(repo, "rev-parse", "v1")
    project = render(repo, tmp_path / "skymap", ref="v1")
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Nightly workflows from the template")

    # The maintainers add a session and make the reports artifact mandatory.
    noxfile = project / "noxfile.py"
    noxfile.write_text(noxfile.read_text() + USER_SESSION)
    tests_workflow = project / ".github" / "workflows" / "nightly-tests.yml"
    edited = tests_workflow.read_text().replace(
        "if-no-files-found: warn", "if-no-files-found: error"
    )
    tests_workflow.write_text(edited)
    commit_all(project, "Own session; reports must exist")

    v2 = change_template_to_v2(repo)
    update(project, ref="v2")

    assert conflict_markers(project) == []
    text = noxfile.read_text()
    assert "def docs(session: nox.Session)" in text  # the user's session survives
    assert f"git+file://{repo}@{v2}" in text  # the pin moved with the template
    assert v1 not in text
    workflow = tests_workflow.read_text()
    assert "if-no-files-found: error" in workflow  # the user's edit survives
    assert V2_LINE in workflow  # the v2 change arrived
    assert yaml.safe_load(workflow)["env"] == {"FORCE_COLOR": "1"}
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert recorded["_commit"] == "v2"
    assert recorded["project_name"] == "skymap"


def test_a_new_template_url_in_both_places_survives_updates(tmp_path: Path) -> None:
    """What the message after copying from a local path says to do: write the reachable
    URL as `_src_path` and in the pin, commit both; later updates keep that URL."""
    repo = make_template_repo(tmp_path / "local-copy", "v1")
    project = render(repo, tmp_path / "skymap", ref="v1")
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Nightly workflows from the template")

    # The reachable URL: another clone, standing in for the GitHub one.
    git(tmp_path, "clone", "--quiet", str(repo), "reachable")
    reachable = tmp_path / "reachable"
    for name in (ANSWERS_FILE, "noxfile.py"):
        path = project / name
        path.write_text(path.read_text().replace(str(repo), str(reachable)))
    commit_all(project, "Pin nightly-sessions from a URL CI can reach")

    v2 = change_template_to_v2(reachable)
    update(project, ref="v2")

    assert conflict_markers(project) == []
    text = (project / "noxfile.py").read_text()
    assert f'"nightly-sessions @ git+file://{reachable}@{v2}",' in text
    assert str(repo) not in text
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert (recorded["_src_path"], recorded["_commit"]) == (str(reachable), "v2")


def test_copier_update_turns_the_freshness_check_on(tmp_path: Path) -> None:
    """The way the question's help and the message after copying describe."""
    repo = make_template_repo(tmp_path / "nightly-sessions", "v1")
    project = render(repo, tmp_path / "skymap", check_freshness=False)
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Nightly workflows, no freshness check until the first upload")
    tests_workflow = project / ".github" / "workflows" / "nightly-tests.yml"
    assert "nightly_freshness" not in tests_workflow.read_text()

    with git_environment():
        copier.run_update(
            project,
            answers_file=ANSWERS_FILE,
            data={"check_freshness": True},
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
        )

    assert conflict_markers(project) == []
    report = yaml.safe_load(tests_workflow.read_text())["jobs"]["report"]
    runs = [step.get("run", "") for step in report["steps"]]
    assert any(run.endswith("--session nightly_freshness") for run in runs)
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["check_freshness"] is True
