"""The message copier prints after copying the template: where the pin of nightly-sessions
cannot be installed by CI, where the upload token goes, how to switch the freshness check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import jinja2
import pytest
import yaml

from nightly_sessions.testing.template import ANSWERS_FILE, BASE_ANSWERS, ROOT, git, git_environment
from template.template_world import REPOSITORY


def words(text: str) -> str:
    """`text` with every run of whitespace as one space: messages wrap where they like."""
    return " ".join(text.split())


SHA = "0123456789abcdef0123456789abcdef01234567"
LOCAL = "a local copy, which CI runners cannot install"
SSH = "an SSH URL, which CI runners cannot install from without a key"


def message_after_copy(src: str, commit: str | None, **data: Any) -> str:
    """copier.yml's `_message_after_copy`, rendered as copier does, for a source `src`."""
    return words(raw_message(src, commit, **data))


def raw_message(src: str, commit: str | None, **data: Any) -> str:
    """The message with its lines as copier prints them."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],  # copier's own
        undefined=jinja2.StrictUndefined,
    )
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    context = {
        name: question["default"]
        for name, question in config.items()
        if not name.startswith("_") and "default" in question
    }
    context.update(
        project_name="skymap",
        repository=REPOSITORY,
        noxfile="noxfile.py",
        dependabot=True,
        _copier_answers={"_src_path": src},
        _copier_conf={
            "answers_file": ANSWERS_FILE,
            "vcs_ref_hash": commit,
            "dst_path": "/nonexistent/project",
        },
        _external_data={},
        **data,
    )
    return environment.from_string(config["_message_after_copy"]).render(context)


@pytest.mark.parametrize(
    ("src", "commit", "warning"),
    [
        ("https://github.com/scientific-python/nightly-sessions", SHA, None),
        ("gh:scientific-python/nightly-sessions", SHA, None),
        ("/home/me/nightly-sessions", SHA, LOCAL),
        ("file:///home/me/nightly-sessions", SHA, LOCAL),
        ("git+file:///home/me/nightly-sessions", SHA, LOCAL),
        ("/home/me/plain-folder", None, LOCAL),  # not a git repository: no commit
        ("git@github.com:scientific-python/nightly-sessions.git", SHA, SSH),
    ],
)
def test_message_warns_when_ci_cannot_install_the_pin(
    src: str, commit: str | None, warning: str | None
) -> None:
    message = message_after_copy(src, commit)
    if warning is None:
        assert "WARNING" not in message
        assert "CI runners" not in message
        return
    assert f"WARNING: noxfile.py pins nightly-sessions from {src}, {warning}." in message
    assert "CI needs a URL it can reach, e.g. the GitHub URL of nightly-sessions" in message
    # How to change it: both places at once, so that `copier update` keeps the new URL.
    assert f"{ANSWERS_FILE}: _src_path: <URL>" in message
    assert f'noxfile.py: "nightly-sessions @ git+<URL>@{commit or "<commit>"}"' in message


def test_message_of_a_relative_path_asks_for_a_reachable_url() -> None:
    message = message_after_copy("../nightly-sessions", SHA)
    assert "nightly-sessions is NOT pinned in noxfile.py" in message
    assert "Copy it from a URL your CI can reach" in message
    assert "WARNING" not in message


def test_message_points_the_token_to_the_upload_environment() -> None:
    message = message_after_copy("gh:scientific-python/nightly-sessions", SHA)
    assert (
        "Store the upload token as the secret ANACONDA_ORG_UPLOAD_TOKEN of the environment"
        " nightly-upload in example-org/skymap (Settings > Environments; allow only your"
        " default branch to deploy), or as a repository secret." in message
    )


@pytest.mark.parametrize("check_freshness", [True, False])
def test_message_says_how_to_switch_the_freshness_check(check_freshness: bool) -> None:
    message = message_after_copy(
        "gh:scientific-python/nightly-sessions", SHA, check_freshness=check_freshness
    )
    switch = (
        f"copier update --trust --defaults --answers-file {ANSWERS_FILE}"
        f" --data check_freshness={str(not check_freshness).lower()}"
    )
    assert switch in message
    if check_freshness:
        assert "fails until your first nightly is on the channel" in message
    else:
        assert "Once your first nightly is on the channel, turn on" in message


def test_copier_shows_the_warning_after_copying_from_an_absolute_path(
    template_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real copier prints the message, with the recorded source and commit."""
    with git_environment():
        copier.run_copy(
            str(template_repo),
            tmp_path / "project",
            data=BASE_ANSWERS,
            defaults=True,
            unsafe=True,
            quiet=False,
        )
    message = words(capsys.readouterr().err)
    commit = git(template_repo, "rev-parse", "v1")
    assert f"pins nightly-sessions from {template_repo}, {LOCAL}." in message
    assert f'"nightly-sessions @ git+<URL>@{commit}"' in message
    assert f"git+file://{template_repo}@{commit}" in (tmp_path / "project/noxfile.py").read_text()


@pytest.mark.parametrize(
    ("files", "compiled", "said"),
    [
        ({"meson.build": "project('x', 'c')\n"}, True, "compiled: yes (found meson.build)"),
        (
            {"src/skymap/_fast.pyx": "# cython\n"},
            True,
            "compiled: yes (found src/skymap/_fast.pyx)",
        ),
        ({"skymap/__init__.py": ""}, False, "compiled: no (no meson.build, CMakeLists.txt"),
    ],
    ids=["meson", "cython-two-folders-down", "pure"],
)
def test_the_compiled_default_comes_from_the_project_and_the_message_says_why(
    template_repo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    compiled: bool,
    said: str,
) -> None:
    """Copier cannot read pyproject.toml, so the default is a guess from file names, and
    the closing message names the file it went by (init answers from the build itself)."""
    project = tmp_path / "project"
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    with git_environment():
        copier.run_copy(str(template_repo), project, data=BASE_ANSWERS, defaults=True, unsafe=True)
    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert recorded["compiled"] is compiled
    message = words(capsys.readouterr().err)
    assert said in message
    if not compiled:
        assert (
            f"copier update --trust --answers-file {ANSWERS_FILE} --data compiled=true" in message
        )


def test_the_message_shows_spec_4_s_badge_as_the_spec_gives_it() -> None:
    """The snippet of scientific-python/specs (purpose-and-process "Badges", spec-0004's
    `spec_badge` title), and the same snippet as the setup guide shows."""
    badge = (
        "[![SPEC 4 — Using and Creating Nightly Wheels]"
        "(https://img.shields.io/badge/SPEC-4-green?labelColor=%23004811&color=%235CA038)]"
        "(https://scientific-python.org/specs/spec-0004/)"
    )
    message = message_after_copy("https://github.com/o/nightly-sessions", SHA)
    assert f"Show SPEC 4's badge in your README: {badge}" in message
    assert badge in (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    assert "The channel's admins make the first upload, which creates your package" in message
