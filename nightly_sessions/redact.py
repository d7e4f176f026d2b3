"""Keep secrets out of every message: tokens in URLs and registered secret values."""

from __future__ import annotations

import re

# The token segment ends at the next slash, quote, backtick, angle bracket, whitespace or
# the end of the text: a URL may be the last thing in a message or quoted in a repr.
_TOKEN_IN_PATH = re.compile(r"/t/[^/\s'\"`<>]+")
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_secrets: set[str] = set()

REDACTED = "***"


def add_secret(value: str | None) -> None:
    """Remember a secret value so that `redact` hides it wherever it appears."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with `/t/<token>` URL parts, URL credentials and known secrets hidden."""
    text = _TOKEN_IN_PATH.sub(f"/t/{REDACTED}", text)
    text = _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
