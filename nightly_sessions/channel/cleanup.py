"""Apply a retention policy to one package on a channel, deleting only on data fully read.

Keep the newest N versions, everything uploaded in the last M days, and always the newest
version whatever its age; delete the other releases of this one package. "Newest" means
the latest upload time of a release's files, so a version re-uploaded every night counts
as new. Every release and every upload time is read and parsed before anything is
deleted: an API error, an empty or malformed release list, or a date that does not
parse or lies more than a day in the future stops the whole cleanup with zero deletions
(a failed read once wiped NumPy's nightlies, numpy#25907). It is a dry run unless `yes`
is given, and prints every deletion.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from nightly_sessions.channel.api import AnacondaApi, TokenRefused, token_advice, what_failed
from nightly_sessions.channel.credentials import given_token, read_token, secrets_withheld
from nightly_sessions.channel.upload_job import DEFAULT_API_URL
from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.http import HttpClient
from nightly_sessions.core.log import Log
from nightly_sessions.core.pyproject import read_project
from nightly_sessions.core.redact import redact
from nightly_sessions.core.timestamps import parse_time

NOTHING_DELETED = "nothing was deleted"
# How far ahead of this machine's clock an upload time may be and still be believed.
# Beyond it the date is wrong (or our clock is), and a wrong date would make its
# release "newest" and push a release that should be kept out of the newest N.
CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True)
class CleanupOptions:
    """One cleanup: which package on which channel, the policy, and whether to delete."""

    package: str
    channel: str
    keep: int = 5
    days: int = 30
    yes: bool = False
    api_url: str = DEFAULT_API_URL
    token_env: str = "ANACONDA_ORG_UPLOAD_TOKEN"  # noqa: S105 - a variable's name
    skip_without_token: bool = True
    jobs: int = 8
    http_timeout: float = 30.0
    http_retries: int = 3


@dataclass(frozen=True)
class Release:
    """One version on the channel: how many files, and when the latest was uploaded."""

    version: str
    files: int
    latest: datetime | None  # None only when the release has no files


@dataclass(frozen=True)
class CleanupDecision:
    """Keep or delete one release, and why."""

    release: Release
    keep: bool
    reason: str


# The command: its options, merged over the settings.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cleanup options; defaults (None) come from the settings and pyproject.toml."""
    add = parser.add_argument
    add("--yes", action="store_true", help="really delete (default: a dry run that only lists)")
    add("--package", help="package to clean (default: [project] name in pyproject.toml)")
    add("--channel", help="anaconda.org user or organisation (default: the channel setting)")
    add("--keep", type=int, help="newest versions always kept (default: cleanup-keep, 5)")
    add(
        "--days",
        type=int,
        help="keep all uploaded within this many days (default: cleanup-days, 30)",
    )
    add("--token-env", help="variable holding the token (default: the upload-token-env setting)")


def options_from(args: argparse.Namespace, settings: Settings) -> CleanupOptions:
    """Merge parsed options over the settings; the package defaults to the project's name."""
    package = args.package or read_project(settings.project_root).name
    if not package:
        raise ConfigError(
            f"No package to clean: {settings.project_root / 'pyproject.toml'} has no [project] "
            "name; pass --package NAME."
        )
    keep = settings.cleanup_keep if args.keep is None else args.keep
    days = settings.cleanup_days if args.days is None else args.days
    if keep < 0 or days < 0:
        raise ConfigError("--keep and --days must be whole numbers >= 0.")
    return CleanupOptions(
        package=package,
        channel=args.channel or settings.channel,
        keep=keep,
        days=days,
        yes=args.yes,
        api_url=settings.anaconda_api_url,
        token_env=args.token_env or settings.upload_token_env,
        skip_without_token=settings.skip_upload_without_token,
        http_timeout=settings.timeout,
        http_retries=settings.retries,
    )


def _run_command(call: Call) -> None:
    cleanup(options_from(call.args, call.settings), environ=os.environ, log=call.log)


CLEANUP = Entry(add_arguments, _run_command)


# Reading: strict, all or nothing.


class Unreadable(NetworkError):
    """What the API sent could not be fully read, so the cleanup stopped before deleting."""


def _unreadable(options: CleanupOptions, what: str) -> Unreadable:
    return Unreadable(
        f"Cleanup of {options.channel}/{options.package} stopped because {what}; "
        f"{NOTHING_DELETED}; check the package on anaconda.org and run again later."
    )


def _versions(options: CleanupOptions, package: Mapping[str, Any] | None) -> list[str]:
    if package is None:
        raise ConfigError(
            f"{options.channel} has no package {options.package!r}; {NOTHING_DELETED}; "
            "check --package and --channel."
        )
    releases = package.get("releases")
    if not isinstance(releases, list) or not releases:
        raise _unreadable(options, "the API listed no releases (an empty or missing list)")
    versions = [item.get("version") if isinstance(item, dict) else None for item in releases]
    if not all(isinstance(version, str) and version.strip() for version in versions):
        raise _unreadable(options, "a release in the API's list has no version")
    if len(set(versions)) != len(versions):
        raise _unreadable(options, "the API listed a version twice")
    return [str(version) for version in versions]


def _upload_time(options: CleanupOptions, version: str, item: object, now: datetime) -> datetime:
    """One file's upload time; Unreadable when it does not parse or lies in the future."""
    raw = item.get("upload_time") if isinstance(item, dict) else item
    moment = parse_time(raw)
    if moment is None:
        raise _unreadable(
            options, f"release {version} has an upload time that does not parse ({raw!r})"
        )
    if in_the_future(moment, now):
        name = item.get("basename") if isinstance(item, dict) else None
        raise Unreadable(
            f"Cleanup of {options.channel}/{options.package} stopped because "
            f"{name or 'a file'} of release {version} was uploaded at {raw!r}, more than "
            f"{CLOCK_SKEW.days} day ahead of this machine's clock "
            f"({now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC); {NOTHING_DELETED}; "
            "check this machine's clock and the file on anaconda.org, then run again."
        )
    return moment


def in_the_future(moment: datetime, now: datetime) -> bool:
    """Whether an upload time is beyond the allowed clock skew: data no cleanup may trust."""
    return moment > now + CLOCK_SKEW


def _release(
    options: CleanupOptions, version: str, data: Mapping[str, Any], now: datetime
) -> Release:
    if data.get("version", version) != version:
        raise _unreadable(options, f"the API answered for {data.get('version')!r}, not {version}")
    files = data.get("distributions")
    if not isinstance(files, list):
        raise _unreadable(options, f"release {version} has no list of files")
    times = [_upload_time(options, version, item, now) for item in files]
    return Release(version, len(files), max(times) if times else None)


def read_releases(api: AnacondaApi, options: CleanupOptions, now: datetime) -> list[Release]:
    """Every release of the package with its latest upload time; raises on anything unreadable.

    An upload time beyond `now` plus CLOCK_SKEW counts as unreadable.
    """
    try:
        versions = _versions(options, api.package(options.channel, options.package))

        def one(version: str) -> Release:
            data = api.release(options.channel, options.package, version)
            return _release(options, version, data, now)

        with ThreadPoolExecutor(max_workers=max(1, min(options.jobs, len(versions)))) as pool:
            return list(pool.map(one, versions))
    except (TokenRefused, Unreadable):
        raise
    except NetworkError as exc:
        raise _unreadable(options, f"the API could not be read: {what_failed(exc)}") from None


# Deciding: a pure function of what was read.


def retention_plan(
    releases: Sequence[Release], *, keep: int, days: int, now: datetime
) -> list[CleanupDecision]:
    """Keep the newest `keep`, all within `days`, and the newest one always; delete the rest.

    A release without files has no upload time to judge it by, so it is kept.
    """
    dated = [release for release in releases if release.latest is not None]
    order = sorted(
        dated, key=lambda r: (r.latest, releases.index(r)), reverse=True
    )  # ties: later in the API's list (oldest first) is newer
    cutoff = now - timedelta(days=days)
    decisions = {
        release.version: CleanupDecision(release, True, "no files") for release in releases
    }
    for rank, release in enumerate(order):
        assert release.latest is not None
        if rank == 0:
            decision = CleanupDecision(release, True, "the newest version")
        elif rank < keep:
            decision = CleanupDecision(release, True, f"among the newest {keep}")
        elif release.latest >= cutoff:
            decision = CleanupDecision(release, True, f"uploaded within {days} days")
        else:
            decision = CleanupDecision(
                release, False, f"older than {days} days and not among the newest {keep}"
            )
        decisions[release.version] = decision
    return [decisions[release.version] for release in releases]


def render(decisions: Sequence[CleanupDecision], now: datetime) -> str:
    """One line per release: version, latest upload, age, keep or delete, and why."""
    lines = []
    for decision in decisions:
        release = decision.release
        when = release.latest.strftime("%Y-%m-%d %H:%M") if release.latest else "-"
        age = f"{(now - release.latest).days} d" if release.latest else "-"
        verdict = "keep  " if decision.keep else "DELETE"
        lines.append(f"  {verdict}  {release.version:<40} {when:>16} {age:>6}  {decision.reason}")
    return "\n".join(lines)


# Doing.


def cleanup(
    options: CleanupOptions,
    *,
    environ: Mapping[str, str],
    log: Log = print,
    now: datetime | None = None,
) -> list[CleanupDecision]:
    """Read everything, decide, print, and delete only with `options.yes`; return the decisions."""

    def say(text: str) -> None:
        log(redact(text))

    token = given_token(options.token_env, environ)
    if options.yes:
        token = read_token(
            options.token_env,
            environ,
            skip_without_token=options.skip_without_token,
            what="be deleted",
        )
        if token is None:
            say(
                f"notice: no token in {options.token_env} in {secrets_withheld(environ)}, "
                f"so the cleanup was skipped; {NOTHING_DELETED}."
            )
            return []
    moment = now or datetime.now(timezone.utc)
    http = HttpClient(timeout=options.http_timeout, retries=options.http_retries)
    api = AnacondaApi(options.api_url, token, http=http)
    try:
        releases = read_releases(api, options, moment)
        decisions = retention_plan(releases, keep=options.keep, days=options.days, now=moment)
        doomed = [decision.release for decision in decisions if not decision.keep]
        say(
            f"Cleanup of {options.channel}/{options.package}: {len(releases)} release(s), "
            f"keep the newest {options.keep} and all within {options.days} days; "
            f"{len(doomed)} to delete."
        )
        say(render(decisions, moment))
        if not options.yes:
            if doomed:
                say(f"Dry run: {NOTHING_DELETED}; pass --yes to delete the releases marked DELETE.")
            return decisions
        _delete(api, options, doomed, say)
    except TokenRefused as exc:
        raise NetworkError(
            token_advice(exc.status, exc.server_message, options.token_env, options.channel)
        ) from None
    return decisions


def _delete(api: AnacondaApi, options: CleanupOptions, doomed: Sequence[Release], say: Log) -> None:
    """Delete one release at a time, printing each; stop at the first failure."""
    done = 0
    for release in doomed:
        try:
            removed = api.remove_release(options.channel, options.package, release.version)
        except TokenRefused:
            raise
        except NetworkError as exc:
            raise NetworkError(
                f"Deleting {options.channel}/{options.package} {release.version} failed "
                f"({what_failed(exc)}); {done} release(s) were deleted before it and the rest "
                "were left alone; run the cleanup again later to finish."
            ) from None
        done += 1
        state = "deleted" if removed else "already gone:"
        say(f"{state} {options.channel}/{options.package} {release.version}")
    say(f"Deleted {done} release(s) of {options.channel}/{options.package}.")
