"""The temporary copy a build runs in: what git sees, with its state, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

from nightly_sessions.wheels import project_copy
from wheels.build_samples import SAMPLES, commit, git, sample, tree_state


def test_copy_project_is_what_git_sees_with_its_state(tmp_path: Path) -> None:
    """Tracked and untracked files, the commit, tags and dirty state; not ignored files."""
    root = sample(tmp_path, "module", "v0.3.0")
    (root / "untracked.txt").write_text("new")
    (root / "README.rst").write_text("changed, not committed\n")
    (root / "CHANGES.txt").unlink()
    (root / "build").mkdir()
    (root / "build" / "junk.o").write_text("ignored")
    before = tree_state(root)
    copy = project_copy.copy_project(root, tmp_path / "copy")
    assert copy == tmp_path / "copy"
    assert (copy / "untracked.txt").read_text() == "new"
    assert (copy / "README.rst").read_text() == "changed, not committed\n"
    assert not (copy / "CHANGES.txt").exists()
    assert not (copy / "build").exists()
    for command in (
        ["status", "--porcelain"],
        ["rev-parse", "HEAD"],
        ["describe", "--tags", "--dirty"],
    ):
        assert git(copy, *command) == git(root, *command)
    assert (copy / ".git" / "objects" / "info" / "alternates").is_file()  # history not copied
    git(copy, "commit", "-q", "-a", "-m", "in the copy only")
    assert tree_state(root) == before


def test_copy_project_outside_git_skips_outputs_and_caches(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(SAMPLES / "module", plain)
    for folder in ("dist", ".nox", "src/demo_module/__pycache__", "src/demo.egg-info"):
        (plain / folder).mkdir(parents=True)
        (plain / folder / "file").write_text("output")
    (plain / "src" / "demo_module" / "build").mkdir()  # a subpackage, not an output
    (plain / "src" / "demo_module" / "build" / "__init__.py").write_text("")
    copied = project_copy.copy_project(plain, tmp_path / "plain-copy")
    assert (copied / "pyproject.toml").is_file()
    assert (copied / "src" / "demo_module" / "build" / "__init__.py").is_file()
    for folder in ("dist", ".nox", "src/demo_module/__pycache__", "src/demo.egg-info"):
        assert not (copied / folder).exists()


def test_copy_project_in_a_subfolder_brings_its_checkout(tmp_path: Path) -> None:
    """A project in python/ may build from ../cpp, and git sees the same state."""
    outer = tmp_path / "repository"
    shutil.copytree(SAMPLES / "module", outer / "python")
    (outer / "cpp").mkdir()
    (outer / "cpp" / "lib.h").write_text("int f(void);\n")
    git(outer, "init", "-q")
    commit(outer, "initial")
    (outer / "python" / "notes.txt").write_text("untracked")
    copy = project_copy.copy_project(outer / "python", tmp_path / "copy")
    assert copy == tmp_path / "copy" / "python"
    assert (copy.parent / "cpp" / "lib.h").is_file()
    assert (copy / "notes.txt").is_file()
    assert git(copy, "status", "--porcelain") == git(outer, "status", "--porcelain")
    assert not git(copy, "describe", "--always", "--dirty").strip().endswith("-dirty")


def test_copy_project_of_a_linked_worktree(tmp_path: Path) -> None:
    root = sample(tmp_path, "module", "v0.3.0")
    worktree = tmp_path / "worktree"
    git(root, "worktree", "add", "-q", "-b", "feature", str(worktree))
    (worktree / "README.rst").write_text("work in progress\n")
    copy = project_copy.copy_project(worktree, tmp_path / "copy")
    assert (copy / "README.rst").read_text() == "work in progress\n"
    for command in (["status", "--porcelain"], ["rev-parse", "HEAD"], ["branch", "--show-current"]):
        assert git(copy, *command) == git(worktree, *command)


def test_copy_project_ignored_by_the_enclosing_repository(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    (outer / ".gitignore").write_text("generated/\n")
    project = outer / "generated" / "project"
    shutil.copytree(SAMPLES / "module", project)
    copied = project_copy.copy_project(project, tmp_path / "copy")
    assert (copied / "pyproject.toml").is_file()
