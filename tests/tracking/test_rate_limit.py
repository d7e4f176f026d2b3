"""A lasting rate limit: the wait stays within its stated bound and the sentence is true.

GitHub's limit (429, or 403 with `x-ratelimit-remaining: 0`) is waited out only up to
`max_wait`; once the bound is used up, the sentence must not claim the limit lifts
"beyond" it when GitHub names a moment a second away.
"""

from __future__ import annotations

import time

import pytest

from nightly_sessions.core.errors import NetworkError
from nightly_sessions.testing.github import FakeGitHub
from nightly_sessions.tracking.github import GitHub

NOW = 1_000_000.0


def _client(server: FakeGitHub, max_wait: float, sleep: object = time.sleep) -> GitHub:
    return GitHub(
        api_url=server.url,
        repository=server.repository,
        token=server.token,
        max_wait=max_wait,
        sleep=sleep,  # type: ignore[arg-type]
        clock=lambda: NOW,
    )


def test_a_lasting_limit_says_the_bound_was_used_up_not_that_it_lifts_beyond(
    github_server: FakeGitHub,
) -> None:
    waits: list[float] = []
    stale = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)}
    github_server.fail("GET", r"/issues$", 429, times=1000, headers=stale)
    with pytest.raises(NetworkError) as error:
        list(_client(github_server, max_wait=5, sleep=waits.append).open_issues("x"))
    message = str(error.value)
    assert "beyond" not in message  # the limit names a moment 1 s away, within 5 s
    assert "still held after 4 s of waiting" in message
    assert "(1 s more) would pass the 5 s this command waits: re-run the job later." in message
    assert sum(waits) <= 5


def test_the_calls_count_against_the_bound(github_server: FakeGitHub) -> None:
    github_server.fail("GET", r"/issues$", 429, times=1000, headers={"retry-after": "1"})
    started = time.monotonic()
    with pytest.raises(NetworkError, match="still held after 1 s of waiting"):
        list(_client(github_server, max_wait=2).open_issues("x"))
    assert time.monotonic() - started < 2  # a second wait would end after the 2 s bound


def test_a_limit_lifting_after_the_bound_says_when_without_waiting(
    github_server: FakeGitHub,
) -> None:
    waits: list[float] = []
    github_server.fail("GET", r"/issues$", 429, times=5, headers={"retry-after": "600"})
    with pytest.raises(NetworkError, match=r"600 s from now, beyond the 120 s this command"):
        list(_client(github_server, max_wait=120, sleep=waits.append).open_issues("x"))
    assert waits == []
