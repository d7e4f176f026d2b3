"""The anaconda.org token: read from its variable, hidden at once, skipped where withheld.

Upload and cleanup both need it. It is registered as a secret the moment it is read, so
no later output can show it; a missing token is an error with what to set, except where
GitHub withholds secrets (pull requests, forks), where the step is skipped with a notice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.redact import add_secret


def secrets_withheld(environ: Mapping[str, str]) -> str | None:
    """Why the CI run has no secrets ("a pull request", "a fork"), or None."""
    if environ.get("GITHUB_EVENT_NAME") == "pull_request":
        return "a pull request"
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        repository = event.get("repository") if isinstance(event, dict) else None
        if isinstance(repository, dict) and repository.get("fork") is True:
            return "a fork"
    return None


def _usable(token: str) -> bool:
    """Whether every character is printable ASCII other than a space, as in every token."""
    return all("!" <= char <= "~" for char in token)


def given_token(token_env: str, environ: Mapping[str, str]) -> str | None:
    """The token in `token_env` (registered as a secret at once), or None when it is unset.

    Whitespace around it is dropped. A token with a line break, a space, a control or a
    non-ASCII character inside is refused with a ConfigError that never shows it: HTTP
    libraries would otherwise raise an error quoting the header, token and all.
    """
    token = environ.get(token_env, "").strip()
    if not token:
        return None
    add_secret(token)
    if not _usable(token):
        raise ConfigError(
            f"The token in {token_env} contains characters an anaconda.org token never has "
            "(a line break, a space, a control or a non-ASCII character, often left by "
            f"copy-paste); copy the token again and store it as the secret {token_env} "
            "without them."
        )
    return token


def read_token(
    token_env: str, environ: Mapping[str, str], *, skip_without_token: bool, what: str
) -> str | None:
    """The token (registered as a secret at once); None to skip; ConfigError when missing."""
    token = given_token(token_env, environ)
    if token:
        return token
    context = secrets_withheld(environ)
    if context and skip_without_token:
        return None
    raise ConfigError(
        f"No anaconda.org token: the environment variable {token_env} is empty or unset, so "
        f"nothing can {what}; set it from the repository secret {token_env} "
        "(or name another variable with --token-env / upload-token-env)."
    )
