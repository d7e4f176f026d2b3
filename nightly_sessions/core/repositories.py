"""GitHub repositories named by git remote URLs."""

from __future__ import annotations

import re

# https://github.com/o/r(.git), with or without credentials; git@github.com:o/r(.git);
# ssh://git@github.com(:22)/o/r(.git); git://github.com/o/r.
_GITHUB = re.compile(
    r"""^(?:
        (?:https?|ssh|git)://(?:[^@/]+@)?github\.com(?::\d+)?/
      | [A-Za-z0-9._-]+@github\.com:/?
    )
    (?P<owner>[A-Za-z0-9](?:-?[A-Za-z0-9])*)/(?P<name>[A-Za-z0-9._-]+?)
    (?:\.git)?/?$""",
    re.VERBOSE,
)


def github_repository(url: str) -> str | None:
    """`owner/name` of a GitHub remote URL; None for any other host or shape."""
    match = _GITHUB.match(url.strip())
    if not match or match["name"] in {".", ".."}:
        return None
    return f"{match['owner']}/{match['name']}"
