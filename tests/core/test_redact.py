from __future__ import annotations

import pytest

from nightly_sessions.core.redact import add_secret, redact


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


@pytest.mark.parametrize(
    "text",
    [
        "/tmp/x/t/project/src/pkg/__init__.py",
        '{"path": "/home/me/t/venv/lib/site-packages/numpy"}',
        r"C:\Users\t\venv and /t/",
    ],
)
def test_a_file_path_with_a_t_folder_is_left_alone(text: str) -> None:
    """A `/t/` folder is no token: the probe's JSON of installed files passes through here."""
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "http://h/simple/upstreamlib/?token=PWs3cr3tQ8 answered HTTP 500",
            "http://h/simple/upstreamlib/?token=*** answered HTTP 500",
        ),
        ("https://h/s?page=2&private_token=abc123&x=1", "https://h/s?page=2&private_token=***&x=1"),
        (
            "'https://h/s?X-Amz-Signature=f00d&sig=beef'",
            "'https://h/s?X-Amz-Signature=***&sig=***'",
        ),
        ("https://h/simple/?apikey=k3y#frag", "https://h/simple/?apikey=***#frag"),
        ("https://h/simple/?page=2", "https://h/simple/?page=2"),
    ],
)
def test_secret_query_parameters_are_hidden(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(redact(text)) == expected


def test_every_place_of_a_url_secret_at_once() -> None:
    text = "GET https://me:pw0rd@h/t/tok-1234/chan/simple/np/?token=q-5678 failed"
    assert redact(text) == "GET https://***@h/t/***/chan/simple/np/?token=*** failed"
