"""The temporary copy of the project every build runs in.

A build must never write into the user's tree (no egg-info, version file or build/
folder appearing there), so it runs in a copy. The copy is what git sees, tracked files
and untracked ones not ignored, with a .git folder that borrows the original objects
through alternates, so tools that read git state see the same commit, tags and changes.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Outputs and environments of earlier runs, never copied unless git tracks them.
OUTPUTS = frozenset({".nox", ".tox", ".venv", ".eggs", "build", "dist", "wheelhouse"})
CACHES = ("__pycache__", "*.egg-info", ".mypy_cache", ".pytest_cache", ".ruff_cache")
# Parts of a git directory a build never needs: objects are shared through alternates.
GIT_SKIPPED = frozenset({"objects", "worktrees", "modules", "lfs", "annex", "commondir", "gitdir"})
# The copy is a plain checkout: not bare, no fsmonitor daemon; stat data is compared
# as copy2 keeps it (mtime and size), so refreshing the index re-reads no file.
GIT_COPY_CONFIG = (
    ("core.bare", "false"),
    ("core.fsmonitor", "false"),
    ("core.checkStat", "minimal"),
    ("core.trustctime", "false"),
)


def _git_output(root: Path, *args: str) -> str | None:
    """Output of a git command in `root`, or None when it fails or git is missing."""
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout if result.returncode == 0 else None


@dataclass(frozen=True)
class _Checkout:
    """The git checkout a project lives in: its top folder and git directories."""

    top: Path
    git_dir: Path  # this worktree's (HEAD, index)
    common_dir: Path  # shared by all worktrees (objects, refs, config)


def _checkout(root: Path) -> _Checkout | None:
    output = _git_output(root, "rev-parse", "--show-toplevel", "--absolute-git-dir")
    common = _git_output(root, "rev-parse", "--git-common-dir")
    if output is None or common is None or len(output.splitlines()) != 2:
        return None
    top, git_dir = (Path(line).resolve() for line in output.splitlines())
    return _Checkout(top, git_dir, (root / common.strip()).resolve())


def _is_output(name: str) -> bool:
    """Whether a path relative to the project lies in an output or cache folder."""
    parts = Path(name).parts
    return parts[0] in OUTPUTS or any(
        fnmatch.fnmatch(part, pattern) for part in parts for pattern in CACHES
    )


def _listed_files(checkout: _Checkout, prefix: Path) -> list[str] | None:
    """What git sees: every tracked file, and the project's untracked files not ignored.

    None when git does not track the project (outside git, or an ignored folder).
    """
    tracked = _git_output(checkout.top, "ls-files", "-z", "--cached", "--recurse-submodules")
    untracked = _git_output(
        checkout.top / prefix, "ls-files", "-z", "--others", "--exclude-standard"
    )
    if tracked is None or untracked is None:
        return None
    names = set(filter(None, tracked.split("\0")))
    inside = prefix.as_posix() + "/" if prefix.parts else ""
    if not any(name.startswith(inside) for name in names):
        return None
    extra = [name for name in untracked.split("\0") if name and not _is_output(name)]
    return sorted(names | {prefix.joinpath(name).as_posix() for name in extra})


def _copy_listed(top: Path, names: Sequence[str], destination: Path) -> None:
    for name in names:
        source, target = top / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_dir():  # a submodule that is not checked out
            target.mkdir(exist_ok=True)
        elif source.is_file():  # a tracked file deleted in the tree stays deleted
            shutil.copy2(source, target)


def _git_dir_ignore(top: Path) -> Callable[[str, list[str]], set[str]]:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = GIT_SKIPPED if Path(folder) == top else frozenset()
        return {
            name
            for name in names
            if name in skipped
            or name.endswith(".lock")
            or not (Path(folder, name).is_file() or Path(folder, name).is_dir())
        }

    return ignore


def _copy_git_dir(checkout: _Checkout, target: Path) -> None:
    """A .git folder with the same HEAD, refs, tags and index, reading the original objects.

    The objects are borrowed through `objects/info/alternates`, read-only, so even a large
    history costs nothing to copy; a linked worktree's own HEAD and index win.
    """
    shutil.copytree(checkout.common_dir, target, ignore=_git_dir_ignore(checkout.common_dir))
    if checkout.git_dir != checkout.common_dir:
        ignore = _git_dir_ignore(checkout.git_dir)
        shutil.copytree(checkout.git_dir, target, ignore=ignore, dirs_exist_ok=True)
    (target / "objects" / "info").mkdir(parents=True)
    alternates = target / "objects" / "info" / "alternates"
    alternates.write_text(f"{checkout.common_dir / 'objects'}\n", encoding="utf-8")
    config = ["git", "config", "--file", str(target / "config")]
    for change in (*GIT_COPY_CONFIG, ("--unset-all", "core.worktree")):
        subprocess.run([*config, *change], capture_output=True, check=False)


def _ignore_outputs(root: Path) -> Callable[[str, list[str]], set[str]]:
    """Outside git: skip outputs at the top, caches and .git everywhere."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(root)
        return {
            name
            for name in names
            if name == ".git" or _is_output(relative.joinpath(name).as_posix())
        }

    return ignore


def copy_project(root: Path, destination: Path) -> Path:
    """A copy of the project as git sees it, to build from; returns the project folder in it.

    In git that is every tracked file and the untracked ones not ignored, with the .git
    folder, so versioneer, setuptools-scm's file finder and scripts run from meson.build
    see the same commit, tags and dirty state as in the tree. A project in a subfolder
    comes with its whole checkout, which its build may reach into. Outside git (or in a
    folder the enclosing repository ignores) it is the whole folder less build outputs,
    environments and caches.
    """
    root = root.resolve()
    checkout = _checkout(root)
    if checkout is not None and not root.is_relative_to(checkout.top):
        checkout = None
    prefix = root.relative_to(checkout.top) if checkout else Path()
    names = _listed_files(checkout, prefix) if checkout else None
    if checkout is None or names is None:
        shutil.copytree(root, destination, ignore=_ignore_outputs(root), symlinks=True)
        return destination
    _copy_listed(checkout.top, names, destination)
    _copy_git_dir(checkout, destination / ".git")
    # The copied index holds the original files' inodes; refresh it so git compares content.
    subprocess.run(
        ["git", "-C", str(destination), "update-index", "-q", "--refresh"],
        capture_output=True,
        check=False,
    )
    return destination / prefix
