"""Throwaway git repositories of the Copier template, and rendering through copier's API.

The tests and the demo render from a small repository holding only the template
(copier.yml, template/, copier-includes/), committed and tagged, so the noxfile's pin
names a real commit and `copier update` has versions to move between. These work from a
checkout of nightly-sessions, where the template lives beside the package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import copier

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PARTS = ("copier.yml", "copier-includes", "template")
ANSWERS_FILE = ".copier-answers.nightly-sessions.yml"

# Git and copier's own git calls see one identity and no machine or user configuration.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# Valid answers for every question that has no usable default in a temporary folder.
BASE_ANSWERS: dict[str, Any] = {
    "project_name": "skymap",
    "repository": "example-org/skymap",
}


@contextlib.contextmanager
def git_environment() -> Iterator[None]:
    """Give copier's own git calls the tests' identity and no user configuration."""
    saved = {name: os.environ.get(name) for name in GIT_ENV}
    os.environ.update(GIT_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its output; raise with git's message on failure."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout.strip()


def copy_template(destination: Path) -> Path:
    """Copy the template's own files (nothing else of this repository) to `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(
                source, destination / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / part)
    return destination


def commit_all(repo: Path, message: str, tag: str | None = None) -> str:
    """Commit every change in `repo`, optionally tag it, and return the commit hash."""
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "--no-gpg-sign", "-m", message)
    if tag:
        git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


def make_template_repo(path: Path, tag: str = "v1") -> Path:
    """A git repository of the template at `path`, with one commit tagged `tag`."""
    copy_template(path)
    git(path, "init", "--quiet", "--initial-branch=main")
    commit_all(path, "Template", tag)
    return path


def answers(**overrides: Any) -> dict[str, Any]:
    """The base answers with `overrides` applied."""
    return {**BASE_ANSWERS, **overrides}


def render(template: Path, destination: Path, ref: str | None = None, **data: Any) -> Path:
    """`copier copy` through the API, non-interactively; returns `destination`."""
    with git_environment():
        copier.run_copy(
            str(template),
            destination,
            data=answers(**data),
            vcs_ref=ref,
            defaults=True,
            unsafe=True,
            quiet=True,
        )
    return destination


def update(project: Path, ref: str | None = None) -> None:
    """`copier update` through the API, keeping the recorded answers."""
    with git_environment():
        copier.run_update(
            project,
            answers_file=ANSWERS_FILE,
            vcs_ref=ref,
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
        )


def render_template(destination: Path, data: dict[str, Any]) -> Path:
    """Render the template as it is in this checkout into `destination` (tag v1)."""
    if not (ROOT / "copier.yml").is_file():
        raise FileNotFoundError(
            f"No copier.yml in {ROOT}; run this from a checkout of nightly-sessions."
        )
    with tempfile.TemporaryDirectory(prefix="nightly-template-") as folder:
        template = make_template_repo(Path(folder) / "template")
        return render(template, destination, **data)
