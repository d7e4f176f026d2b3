"""Helpers of the anaconda.org API client (its calls are tested through upload and cleanup)."""

from __future__ import annotations

import pytest

from nightly_sessions.channel.api import RemoteFile, digests, what_failed
from nightly_sessions.core.errors import NetworkError


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "GET http://h/x failed after 2 attempts (refused); check the URL and your network.",
            "GET http://h/x failed after 2 attempts (refused)",
        ),
        (
            "GET http://h/x answered HTTP 500 (busy; later); try again later.",
            "GET http://h/x answered HTTP 500 (busy; later)",
        ),
        ("http://h/x cannot be read (a; b).", "http://h/x cannot be read (a; b)"),
        ("no advice at all", "no advice at all"),
    ],
    ids=["advice", "semicolon-in-parentheses", "no-advice", "plain"],
)  # fmt: skip
def test_what_failed_drops_only_the_advice(message: str, expected: str) -> None:
    assert what_failed(NetworkError(message)) == expected


def test_same_content_prefers_sha256_and_never_guesses() -> None:
    sha256, md5 = digests(b"wheel")
    assert RemoteFile("a.whl", sha256.upper(), "0" * 32, None).same_content(sha256, md5)
    assert RemoteFile("a.whl", None, md5, None).same_content(sha256, md5)
    assert not RemoteFile("a.whl", "0" * 64, md5, None).same_content(sha256, md5)
    assert not RemoteFile("a.whl", None, None, None).same_content(sha256, md5)
