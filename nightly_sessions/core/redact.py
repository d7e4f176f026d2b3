"""Keep secrets out of every message: tokens in URLs and registered secret values.

A URL carries a secret in three places: its userinfo (`https://user:pw@host`), an
anaconda.org `/t/<token>/` path segment, and its query (`?token=...`). Each is hidden
wherever a URL appears in a text, and values registered with `add_secret` everywhere.
"""

from __future__ import annotations

import re

REDACTED = "***"
# A URL part ends at the next slash, quote, backtick, angle bracket, whitespace or the end
# of the text: a URL may be the last thing in a message or quoted in a repr.
# `/t/<token>` counts only inside a URL: a file path such as /tmp/x/t/project is no secret,
# and the probe's JSON of installed files passes through here.
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"`<>]+")
_TOKEN_IN_PATH = re.compile(r"/t/[^/\s'\"`<>]+")
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s'\"`<>]+@")
# A query parameter whose name says it is a credential: `?token=`, `&private_token=`,
# `api_key`, `X-Amz-Signature`, `sig` (Azure SAS), `password`, `auth`, `session`, ...
_SECRET_PARAMETER = re.compile(
    r"(?P<name>[?&;][^=&#\s'\"`<>]*(?:token|key|secret|pass|pwd|auth|sig|credential|session)"
    r"[^=&#\s'\"`<>]*=)[^&#\s'\"`<>]+",
    re.IGNORECASE,
)
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Remember a secret value so that `redact` hides it wherever it appears."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with URL credentials, tokens, secret parameters and known secrets hidden."""
    text = _URL.sub(lambda url: _TOKEN_IN_PATH.sub(f"/t/{REDACTED}", url[0]), text)
    text = _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    text = _SECRET_PARAMETER.sub(rf"\g<name>{REDACTED}", text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
