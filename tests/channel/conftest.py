"""Fixtures for the channel tests: the loopback channel, a dist/ folder, the token check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from channel.upload_world import channel, make_dist, no_token_anywhere
from nightly_sessions.testing.anaconda import AnacondaServer


@pytest.fixture
def server() -> Iterator[AnacondaServer]:
    """The loopback anaconda.org, accepting the test token."""
    with channel() as running:
        yield running


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A dist/ folder of checked nightly wheels."""
    return make_dist(tmp_path)


@pytest.fixture(autouse=True)
def _no_token_anywhere(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    yield from no_token_anywhere(tmp_path, capfd, monkeypatch)
