"""Shared fixtures: an isolated installer environment and real pypiserver indexes."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nightly_sessions.testing.github import FakeGitHub, serve_github
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.wheelhouse import download_wheels

# tests/samples holds projects and suites that tests run on copies of; never collected here.
collect_ignore = ["samples"]

# Installer settings from the machine would add other indexes; tests see loopback only.
_INSTALLER_VARIABLES = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_NO_INDEX",
    "UV_INDEX", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS",
    "UV_INDEX_STRATEGY", "UV_CONSTRAINT", "NIGHTLY_INDEX_URL", "NIGHTLY_BASE_INDEX_URL",
    "GITHUB_STEP_SUMMARY",
)  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def _isolated_installers() -> Iterator[None]:
    """Hide the machine's pip and uv configuration for the whole test session."""
    saved = dict(os.environ)
    for name in _INSTALLER_VARIABLES:
        os.environ.pop(name, None)
    os.environ["PIP_CONFIG_FILE"] = os.devnull
    os.environ["UV_NO_CONFIG"] = "1"
    os.environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def base_wheelhouse() -> Path:
    """A folder of real wheels (pytest and friends) that base indexes serve."""
    return download_wheels()


IndexFactory = Callable[[Path], PypiServer]


@pytest.fixture
def start_index() -> Iterator[IndexFactory]:
    """Start pypiserver on a folder; every server is stopped when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(directory: Path) -> PypiServer:
            return stack.enter_context(serve_directory(directory))

        yield start


@pytest.fixture
def base_index(tmp_path: Path, base_wheelhouse: Path, start_index: IndexFactory) -> PypiServer:
    """A base index (the PyPI stand-in) holding the wheelhouse; tests add releases to it."""
    directory = tmp_path / "base-index"
    shutil.copytree(base_wheelhouse, directory)
    return start_index(directory)


@pytest.fixture
def nightly_index(tmp_path: Path, start_index: IndexFactory) -> PypiServer:
    """An empty nightly channel stand-in; tests add dev wheels to it."""
    return start_index(tmp_path / "nightly-index")


@pytest.fixture
def github_server() -> Iterator[FakeGitHub]:
    """The GitHub REST stand-in on a free loopback port, fresh state for each test."""
    with serve_github() as server:
        yield server
