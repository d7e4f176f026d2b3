"""Refresh the table of action pins (copier-includes/pins.jinja) from the GitHub REST API.

For each action in the table: its newest release, the commit that release's tag names
(annotated tags dereferenced), and its action.yml at that commit, whose `runs.using` must
not be a Node runtime GitHub retires (node20 or older). A composite action's own pinned
actions are checked the same way. The rows and the action.yml snapshots the tests read
(tests/samples/action-pins) are rewritten together. Needs network, so CI never runs it:
`nox -s refresh_pins`. GITHUB_TOKEN, if set, raises the API rate limit; it is never printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parents[1]
TABLE = Path("copier-includes/pins.jinja")
SNAPSHOTS = Path("tests/samples/action-pins")
API = "https://api.github.com"
_TABLE_START = "{%- set PIN_TABLE = {\n"
_TABLE_END = "} -%}\n"
_NESTED_USES = re.compile(r"^([\w.-]+/[\w.-]+)((?:/[\w.-]+)*)@([0-9a-f]{40})$")
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)$")


class RefreshError(Exception):
    """A sentence saying what went wrong and what to do; `status` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Pin:
    """One row of the table: `uses: {action}@{sha} # {version}`, which runs on `runtime`."""

    key: str
    action: str
    version: str
    sha: str
    runtime: str


def retired_runtime(using: str) -> bool:
    """Whether `runs.using` names a Node runtime GitHub retires (node20 and older)."""
    match = re.fullmatch(r"node(\d+)", using.strip().lower())
    return match is not None and int(match[1]) <= 20


def check_runtime(action: str, version: str, using: str) -> None:
    """Refuse an action that runs on a retired Node runtime, naming it."""
    if retired_runtime(using):
        raise RefreshError(
            f"{action} {version} runs on {using}, which GitHub retires; "
            "pin a release that runs on node24 or newer, or keep the current pin."
        )


def version_key(version: str) -> tuple[int, ...]:
    """v7.0.1 -> (7, 0, 1); a tag that is no release version sorts first."""
    match = _VERSION.match(version)
    return tuple(int(part) for part in match[1].split(".")) if match else ()


def read_table(root: Path) -> list[Pin]:
    """The rows of the table as the template sees them (rendered by Jinja, not parsed)."""
    loader = jinja2.FileSystemLoader(root)
    environment = jinja2.Environment(loader=loader)  # noqa: S701 - our own template, no HTML
    module = environment.get_template(TABLE.as_posix()).module
    table: Mapping[str, Mapping[str, str]] = module.PIN_TABLE  # type: ignore[attr-defined]
    return [Pin(key=key, **row) for key, row in table.items()]


def table_rows(pins: Sequence[Pin]) -> str:
    """The PIN_TABLE block of pins.jinja, one row a line."""
    rows = "".join(
        f"    '{pin.key}': {{'action': '{pin.action}', 'version': '{pin.version}', "
        f"'sha': '{pin.sha}', 'runtime': '{pin.runtime}'}},\n"
        for pin in pins
    )
    return _TABLE_START + rows + _TABLE_END


def replace_table(source: str, pins: Sequence[Pin]) -> str:
    """`source` (pins.jinja) with its PIN_TABLE block rebuilt from `pins`, the rest kept."""
    start = source.find(_TABLE_START)
    end = source.find(_TABLE_END, start)
    if start < 0 or end < 0:
        raise RefreshError(
            f"{TABLE} has no PIN_TABLE block ({_TABLE_START.strip()} ... {_TABLE_END.strip()}); "
            "restore it from git before refreshing."
        )
    return source[:start] + table_rows(pins) + source[end + len(_TABLE_END) :]


def runs_using(action_yml: str) -> str:
    """`runs.using` of an action.yml text."""
    data = yaml.safe_load(action_yml)
    runs = data.get("runs") if isinstance(data, dict) else None
    using = runs.get("using") if isinstance(runs, dict) else None
    if not isinstance(using, str):
        raise RefreshError("the action.yml has no runs.using")
    return using


def nested_pins(action_yml: str) -> list[tuple[str, str, str]]:
    """(owner/repo, path inside it, sha) of each action a composite action's steps use."""
    data = yaml.safe_load(action_yml)
    steps = data.get("runs", {}).get("steps", []) if isinstance(data, dict) else []
    found = []
    for step in steps if isinstance(steps, list) else []:
        uses = step.get("uses") if isinstance(step, dict) else None
        if not isinstance(uses, str) or uses.startswith(("./", "docker://")):
            continue
        match = _NESTED_USES.match(uses.strip())
        if match is None:
            raise RefreshError(f"a step uses {uses}, not pinned by commit SHA")
        found.append((match[1], match[2].lstrip("/"), match[3]))
    return found


def snapshot_path(root: Path, action: str, sha: str, subpath: str = "") -> Path:
    """Where the tests find the action.yml of `action` (or of its `subpath`) at `sha`."""
    folder = root / SNAPSHOTS / action
    return folder / (f"{subpath}/{sha}.yml" if subpath else f"{sha}.yml")


class GitHub:
    """The few read-only GitHub REST calls a refresh needs."""

    def __init__(self, api: str = API, token: str | None = None, timeout: float = 30) -> None:
        if urllib.parse.urlsplit(api).scheme not in ("http", "https"):
            raise RefreshError(f"{api} is no http(s) URL; give the GitHub REST API root.")
        self.api = api.rstrip("/")
        self._token = token
        self.timeout = timeout

    def get(self, path: str) -> Any:
        """The JSON answer of GET `path`; a RefreshError saying why otherwise."""
        request = urllib.request.Request(self.api + path)  # noqa: S310 - http(s), checked above
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as exc:
            hint = " (rate limited: set GITHUB_TOKEN)" if exc.code in (403, 429) else ""
            raise RefreshError(f"GET {path} answered HTTP {exc.code}{hint}.", exc.code) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RefreshError(
                f"GET {path} failed ({reason}); this needs network access to {self.api}."
            ) from None

    def latest_release(self, action: str) -> str:
        """The tag of the repository's latest release (the newest version tag if none)."""
        try:
            tag = self.get(f"/repos/{action}/releases/latest").get("tag_name")
        except RefreshError as exc:
            if exc.status != 404:  # 404: the repository publishes tags but no releases
                raise
            tag = None
        if isinstance(tag, str) and tag:
            return tag
        tags = [t.get("name", "") for t in self.get(f"/repos/{action}/tags?per_page=100")]
        versions = [t for t in tags if version_key(t)]
        if not versions:
            raise RefreshError(f"{action} has neither a latest release nor a version tag.")
        return str(max(versions, key=version_key))

    def commit_of_tag(self, action: str, tag: str) -> str:
        """The commit `tag` names, through any annotated tag objects."""
        quoted = urllib.parse.quote(tag, safe="")
        target = self.get(f"/repos/{action}/git/ref/tags/{quoted}")["object"]
        for _ in range(10):
            if target["type"] == "commit":
                return str(target["sha"])
            if target["type"] != "tag":
                break
            target = self.get(f"/repos/{action}/git/tags/{target['sha']}")["object"]
        raise RefreshError(f"the tag {tag} of {action} does not lead to a commit.")

    def action_yml(self, action: str, sha: str, subpath: str = "") -> str:
        """The action.yml (or action.yaml) of `action` at commit `sha`."""
        prefix = f"{subpath}/" if subpath else ""
        for name in ("action.yml", "action.yaml"):
            try:
                data = self.get(f"/repos/{action}/contents/{prefix}{name}?ref={sha}")
            except RefreshError:
                continue
            return base64.b64decode(data["content"]).decode("utf-8")
        raise RefreshError(f"{action} has no {prefix}action.yml at {sha}.")


def refresh_pin(github: GitHub, pin: Pin, snapshots: dict[Path, str], root: Path) -> Pin:
    """`pin` moved to the latest release, its action.yml (and nested ones) collected."""
    tag = github.latest_release(pin.action)
    if version_key(tag) < version_key(pin.version):
        tag = pin.version  # the "latest" release is a backport: keep the newer pin
    sha = github.commit_of_tag(pin.action, tag)
    text = github.action_yml(pin.action, sha)
    using = runs_using(text)
    check_runtime(pin.action, tag, using)
    snapshots[snapshot_path(root, pin.action, sha)] = text
    pending = nested_pins(text)
    while pending:
        action, subpath, nested_sha = pending.pop()
        nested = github.action_yml(action, nested_sha, subpath)
        check_runtime(f"{action} (used by {pin.action})", nested_sha[:7], runs_using(nested))
        snapshots[snapshot_path(root, action, nested_sha, subpath)] = nested
        pending.extend(nested_pins(nested))
    return replace(pin, version=tag, sha=sha, runtime=using)


def refresh(root: Path, github: GitHub, log: Callable[[str], None] = print) -> int:
    """Rewrite the table and snapshots under `root`; 1 if an action was refused or unread."""
    pins = read_table(root)
    snapshots: dict[Path, str] = {}
    new: list[Pin] = []
    failed = False
    for pin in pins:
        try:
            moved = refresh_pin(github, pin, snapshots, root)
        except RefreshError as exc:
            log(f"{pin.action}: kept at {pin.version}: {exc}")
            failed = True
            new.append(pin)
            continue
        change = "unchanged" if moved == pin else f"{pin.version} -> {moved.version}"
        log(f"{pin.action}: {change} ({moved.sha[:7]}, {moved.runtime})")
        new.append(moved)
    table = root / TABLE
    table.write_text(replace_table(table.read_text(encoding="utf-8"), new), encoding="utf-8")
    if not failed:  # a kept pin keeps its snapshots, so only a full refresh prunes
        for path in (root / SNAPSHOTS).rglob("*.yml"):
            if path not in snapshots:
                path.unlink()
    for path, text in snapshots.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--api-url", default=API, help="GitHub REST API root (default: %(default)s)"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the nightly-sessions checkout")
    args = parser.parse_args(argv)
    try:
        github = GitHub(args.api_url, token=os.environ.get("GITHUB_TOKEN") or None)
        return refresh(args.root, github)
    except RefreshError as exc:
        print(f"refresh_pins: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
