"""The generated noxfile: its PEP 723 pins of nox and nightly-sessions, the register call
that carries the answers, the answers file `copier update` reads, and the project's own
noxfile kept beside noxfile_nightly.py."""

from __future__ import annotations

import re
from pathlib import Path

import nox.project
import yaml

from nightly_sessions.testing.template import ANSWERS_FILE, git
from template.template_world import USER_NOXFILE, workflow_files

NOX_PIN = re.compile(r'run: uvx --from "(nox==[\d.]+)" nox ')


def test_noxfile_pins_nightly_sessions_to_the_template_commit(
    rendered: dict[str, Path], template_repo: Path
) -> None:
    commit = git(template_repo, "rev-parse", "v1")
    expected = f"nightly-sessions @ git+file://{template_repo}@{commit}"
    noxfile = rendered["pure-auto-one"] / "noxfile.py"
    script = nox.project.load_toml(str(noxfile))
    # Script mode installs the very nox that CI starts with uvx, not any newer one.
    workflows = {
        pin
        for path in workflow_files({"pure-auto-one": rendered["pure-auto-one"]})
        for pin in NOX_PIN.findall(path.read_text())
    }
    [nox_pin] = workflows
    assert script["dependencies"] == [nox_pin, expected]
    assert script["requires-python"] == ">=3.10"
    text = noxfile.read_text()
    assert 'nox.needs_version = ">=2025.2.9"' in text
    assert 'python=["3.13"]' in text
    assert git(template_repo, "cat-file", "-t", commit) == "commit"
    # noxfile_nightly.py is a noxfile of its own: the same PEP 723 block, and REQUIREMENT
    # for the noxfile.py that loads it.
    module_path = rendered["module-layout"] / "noxfile_nightly.py"
    module = module_path.read_text()
    assert f'REQUIREMENT = "{expected}"' in module
    assert nox.project.load_toml(str(module_path))["dependencies"] == [nox_pin, expected]


def test_register_call_carries_the_answers(rendered: dict[str, Path]) -> None:
    text = (rendered["pure-explicit-one"] / "noxfile.py").read_text()
    call = text[text.index("nightly_sessions.register(") :]
    assert 'packages=["numpy", "scipy.special-x"]' in call
    assert 'extras=["test", "docs"]' in call
    assert "groups=[]" in call
    assert 'channel="my-channel"' in call
    assert 'upload_token_env="ANACONDA_ORG_UPLOAD_TOKEN"' in call
    issue = (rendered["pure-auto-several"] / "noxfile.py").read_text()
    assert 'packages="auto"' in issue
    assert 'issue_label="upstream-nightly"' in issue
    assert 'warnings_as_errors=["numpy.exceptions.RankWarning"]' in issue
    errors = (rendered["compiled-auto-one"] / "noxfile.py").read_text()
    assert 'warnings_as_errors=["DeprecationWarning", "FutureWarning"]' in errors
    assert "warnings_as_errors" not in call  # none asked: no filter


def test_answers_file_lets_copier_update(rendered: dict[str, Path], template_repo: Path) -> None:
    recorded = yaml.safe_load((rendered["compiled-auto-one"] / ANSWERS_FILE).read_text())
    assert recorded["_src_path"] == str(template_repo)
    assert recorded["_commit"] == "v1"
    assert recorded["cibw_platforms"] == ["ubuntu-24.04-arm"]
    assert recorded["upload_token_secret"] == "SKYMAP_NIGHTLY_TOKEN"
    assert recorded["check_freshness"] is True
    off = yaml.safe_load((rendered["compiled-explicit-one"] / ANSWERS_FILE).read_text())
    assert off["check_freshness"] is False  # `copier update` keeps it off until asked
    assert "sessions_available" not in recorded  # computed, never frozen into a project


def test_existing_noxfile_is_kept_and_imports_the_module(rendered: dict[str, Path]) -> None:
    project = rendered["module-layout"]
    assert (project / "noxfile.py").read_text() == USER_NOXFILE
