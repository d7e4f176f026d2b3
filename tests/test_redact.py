from __future__ import annotations

import pytest

from nightly_sessions.redact import add_secret, redact


def test_token_in_url_path_is_hidden() -> None:
    url = "https://pypi.anaconda.org/t/ab-12cd34/scientific-python-nightly-wheels/simple"
    assert redact(f"GET {url} failed") == (
        "GET https://pypi.anaconda.org/t/***/scientific-python-nightly-wheels/simple failed"
    )


def test_credentials_in_url_are_hidden() -> None:
    assert redact("http://user:pw@127.0.0.1/simple") == "http://***@127.0.0.1/simple"


def test_registered_secret_is_hidden_everywhere() -> None:
    add_secret("s3cr3t-value-for-test")
    assert (
        redact("token=s3cr3t-value-for-test; again s3cr3t-value-for-test") == "token=***; again ***"
    )


def test_short_values_are_not_registered() -> None:
    add_secret("ab")
    assert redact("abc") == "abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("htp://x/t/sekrit-TOKEN-123", "htp://x/t/***"),
        ("'htp://x/t/sekrit-TOKEN-123'", "'htp://x/t/***'"),
        ('"https://h/t/sekrit-TOKEN-123" failed', '"https://h/t/***" failed'),
        ("GET https://h/t/sekrit-TOKEN-123 failed", "GET https://h/t/*** failed"),
        ("from `https://h/t/sekrit-TOKEN-123`.", "from `https://h/t/***`."),
        ("https://h/t/sekrit-TOKEN-123/chan/simple", "https://h/t/***/chan/simple"),
    ],
)
def test_token_at_the_end_of_a_url_is_hidden(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(redact(text)) == expected
