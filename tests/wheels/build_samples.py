"""The sample projects in their own git repositories, and the state a build must not touch."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SAMPLES = Path(__file__).parents[1] / "samples"


def git(root: Path, *args: str) -> str:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    result = subprocess.run(
        ["git", "-C", str(root), *identity, *args], check=True, capture_output=True, text=True
    )
    return result.stdout


def commit(root: Path, message: str) -> None:
    with (root / "CHANGES.txt").open("a") as changes:
        changes.write(f"{message}\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def sample(tmp_path: Path, kind: str, tag: str | None = None) -> Path:
    """A copy of a sample in its own git repository, one commit past `tag`."""
    root = tmp_path / kind
    shutil.copytree(SAMPLES / kind, root)
    git(root, "init", "-q")
    commit(root, "initial")
    if tag:
        git(root, "tag", tag)
    commit(root, "after the tag")
    return root


def tree_state(root: Path, outputs: Sequence[str] = ("dist",)) -> tuple[str, str, dict[str, str]]:
    """Everything a build must leave as it was, but its `outputs` (top-level folders).

    `git status` with ignored files (egg-info, a setuptools-scm version file) and every
    file's size, modification time and hash: what the user sees, not just what git shows.
    """
    excluded = [f":(exclude){name}" for name in outputs]
    status = git(
        root, "status", "--porcelain", "--ignored", "--untracked-files=all", ".", *excluded
    )
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in {".git", *outputs}:
            continue
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[relative.as_posix()] = f"{stat.st_size} {stat.st_mtime_ns} {digest}"
        else:
            files[relative.as_posix()] = "folder" if path.is_dir() else "other"
    return status, git(root, "diff", "HEAD"), files
