"""`git+URL@ref` requirements, as the 'git-packages' setting names an upstream's git branch.

The setting's validator, the plan and the proof all read the same URL here: which
repository it is (without credentials, to compare with what the installer recorded in
`direct_url.json`) and which ref it asks for.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

SCHEMES = ("https", "http", "ssh", "file")
PREFIX = "git+"


@dataclass(frozen=True)
class GitUrl:
    """A `git+URL@ref` as given: the text to install, its repository and its ref."""

    text: str  # as given, credentials and all: only ever printed through `redact`
    repository: str  # scheme://host/path without credentials, `.git` or a trailing slash
    ref: str | None  # the branch, tag or commit after `@`; None: the default branch

    @property
    def requested(self) -> str:
        """The ref as a person reads it: 'main', or 'the default branch'."""
        return self.ref or "the default branch"


def parse_git_url(text: str) -> GitUrl | None:
    """Read `git+<scheme>://host/path[@ref][#fragment]`; None unless it is one.

    The ref is what follows the last `@` of the path (refs may hold slashes), as pip
    and uv read it; an `@` before the host is the user.
    """
    if not text.startswith(PREFIX) or any(char.isspace() for char in text):
        return None
    try:
        parts = urllib.parse.urlsplit(text[len(PREFIX) :])
        host = parts.hostname
        repository = repository_key(text)
    except ValueError:  # a port that is not a number, an unclosed [IPv6 address]
        return None
    if parts.scheme not in SCHEMES or not parts.path.strip("/"):
        return None
    if parts.scheme != "file" and not host:
        return None
    path, at, ref = parts.path.rpartition("@")
    if at and (not ref or not path.strip("/")):
        return None
    return GitUrl(text, repository, ref if at else None)


def repository_key(url: str) -> str:
    """A repository URL reduced for comparison: no `git+`, credentials, ref, `.git` or `/`.

    Installers record the URL of `direct_url.json` with the credentials stripped and
    without the ref (PEP 610), so only this much of it can be compared.
    """
    parts = urllib.parse.urlsplit(url.removeprefix(PREFIX))
    path = parts.path.rpartition("@")[0] if "@" in parts.path else parts.path
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    path = path.rstrip("/").removesuffix(".git")
    return f"{parts.scheme.lower()}://{host.lower()}{path}"


def short_commit(commit: object) -> str | None:
    """A commit's first 7 hex digits, as GitHub shows (and links) it; None for none."""
    return str(commit)[:7] if commit else None


def at_commit(text: str, commit: str) -> str:
    """`text` (a `git+URL@ref`) pinned to `commit` instead of its ref, fragment kept: what
    reproduces the install later, when the branch has moved on."""
    head, hash_, fragment = text.partition("#")
    head, mark, query = head.partition("?")
    scheme, _, rest = head.partition("://")
    host, slash, path = rest.partition("/")
    path = path.rpartition("@")[0] if "@" in path else path
    return f"{scheme}://{host}{slash}{path}@{commit}{mark}{query}{hash_}{fragment}"


def without_credentials(text: str) -> str:
    """`text` without the user and password of an http(s) URL, as an upstream's public
    repository is cloned by anyone; an ssh user (`git@`) is part of the address and stays."""
    scheme, _, rest = text.partition("://")
    if scheme not in (f"{PREFIX}https", f"{PREFIX}http"):
        return text
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}"
