"""`python -m nightly_sessions init`: copier copy with the project's own name and repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nightly_sessions.core.repositories import github_repository
from nightly_sessions.init import (
    Source,
    compiled_line,
    copier_command,
    detect_answers,
    installed_source,
    origin_url,
    runner_line,
    tox_configuration,
)
from nightly_sessions.testing.template import GIT_ENV, commit_all, git, make_template_repo

CORPUS = Path(__file__).parent / "corpus"
ANSWERS_FILE = ".copier-answers.nightly-sessions.yml"
SECRET = "ghp_initS3cretT0ken"


@pytest.mark.parametrize(
    ("url", "repository"),
    [
        ("https://github.com/pydata/xarray.git", "pydata/xarray"),
        ("https://github.com/pydata/xarray", "pydata/xarray"),
        ("https://github.com/pydata/xarray/", "pydata/xarray"),
        (f"https://x-access-token:{SECRET}@github.com/pydata/xarray.git", "pydata/xarray"),
        ("git@github.com:networkx/networkx.git", "networkx/networkx"),
        ("git@github.com:scikit-image/scikit-image", "scikit-image/scikit-image"),
        ("ssh://git@github.com:22/zarr-developers/zarr-python.git", "zarr-developers/zarr-python"),
        ("ssh://git@github.com/dask/dask", "dask/dask"),
        ("git://github.com/numpy/numpy.git", "numpy/numpy"),
        ("https://gitlab.com/pydata/xarray.git", None),
        ("https://github.com/pydata", None),
        ("https://github.com/pydata/xarray/tree/main", None),
        ("https://github.com.evil.example/pydata/xarray", None),
        ("/srv/git/xarray.git", None),
        ("https://github.com/-bad/xarray", None),
    ],
)
def test_github_repository_of_remote_urls(url: str, repository: str | None) -> None:
    assert github_repository(url) == repository


def test_installed_source_is_the_git_url_and_commit() -> None:
    vcs = '{"url": "https://github.com/o/nightly-sessions", "vcs_info": {"vcs": "git", "commit_id": "abc"}}'
    assert installed_source(vcs) == Source("https://github.com/o/nightly-sessions", "abc")
    assert installed_source('{"url": "file:///src", "dir_info": {"editable": true}}') is None
    assert installed_source("not json") is None
    assert installed_source(None) is None


def test_copier_command_answers_and_pins_the_ref(tmp_path: Path) -> None:
    command = copier_command(
        ["copier"], Source("gh:o/t", "v1"), {"project_name": "x", "repository": "o/x"}, tmp_path
    )
    assert command == [
        "copier", "copy", "--trust", "--defaults",
        "--data", "project_name=x", "--data", "repository=o/x",
        "--vcs-ref", "v1", "gh:o/t", str(tmp_path),
    ]  # fmt: skip


def corpus_project(slug: str, folder: Path, origin: str | None) -> Path:
    project = folder / slug
    shutil.copytree(CORPUS / slug, project)
    git(project, "init", "--quiet", "--initial-branch=main")
    if origin:
        git(project, "remote", "add", "origin", origin)
    commit_all(project, "import")
    return project


def test_answers_come_from_pyproject_and_the_origin_remote(tmp_path: Path) -> None:
    project = corpus_project(
        "scikit-image", tmp_path, "git@github.com:scikit-image/scikit-image.git"
    )
    assert detect_answers(project, origin_url(project)) == {
        "project_name": "scikit-image",
        "repository": "scikit-image/scikit-image",
        "compiled": "true",
    }


# What the build configuration in each corpus excerpt says (statsmodels' extension modules
# are declared in meson.build files of subfolders the excerpt leaves out).
COMPILED = {
    "astropy": "pyproject.toml configures cibuildwheel",
    "awkward": None,  # pure; its compiled companion awkward-cpp is a second distribution
    "boost-histogram": "pyproject.toml configures cibuildwheel",
    "dask": None,
    "h5py": "pyproject.toml configures cibuildwheel",
    "networkx": None,
    "numpy": "pyproject.toml configures cibuildwheel",
    "scikit-image": "pyproject.toml configures cibuildwheel",
    "scipy": "pyproject.toml configures cibuildwheel",
    "shapely": "pyproject.toml configures cibuildwheel",
    "statsmodels": None,
    "sunpy": "pyproject.toml configures cibuildwheel",
    "xarray": None,
    "zarr": None,
}


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_init_answers_compiled_from_the_build_configuration(name: str) -> None:
    """copier alone guesses from file names; init asks the build configuration, as the
    build itself does, and says why."""
    assert sorted(COMPILED) == sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    answers = detect_answers(CORPUS / name, None)
    reason = COMPILED[name]
    assert answers["compiled"] == ("true" if reason else "false")
    line = compiled_line(CORPUS / name)
    assert line.startswith(f"compiled: {answers['compiled']}")
    if reason:
        assert reason in line


@pytest.mark.parametrize(
    ("name", "where"),
    [(name, "tox.ini") for name in ("astropy", "sunpy")]
    + [(name, None) for name in sorted(COMPILED) if name not in ("astropy", "sunpy")],
)
def test_init_answers_tox_where_the_project_configures_tox(name: str, where: str | None) -> None:
    assert tox_configuration(CORPUS / name) == where
    assert detect_answers(CORPUS / name, None).get("runner") == ("tox" if where else None)


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"pyproject.toml": "[tool.tox]\nenv_list = []\n"}, "[tool.tox] of pyproject.toml"),
        ({"setup.cfg": "[tox:tox]\nenvlist = py\n"}, "[tox:tox] of setup.cfg"),
        ({"tox.toml": ""}, "tox.toml"),
        ({"pyproject.toml": "[tool.nightly-sessions]\n", "setup.cfg": "[metadata]\n"}, None),
    ],
)
def test_init_finds_tox_in_each_of_its_places(
    tmp_path: Path, files: dict[str, str], where: str | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert tox_configuration(tmp_path) == where
    if where:
        assert runner_line(tmp_path).startswith(f"runner: tox ({where}: ")


def init(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "nightly_sessions", "--project", str(project), "init", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **GIT_ENV, "PATH": path},
        timeout=300,
    )


@pytest.mark.integration
def test_init_copies_with_the_projects_name_and_repository(tmp_path: Path) -> None:
    """xarray's folder says xarray/xarray; its origin says pydata/xarray."""
    template = make_template_repo(tmp_path / "template")
    origin = f"https://x-access-token:{SECRET}@github.com/pydata/xarray.git"
    project = corpus_project("xarray", tmp_path, origin)
    result = init(project, "--template", str(template), "--vcs-ref", "v1")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "project_name: xarray\nrepository: pydata/xarray\n" in result.stdout
    assert SECRET not in output
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert (recorded["project_name"], recorded["repository"]) == ("xarray", "pydata/xarray")
    workflow = (project / ".github/workflows/nightly-tests.yml").read_text()
    assert "github.repository == 'pydata/xarray'" in workflow


@pytest.mark.integration
def test_init_without_a_github_origin_says_so_and_prints_the_command(tmp_path: Path) -> None:
    project = corpus_project("networkx", tmp_path, None)
    result = init(project, "--template", "gh:o/nightly-sessions", "--print")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "project_name: networkx"
    assert lines[1] == "compiled: false (no compiled code found: one pure-Python wheel)"
    assert lines[2].startswith("repository: not found (no origin remote); copier asks for it")
    assert lines[3] == (
        "copier copy --trust --defaults --data project_name=networkx --data compiled=false "
        f"gh:o/nightly-sessions {project}"
    )
    assert not (project / ANSWERS_FILE).exists()


@pytest.mark.integration
def test_init_needs_a_template_when_not_installed_from_git(tmp_path: Path) -> None:
    project = corpus_project("zarr", tmp_path, "https://github.com/zarr-developers/zarr-python")
    result = init(project, "--print")
    assert result.returncode == 2
    assert "nightly-sessions: This nightly-sessions was not installed from git" in result.stderr
    assert "--template <git URL of nightly-sessions>" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "copier.errors.InvalidConfigFileError: /t/copier.yml",
            "invalid config file: /t/copier.yml",
        ),
        ("ValueError: Local template must be a directory.", "Local template must be a directory"),
        ("  cause: Connection refused (os error 111)", "cause: Connection refused (os error 111)"),
    ],
)
def test_copier_failures_read_as_words(line: str, reason: str) -> None:
    from nightly_sessions.init import _reason

    assert _reason(line) == reason


@pytest.mark.integration
@pytest.mark.parametrize(
    "template",
    [
        f"https://user:{SECRET}@gitlab.example.com/ns/nightly-sessions.git",
        f"https://{SECRET}:x-oauth-basic@github.com/o/nightly-sessions",
    ],
)
def test_a_template_url_with_credentials_is_refused(tmp_path: Path, template: str) -> None:
    project = corpus_project("zarr", tmp_path, None)
    result = init(project, "--template", template, "--print")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "holds credentials, which the copy would write into the noxfile's pin" in output
    assert SECRET not in output


def test_without_copier_or_uvx_init_says_how_to_get_copier(monkeypatch: pytest.MonkeyPatch) -> None:
    from nightly_sessions import init as init_module
    from nightly_sessions.core.errors import ToolError

    monkeypatch.setattr("shutil.which", lambda *args, **kwargs: None)
    with pytest.raises(ToolError, match=r"Neither copier nor uvx is installed; install copier"):
        init_module.find_copier()
