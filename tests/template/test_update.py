"""`copier update` from v1 to v2 of a throwaway template repository keeps the user's edits."""

from __future__ import annotations

import warnings
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
    """Add a variable to the workflows' top-level `env:`; commit and tag it v2."""
    path = repo / "copier-includes" / "workflows.jinja"
    text = path.read_text()
    assert "{%- macro uv_isolation() %}\nenv:\n" in text
    text = text.replace(
        "{%- macro uv_isolation() %}\nenv:\n",
        f"{{%- macro uv_isolation() %}}\nenv:\n{V2_LINE}\n",
        1,
    )
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
    assert yaml.safe_load(workflow)["env"] == {
        "FORCE_COLOR": "1", "UV_NO_CONFIG": "1", "UV_NO_PROJECT": "1",
    }  # fmt: skip
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


def generated_project(tmp_path: Path, **data: object) -> tuple[Path, Path]:
    """A template repository at v1 and a committed project rendered from it."""
    repo = make_template_repo(tmp_path / "nightly-sessions", "v1")
    project = tmp_path / "skymap"
    if data.get("noxfile") == "noxfile_nightly.py":
        project.mkdir()
        (project / "noxfile.py").write_text(OWN_NOXFILE)
    render(repo, project, ref="v1", **data)
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Nightly workflows from the template")
    return repo, project


OWN_NOXFILE = """import nox

import noxfile_nightly  # noqa: F401


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    session.log("linting")
"""


def update_with(project: Path, **data: object) -> None:
    with git_environment():
        copier.run_update(
            project,
            answers_file=ANSWERS_FILE,
            data=data,
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
        )


@pytest.mark.parametrize(
    ("before", "after", "deleted"),
    [("noxfile.py", "noxfile_nightly.py", "noxfile.py, with the sessions you added to it"),
     ("noxfile_nightly.py", "noxfile.py", "noxfile_nightly.py")],
)  # fmt: skip
def test_update_refuses_to_change_the_noxfile(
    tmp_path: Path, before: str, after: str, deleted: str
) -> None:
    """copier update would delete the file the old answer rendered: the answer is refused."""
    _, project = generated_project(tmp_path, noxfile=before)
    noxfile = project / "noxfile.py"
    noxfile.write_text(noxfile.read_text() + USER_SESSION)
    commit_all(project, "Own session")
    kept = {path: path.read_text() for path in project.glob("noxfile*.py")}

    with pytest.raises(ValueError, match="Validation error for question 'noxfile'") as error:
        update_with(project, noxfile=after)

    assert (
        f"This project was generated with noxfile '{before}' ({ANSWERS_FILE}); answering "
        f"'{after}' would make copier delete {deleted}. Keep '{before}'; to switch, follow "
        '"Switching the noxfile" in the nightly-sessions README.'
    ) in str(error.value)
    assert {path: path.read_text() for path in project.glob("noxfile*.py")} == kept
    assert git(project, "status", "--porcelain") == ""


def test_update_keeping_the_noxfile_reads_the_recorded_answer_quietly(tmp_path: Path) -> None:
    """The check reads the recorded answers only in the project, never in copier's replays."""
    repo, project = generated_project(tmp_path, noxfile="noxfile_nightly.py")
    change_template_to_v2(repo)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. MissingFileWarning from a replay's folder
        update_with(project, noxfile="noxfile_nightly.py")
    assert (project / "noxfile.py").read_text() == OWN_NOXFILE
    assert V2_LINE in (project / ".github/workflows/nightly-tests.yml").read_text()
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert (recorded["noxfile"], recorded["_commit"]) == ("noxfile_nightly.py", "v2")


def test_switching_the_noxfile_as_the_readme_says_deletes_nothing(tmp_path: Path) -> None:
    """Change the answer in the answers file, commit, `copier recopy`: both files remain."""
    _, project = generated_project(tmp_path)
    noxfile = project / "noxfile.py"
    noxfile.write_text(noxfile.read_text() + USER_SESSION)
    answers = project / ANSWERS_FILE
    answers.write_text(
        answers.read_text().replace("noxfile: noxfile.py", "noxfile: noxfile_nightly.py")
    )
    commit_all(project, "Nightly sessions into their own module")
    own = noxfile.read_text()

    with git_environment():
        copier.run_recopy(
            project,
            answers_file=ANSWERS_FILE,
            defaults=True,
            overwrite=True,  # the workflows now name noxfile_nightly.py
            unsafe=True,
            quiet=True,
        )

    assert noxfile.read_text() == own
    assert "REQUIREMENT = " in (project / "noxfile_nightly.py").read_text()
    assert yaml.safe_load(answers.read_text())["noxfile"] == "noxfile_nightly.py"
    workflow = (project / ".github/workflows/nightly-tests.yml").read_text()
    assert "nox --noxfile noxfile_nightly.py --session nightly_tests" in workflow
