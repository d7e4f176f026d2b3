"""The upload token: a missing one is one sentence, or a notice where GitHub withholds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nightly_sessions.errors import ConfigError
from nightly_sessions.testing.anaconda import AnacondaServer
from upload.upload_world import options, output, run


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
