"""The upload token: a missing one is one sentence, or a notice where GitHub withholds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from channel.upload_world import TOKEN, options, output, run
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.testing.anaconda import AnacondaServer


def test_missing_token_is_one_sentence(server: AnacondaServer, dist: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        run(options(server, dist, token_env="MY_UPLOAD_TOKEN"), {})
    message = str(caught.value)
    assert "MY_UPLOAD_TOKEN is empty or unset" in message
    assert "\n" not in message
    assert server.calls == []


@pytest.mark.parametrize("context", ["pull_request", "fork"])
def test_missing_token_in_pull_request_or_fork_skips_with_notice(
    server: AnacondaServer,
    dist: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    context: str,
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"fork": True}}))
    environ = (
        {"GITHUB_EVENT_NAME": "pull_request"}
        if context == "pull_request"
        else {"GITHUB_EVENT_NAME": "schedule", "GITHUB_EVENT_PATH": str(event)}
    )
    environ["GITHUB_ACTIONS"] = "true"
    report = run(options(server, dist), environ)
    assert server.calls == []
    assert len(report.skipped) == 3
    assert "::notice title=Nightly upload skipped::" in output(capfd)
    with pytest.raises(ConfigError, match="empty or unset"):
        run(options(server, dist, skip_without_token=False), environ)


# Copy-paste leaves line breaks and spaces in a secret; HTTP libraries then raise
# ValueError('Invalid header value ...') with the token in it.
BAD_TOKENS = {
    "line-break": "Qx7first-half\nsecond-half9Kz",
    "carriage-return": "Qx7first-half\rsecond-half9Kz",
    "space": "Qx7first-half second-half9Kz",
    "control": "Qx7first-half\x00second-half9Kz",
    "latin-1": "Qx7first-hälf-second-half9Kz",
    "non-latin-1": "Qx7first-half€second-half9Kz",
}


@pytest.mark.parametrize("token", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
def test_a_token_with_characters_no_token_has_is_refused_unseen(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], token: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        run(options(server, dist, token_env="MY_UPLOAD_TOKEN"), {"MY_UPLOAD_TOKEN": f" {token}\n"})
    message = str(caught.value)
    assert "MY_UPLOAD_TOKEN contains characters an anaconda.org token never has" in message
    assert "line break" in message
    assert "\n" not in message
    shown = message + output(capfd)
    assert "first-h" not in shown
    assert "half9Kz" not in shown
    assert server.calls == []


def test_surrounding_whitespace_is_not_part_of_the_token(
    server: AnacondaServer, dist: Path
) -> None:
    report = run(options(server, dist), {"ANACONDA_ORG_UPLOAD_TOKEN": f"\n {TOKEN} \r\n"})
    assert len(report.uploaded) == 3


@pytest.mark.integration
def test_command_line_refuses_a_broken_token_without_a_traceback(
    server: AnacondaServer, dist: Path
) -> None:
    project = dist.parent
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    env = {**os.environ, "NIGHTLY_ANACONDA_API_URL": server.url}
    env.pop("GITHUB_EVENT_NAME", None)
    for command in ("upload", "cleanup"):
        env["ANACONDA_ORG_UPLOAD_TOKEN"] = BAD_TOKENS["line-break"]
        done = subprocess.run(
            [sys.executable, "-m", "nightly_sessions", "--project", str(project), command],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        shown = done.stdout + done.stderr
        assert done.returncode == 2, shown
        assert done.stderr.startswith("nightly-sessions: The token in ANACONDA_ORG_UPLOAD_TOKEN")
        assert "Traceback" not in shown
        assert "first-h" not in shown
        assert "half9Kz" not in shown
    assert server.calls == []
