"""tests/corpus/corpus.toml describes exactly the real projects' files that sit beside it."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = CORPUS / "corpus.toml"
OWN_FILES = {"corpus.toml", "README.md"}
COLLIDING = ("nightly-tests.yml", "nightly-wheels.yml")
VERSION_SOURCES = {
    "static",
    "module",
    "setuptools-scm",
    "vcs-versioning",
    "hatch-vcs",
    "versioneer",
    "meson-script",
    "other",
}
MAX_BYTES = 200_000

KEYS: dict[str, type] = {
    "repository": str,
    "commit": str,
    "commit_date": str,
    "release_tag": str,
    "release_version": str,
    "nearest_tag": str,
    "license": str,
    "files": list,
    "layout": str,
    "version_source": str,
    "project_name": str,
    "requires_python": str,
    "python_classifiers": list,
    "has_noxfile": bool,
    "has_dependabot": bool,
    "colliding_workflows": list,
    "runtime_extras": list,
    "test_extras": list,
    "test_groups": list,
    "test_requirement_files": list,
    "nightly_dependencies": list,
    "build_tools_in_test_extras": list,
    "notes": str,
}

MANIFEST_DATA: dict[str, Any] = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
SLUGS = sorted(MANIFEST_DATA)


def _entry(slug: str) -> dict[str, Any]:
    entry: dict[str, Any] = MANIFEST_DATA[slug]
    return entry


def _present(slug: str) -> set[str]:
    root = CORPUS / slug
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def _pyproject(slug: str) -> dict[str, Any]:
    return tomllib.loads((CORPUS / slug / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_folder_has_a_table_and_every_table_a_folder() -> None:
    folders = {path.name for path in CORPUS.iterdir() if path.is_dir()}
    loose = {path.name for path in CORPUS.iterdir() if path.is_file()}
    assert folders == set(SLUGS)
    assert loose == OWN_FILES
    assert len(SLUGS) >= 10


def test_nothing_in_the_corpus_is_collected_by_pytest() -> None:
    collectable = [
        path
        for path in CORPUS.rglob("*.py")
        if path.name == "conftest.py"
        or path.name.startswith("test_")
        or path.stem.endswith("_test")
    ]
    assert collectable == []


@pytest.mark.parametrize("slug", SLUGS)
def test_table_has_the_keys_with_their_types(slug: str) -> None:
    entry = _entry(slug)
    assert set(entry) == set(KEYS)
    for key, kind in KEYS.items():
        assert isinstance(entry[key], kind), f"{slug}.{key} is not a {kind.__name__}"
        if kind is list:
            assert all(isinstance(item, str) for item in entry[key]), f"{slug}.{key}"
            assert len(set(entry[key])) == len(entry[key]), f"{slug}.{key} repeats an item"


@pytest.mark.parametrize("slug", SLUGS)
def test_table_values_are_well_formed(slug: str) -> None:
    entry = _entry(slug)
    assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["commit_date"])
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry["repository"])
    assert entry["version_source"] in VERSION_SOURCES
    assert entry["release_version"] in entry["release_tag"]
    assert all(re.fullmatch(r"3\.\d+", version) for version in entry["python_classifiers"])
    assert entry["nightly_dependencies"] == sorted(entry["nightly_dependencies"])
    for key in ("license", "layout", "notes", "release_tag", "nearest_tag"):
        assert entry[key].strip(), f"{slug}.{key} is empty"


@pytest.mark.parametrize("slug", SLUGS)
def test_listed_files_are_exactly_the_files_present(slug: str) -> None:
    listed = _entry(slug)["files"]
    assert "pyproject.toml" in listed
    assert set(listed) == _present(slug)


@pytest.mark.parametrize("slug", SLUGS)
def test_files_are_small_text(slug: str) -> None:
    for name in _entry(slug)["files"]:
        data = (CORPUS / slug / name).read_bytes()
        assert len(data) <= MAX_BYTES, f"{slug}/{name} is {len(data)} bytes"
        assert b"\0" not in data, f"{slug}/{name} looks binary"
        data.decode("utf-8")


@pytest.mark.parametrize("slug", SLUGS)
def test_flags_match_the_files(slug: str) -> None:
    entry = _entry(slug)
    root = CORPUS / slug
    assert entry["has_noxfile"] == (root / "noxfile.py").is_file()
    assert entry["has_dependabot"] == (root / ".github" / "dependabot.yml").is_file()
    present = [name for name in COLLIDING if (root / ".github" / "workflows" / name).is_file()]
    assert sorted(entry["colliding_workflows"]) == present


@pytest.mark.parametrize("slug", SLUGS)
def test_description_matches_the_copied_pyproject(slug: str) -> None:
    entry = _entry(slug)
    data = _pyproject(slug)
    project = data["project"]
    assert entry["project_name"] == project["name"]
    assert entry["requires_python"] == project.get("requires-python", "")
    prefix = "Programming Language :: Python :: "
    classifiers = [
        item.removeprefix(prefix)
        for item in project.get("classifiers", [])
        if re.fullmatch(re.escape(prefix) + r"3\.\d+", item)
    ]
    assert entry["python_classifiers"] == classifiers
    extras = project.get("optional-dependencies", {})
    groups = data.get("dependency-groups", {})
    for name in entry["runtime_extras"] + entry["test_extras"]:
        assert name in extras, f"{slug}: no extra {name!r}"
    for name in entry["test_groups"]:
        assert name in groups, f"{slug}: no dependency group {name!r}"
    for name in entry["test_requirement_files"]:
        assert name in entry["files"], f"{slug}: {name} is not copied"
