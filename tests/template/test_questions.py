"""copier.yml's questions: the choices offered (Pythons, runners), the minimum copier
version, and the validators, which refuse a bad answer with its reason."""

from __future__ import annotations

import importlib.metadata
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from nightly_sessions.testing.template import ROOT, render
from template.template_world import DEFAULT_PYTHONS, RUNNER_OS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

NEWEST_STABLE = ["3.14", "3.15"]  # the newest two stable releases (December 2026)

# The wheels a cibw_platforms runner builds for its own architecture.
CIBW_PLATFORM_TAG = {
    "ubuntu-latest": "manylinux_x86_64",
    "ubuntu-24.04-arm": "manylinux_aarch64",
    "macos-latest": "macosx_arm64",
    "macos-15-intel": "macosx_x86_64",
    "windows-latest": "win_amd64",
    "windows-11-arm": "win_arm64",
}


def test_offered_pythons_are_supported_releases_and_the_next_pre_release() -> None:
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    every: dict[str, str] = config["python_versions"]["choices"]
    # Free-threaded builds ("3.14t") come last, one per release that has them (test_pythons).
    choices = {label: value for label, value in every.items() if not value.endswith("t")}
    assert list(every)[: len(choices)] == list(choices)
    versions = [tuple(map(int, value.split("."))) for value in choices.values() if value != "auto"]
    assert versions == sorted(versions)
    # nightly-sessions itself runs on every one of them.
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert min(versions) >= tuple(map(int, requires.removeprefix(">=").split(".")))
    stable = [value for label, value in choices.items() if label == value]
    [(label, pre_release)] = [
        (label, v) for label, v in choices.items() if label != v and v != "auto"
    ]
    assert (label, pre_release) == (f"{pre_release} (pre-release)", list(choices.values())[-1])
    assert next(iter(choices.values())) == "auto"
    assert config["python_versions"]["default"] == DEFAULT_PYTHONS
    assert stable[-2:] == NEWEST_STABLE
    # The pinned cibuildwheel builds every stable one on every runner the template offers.
    platforms = tomllib.loads(
        (resources.files("cibuildwheel") / "resources" / "build-platforms.toml").read_text()
    )
    identifiers = {
        build["identifier"]
        for table in platforms.values()
        for build in table["python_configurations"]
    }
    assert set(config["cibw_platforms"]["choices"].values()) == set(CIBW_PLATFORM_TAG)
    for version in stable:
        for tag in CIBW_PLATFORM_TAG.values():
            assert f"cp{version.replace('.', '')}-{tag}" in identifiers, (version, tag)


def test_min_copier_version_is_the_oldest_that_renders_every_answer() -> None:
    """copier 9.4 to 9.6 render project_name '' and repository '/' from the defaults, or
    skip the noxfile check; the README's install line asks for the same minimum."""
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    minimum = Version(config["_min_copier_version"])
    assert minimum == Version("9.7.0")
    assert Version(importlib.metadata.version("copier")) >= minimum
    readme = (ROOT / "README.md").read_text()
    assert re.findall(r"copier>=([\d.]+)", readme) == [f"{minimum.major}.{minimum.minor}"]


def test_runner_os_names_cover_every_test_os() -> None:
    choices = yaml.safe_load((ROOT / "copier.yml").read_text())["test_oses"]["choices"]
    assert set(choices.values()) == set(RUNNER_OS)
    assert {runner: label for label, runner in choices.items()} == RUNNER_OS  # runner.os values


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("test_cron", "0 3 * *", "'0 3 * *' has 4 fields, but a cron expression needs five"),
        ("build_cron", "0 3 * * 1 2", "has 6 fields, but a cron expression needs five"),
        (
            "test_cron",
            "61 3 * * 1",
            "The minute field of '61 3 * * 1' is '61', but it accepts 0-59",
        ),
        ("test_cron", "0 24 * * 1", "The hour field of '0 24 * * 1' is '24', but it accepts 0-23"),
        ("test_cron", "0 3 32 * *", "The day of month field of '0 3 32 * *' is '32'"),
        ("build_cron", "0 3 * 13 *", "The month field of '0 3 * 13 *' is '13'"),
        ("test_cron", "0 3 * * 1-7", "The day of week field of '0 3 * * 1-7' is '1-7'"),
        ("test_cron", "0 3 * * MON,SOMEDAY", "accepts 0-6 or SUN-SAT"),
        ("nightly_packages", "numpy, -scipy", "'-scipy' is not a valid package name"),
        ("nightly_packages", "num$py", "'num$py' is not a valid package name"),
        ("nightly_packages", "auto, numpy", "'auto' cannot be mixed with names"),
        ("nightly_packages", " ", "Give 'auto' or at least one package name"),
        ("test_extras", "test!", "'test!' is not a valid extra name"),
        ("test_groups", "dev_", "'dev_' is not a valid group name"),
        ("project_name", "-skymap", "'-skymap' is not a valid project name"),
        (
            "python_versions",
            ["3.9"],  # end of life; nightly-sessions needs 3.10
            (
                "'3.9' is not in ['auto', '3.10', '3.11', '3.12', '3.13', '3.14', '3.15', "
                "'3.16', '3.13t', '3.14t', '3.15t', '3.16t']"
            ),
        ),
        ("python_versions", ["3.17"], "'3.17' is not in"),
        ("python_versions", ["3.14x"], "'3.14x' is not in"),
        ("python_versions", ["3.12t"], "'3.12t' is not in"),  # no free-threaded 3.12
        ("python_versions", [], "Choose at least one Python version."),
        ("test_oses", [], "Choose at least one operating system."),
        ("repository", "skymap", "'skymap' is not a GitHub repository: write it as owner/name"),
        ("tests_workflow", "nightly.yml\nrm", "'nightly.yml\\nrm' is not a workflow file name"),
        ("tests_workflow", "../ci.yml", "'../ci.yml' is not a workflow file name"),
        ("wheels_workflow", "nightly-tests.yml", "need two different file names"),
        ("repository", "a/b/c", "'a/b/c' is not a GitHub repository"),
        ("repository", "-org/skymap", "'-org/skymap' is not a GitHub repository"),
        (
            "upload_token_secret",
            "GITHUB_TOKEN",
            "GitHub reserves secret names that start with GITHUB_",
        ),
        ("upload_token_secret", "MY TOKEN", "'MY TOKEN' is not a GitHub secret name"),
        ("channel", "my channel", "'my channel' is not an anaconda.org user or organisation name"),
        ("issue_label", " nightly", "must be non-empty, without spaces at either end"),
        ("issue_label", "x" * 51, "is 51 characters long; GitHub allows at most 50"),
        ("upload_with", "twine", "'twine' is not in ['action', 'session']"),
    ],
)
def test_bad_answers_are_refused_with_a_reason(
    plain_template: Path, tmp_path: Path, question: str, answer: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        render(plain_template, tmp_path / "project", **{question: answer})
    assert question in str(error.value)
    assert not (tmp_path / "project" / "noxfile.py").exists()


def test_unusual_but_valid_answers_are_accepted(plain_template: Path, tmp_path: Path) -> None:
    project = render(
        plain_template,
        tmp_path / "project",
        project_name="sky.map_2",
        repository="Example-Org/sky.map_2",
        test_cron="0,30 */4 1-7 jan-mar/2 sun",
        nightly_packages="numpy,scipy pandas",
        upload_token_secret="_TOKEN_2",
    )
    text = (project / "noxfile.py").read_text()
    assert 'packages=["numpy", "scipy", "pandas"]' in text
    assert (
        '- cron: "0,30 */4 1-7 jan-mar/2 sun"'
        in (project / ".github/workflows/nightly-tests.yml").read_text()
    )


def test_the_wheels_workflow_avoids_the_tests_workflows_name(
    plain_template: Path, tmp_path: Path
) -> None:
    project = render(plain_template, tmp_path / "project", tests_workflow="nightly-wheels.yml")
    names = sorted(path.name for path in (project / ".github" / "workflows").iterdir())
    assert names == ["nightly-sessions-wheels.yml", "nightly-wheels.yml"]
