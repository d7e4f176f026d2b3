from __future__ import annotations

from pathlib import Path

import pytest

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.pyproject import read_project, read_pyproject

PYPROJECT = """
[project]
name = "Demo_Project"
dependencies = ["numpy>=2", "scipy; python_version >= '3.10'"]

[project.optional-dependencies]
Test = ["pytest", "hypothesis"]
plot = ["matplotlib"]

[dependency-groups]
test = ["pytest-cov", {include-group = "lint"}]
lint = ["ruff"]
"""


def test_reads_requirements_of_extras_and_groups(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    project = read_project(tmp_path)
    assert project.name == "Demo_Project"
    assert project.default_extras() == ("test",)
    assert project.default_groups() == ("test",)
    names = [req.name for req in project.requirements(["test"], ["test"])]
    assert names == ["numpy", "scipy", "pytest", "hypothesis", "pytest-cov", "ruff"]


def test_unknown_extra_lists_defined_ones(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Extra 'docs' is not in .* \(defined: plot, test\)"):
        read_project(tmp_path).requirements(["docs"], [])


def test_unknown_group_is_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"Dependency group 'docs' cannot be read .* defined groups: lint, test"
    ):
        read_project(tmp_path).requirements([], ["docs"])


def test_invalid_requirement_names_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["numpy >>> 2"]\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"Requirement 'numpy >>> 2' in \[project.dependencies\]"):
        read_project(tmp_path).requirements([], [])


def test_dependencies_must_be_strings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = "numpy"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="must be a list of requirement strings"):
        read_project(tmp_path)


def test_missing_file_is_empty_for_settings_but_not_for_the_project(tmp_path: Path) -> None:
    assert read_pyproject(tmp_path / "pyproject.toml") == {}
    with pytest.raises(
        ConfigError, match=r"No pyproject.toml in .*; run this in the project's root"
    ):
        read_project(tmp_path)


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        (b"\xff\xfe[\x00p\x00", r"is not UTF-8 text \(byte 0 cannot be read\)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", r"is not UTF-8 text"),
        ('\ufeff[project]\nname = "x"\n'.encode(), r"starts with a byte order mark"),
        (b"[project\nname = 1\n", r"is not valid TOML"),
    ],
    ids=["utf16", "binary", "bom", "invalid-toml"],
)
def test_unreadable_pyproject_is_one_sentence(
    tmp_path: Path, content: bytes, sentence: str
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(content)
    with pytest.raises(ConfigError, match=sentence) as raised:
        read_project(tmp_path)
    message = str(raised.value)
    assert "pyproject.toml" in message
    assert message.endswith("run again.")
