"""Python environments and their installer (uv or pip), with the machine's index settings
switched off: every install names its one index itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nightly_sessions.core import runner

# Variables through which a machine's installer configuration would add indexes.
_INDEX_VARIABLES = [
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_PRE",
    "PIP_CONSTRAINT",
    "PIP_REQUIREMENT",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_INDEX_STRATEGY",
    "UV_PRERELEASE",
    "UV_CONSTRAINT",
    "UV_OVERRIDE",
    "UV_NO_INDEX",
]
ISOLATION: dict[str, str | None] = {
    **dict.fromkeys(_INDEX_VARIABLES, None),
    "PIP_CONFIG_FILE": os.devnull,
    "UV_NO_CONFIG": "1",
}

InstallerName = Literal["uv", "pip"]


def index_environment(index_url: str) -> dict[str, str | None]:
    """Installer variables that make `index_url` the only index.

    The URL travels in the environment, not on the command line, where other processes
    could read a `/t/<token>/` in it.
    """
    return {**ISOLATION, "PIP_INDEX_URL": index_url, "UV_DEFAULT_INDEX": index_url}


def find_uv() -> str | None:
    """The uv executable: from uv's Python package (as nox looks first), else on PATH."""
    with contextlib.suppress(ImportError, FileNotFoundError):
        from uv import find_uv_bin

        return find_uv_bin()
    return shutil.which("uv")


def choose_installer(setting: str) -> tuple[InstallerName, str]:
    """The installer for `setting` ("auto", "uv" or "pip") and the uv command to run.

    "auto" takes uv only when it can be found, else pip (as nox's `uv|virtualenv` does).
    """
    if setting == "pip":
        return "pip", "uv"
    uv = find_uv()
    if setting == "auto" and uv is None:
        return "pip", "uv"
    return "uv", uv or "uv"


@dataclass(frozen=True)
class Environment:
    """A Python environment and the installer that manages it."""

    python: Path
    installer: InstallerName
    uv: str = "uv"

    def install(self, *args: str) -> list[str]:
        """The install command for this environment."""
        if self.installer == "uv":
            return [self.uv, "pip", "install", "--python", str(self.python), *args]
        return [str(self.python), "-m", "pip", "install", "--disable-pip-version-check", *args]

    def check(self) -> list[str]:
        """The dependency-check command for this environment."""
        if self.installer == "uv":
            return [self.uv, "pip", "check", "--python", str(self.python)]
        return [str(self.python), "-m", "pip", "check", "--disable-pip-version-check"]

    def prerelease_flag(self) -> str:
        return "--prerelease=allow" if self.installer == "uv" else "--pre"


def install_tools(env: Environment, requirements: Sequence[str], index_url: str) -> None:
    """Install pinned tools a session needs (build, anaconda-client) from the base index."""
    runner.run(
        env.install(*requirements),
        what=f"install {', '.join(requirements)} from {index_url}",
        env=index_environment(index_url),
    )
