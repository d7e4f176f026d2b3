"""`python = "auto"`: the Pythons nightly_tests runs on, read from the project."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

from nightly_sessions.core.config import load_settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.pythons import (
    PRERELEASE,
    RELEASED,
    any_installed,
    auto_pythons,
    classifier_versions,
    matrix_outputs,
    missing_sentence,
    on_path,
    parse_python,
    write_outputs,
)

WHERE = Path("pyproject.toml")


def classifiers(*versions: str) -> list[str]:
    return [
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        *(f"Programming Language :: Python :: {version}" for version in versions),
    ]


@pytest.mark.parametrize(
    ("requires", "listed", "expected"),
    [
        # networkx: a lower bound and one patch release excluded; classifiers up to 3.14.
        (">=3.12,!=3.14.1", classifiers("3.12", "3.13", "3.14"), ("3.13", "3.14", PRERELEASE)),
        # No classifiers: the newest two released that requires-python allows.
        (">=3.11", [], ("3.14", "3.15", PRERELEASE)),
        # An upper bound keeps the pre-release out.
        (">=3.10,<3.14", [], ("3.12", "3.13")),
        # Classifiers that lag behind requires-python (sunpy lists 3.11 under >=3.12).
        (">=3.12", classifiers("3.11"), ("3.12", PRERELEASE)),
        # Nothing at all: every released Python is allowed.
        (None, [], ("3.14", "3.15", PRERELEASE)),
        # A patch-level lower bound still admits its minor version.
        (">=3.13.2", classifiers("3.13", "3.14", "3.15"), ("3.14", "3.15", PRERELEASE)),
    ],
)
def test_auto_takes_the_newest_supported_pythons(
    requires: str | None, listed: list[str], expected: tuple[str, ...]
) -> None:
    assert auto_pythons(requires, listed, WHERE) == expected


def test_classifier_versions_ignore_other_classifiers() -> None:
    assert classifier_versions([*classifiers("3.12"), "Topic :: Science", 3]) == ["3.12"]


@pytest.mark.parametrize(
    ("requires", "sentence"),
    [
        (">=4", r"No released Python \(3\.10, .*3\.15\) satisfies requires-python >=4"),
        ("3.12", r"requires-python = '3\.12' in pyproject\.toml is not a version specifier"),
    ],
)
def test_auto_without_a_python_is_a_sentence(requires: str, sentence: str) -> None:
    with pytest.raises(ConfigError, match=sentence):
        auto_pythons(requires, [], WHERE)


def test_auto_setting_reads_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nrequires-python = ">=3.10,<3.13"\n'
        '[tool.nightly-sessions]\npython = "auto"\n',
        encoding="utf-8",
    )
    assert load_settings(tmp_path, environ={}).python == ("3.11", "3.12")
    overridden = load_settings(tmp_path, environ={"NIGHTLY_PYTHON": "3.11"})
    assert overridden.python == ("3.11",)
    assert load_settings(tmp_path, {"python": ["auto"]}, environ={}).python == ("3.11", "3.12")


def test_installed_looks_on_path_before_asking_uv() -> None:
    seen: list[str] = []

    def which(name: str) -> str | None:
        seen.append(name)
        return "/usr/bin/python3.13" if name == "python3.13" else None

    assert any_installed(["3.13", "3.99"], which)
    assert seen[0] == "python3.13"
    assert not any_installed(["3.98", "3.99"], lambda name: None)  # uv has no 3.98 either


def test_missing_sentence_names_the_pythons_and_the_way_out() -> None:
    sentence = missing_sentence(["3.98", "3.99"])
    assert sentence.startswith("None of the Pythons nightly_tests runs on (3.98, 3.99)")
    assert "uv python install 3.99" in sentence
    assert "NIGHTLY_PYTHON=3.X" in sentence
    assert sentence.endswith(".")


def test_the_template_offers_the_same_pythons() -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "copier.yml").read_text())
    offered = list(config["python_versions"]["choices"].values())
    assert [v for v in offered if re.fullmatch(r"3\.\d+", v)] == [*RELEASED, PRERELEASE]


def test_the_template_offers_free_threaded_builds_where_they_exist() -> None:
    config = yaml.safe_load((Path(__file__).parents[2] / "copier.yml").read_text())
    offered = list(config["python_versions"]["choices"].values())
    threaded = [f"{v}t" for v in (*RELEASED, PRERELEASE) if parse_python(f"{v}t")]
    assert [v for v in offered if v.endswith("t")] == threaded
    assert threaded[0] == "3.13t"


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("3.12", (3, 12, False)),
        ("3.14t", (3, 14, True)),
        (" 3.13t ", (3, 13, True)),
        ("3.12t", None),  # no free-threaded build before 3.13
        ("3.14x", None),
        ("3.14T", None),
        ("3.14tt", None),
        ("3", None),
    ],
)
def test_parse_python_knows_free_threaded_builds(
    text: str, parsed: tuple[int, int, bool] | None
) -> None:
    assert parse_python(text) == parsed


def test_a_free_threaded_python_is_found_by_its_own_name() -> None:
    seen: list[str] = []

    def which(name: str) -> str | None:
        seen.append(name)
        return "/usr/bin/python3.14t" if name == "python3.14t" else None

    assert on_path("3.14t", which)
    assert seen == ["python3.14t"]
    assert not on_path("3.14", which) or sys.platform.startswith("win")


def test_auto_never_adds_a_free_threaded_build() -> None:
    chosen = auto_pythons(">=3.10", classifiers("3.13", "3.14"), WHERE)
    assert not any(version.endswith("t") for version in chosen)


def test_matrix_outputs_name_each_job_as_its_report(tmp_path: Path) -> None:
    outputs = matrix_outputs(["3.14", "3.16"], ["Linux", "macOS"])
    assert outputs == {
        "python": '["3.14", "3.16"]',
        "jobs": "py3.14-Linux py3.16-Linux py3.14-macOS py3.16-macOS",
    }
    target = tmp_path / "github-output"
    target.write_text("earlier=1\n", encoding="utf-8")
    write_outputs(outputs, target)
    assert target.read_text(encoding="utf-8").splitlines() == [
        "earlier=1",
        'python=["3.14", "3.16"]',
        "jobs=py3.14-Linux py3.16-Linux py3.14-macOS py3.16-macOS",
    ]


def test_the_advice_for_an_unsatisfiable_requires_python_works(tmp_path: Path) -> None:
    """The noxfile says python="auto"; the sentence says to list the Pythons in the table,
    and doing so is obeyed: a template default never beats the project's own choice.
    """
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nrequires-python = ">=3.17"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'list the Pythons to test in python = \["3\.X"\]'):
        load_settings(tmp_path, {"python": "auto"}, environ={})
    pyproject.write_text(
        pyproject.read_text() + '[tool.nightly-sessions]\npython = ["3.13"]\nextras = ["docs"]\n',
        encoding="utf-8",
    )
    settings = load_settings(tmp_path, {"python": "auto", "extras": "auto"}, environ={})
    assert (settings.python, settings.extras) == (("3.13",), ("docs",))
    explicit = load_settings(tmp_path, {"python": ["3.12"]}, environ={})
    assert explicit.python == ("3.12",)  # a real choice in the noxfile still wins
