"""Fixtures for the template tests: the template as a git repository and as a plain folder,
and the answer combinations rendered from it, each once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightly_sessions.testing.template import copy_template, make_template_repo
from template.template_world import render_combinations


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a git repository with one commit tagged v1 (tests only read it)."""
    return make_template_repo(tmp_path_factory.mktemp("template") / "nightly-sessions")


@pytest.fixture(scope="session")
def rendered(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every combination of COMBINATIONS rendered into its own project folder; tests that
    change a project work on a copy."""
    return render_combinations(template_repo, tmp_path_factory.mktemp("projects"))


@pytest.fixture(scope="session")
def plain_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a plain folder: copier reads it in place, without a clone."""
    return copy_template(tmp_path_factory.mktemp("plain") / "template")
