"""Apply a retention policy to one package on a channel, deleting only on data fully read.

Keep the newest N versions, everything uploaded in the last M days, and always the newest
version whatever its age; delete the other releases of this one package. "Newest" means
the latest upload time of a release's files, so a version re-uploaded every night counts
as new. Every release and every upload time is read and parsed before anything is
deleted: an API error, an empty or malformed release list, or a date that does not
parse or lies more than a day in the future stops the whole cleanup with zero deletions
(a failed read once wiped NumPy's nightlies, numpy#25907). It is a dry run unless `yes`
is given, and prints every deletion.

With `dropped_tags` it applies no retention policy and deletes single files instead: the
wheels of older versions built only for Pythons the newest version no longer builds
(cp39 wheels lingering among the newest 5 after Python 3.9 was dropped), which the
central cleanup of whole versions cannot reach. Only a Python older than the oldest one
the newest version builds in its family counts as dropped, since a missing newer Python, or
a whole family missing (no free-threaded wheel at all), looks the same as a failed build.
The newest version's files and sdists are never deleted; unreadable data aborts before the
first deletion as above, and a newest version without wheels (or with a wheel name that
does not parse) tells nothing about the Pythons built, so nothing is deleted then either.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from nightly_sessions.channel.api import AnacondaApi, TokenRefused, token_advice, what_failed
from nightly_sessions.channel.credentials import given_token, read_token, secrets_withheld
from nightly_sessions.channel.upload_job import DEFAULT_API_URL
from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings
from nightly_sessions.core.distfiles import python_order, python_version, wheel_builds
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
    dropped_tags: bool = False  # delete only wheels of Pythons no longer built


@dataclass(frozen=True)
class Release:
    """One version on the channel: how many files, and when the latest was uploaded."""

    version: str
    files: int
    latest: datetime | None  # None only when the release has no files
    basenames: tuple[str, ...] = ()  # "" for a file the API gave no name


@dataclass(frozen=True)
class CleanupDecision:
    """Keep or delete one release, and why."""

    release: Release
    keep: bool
    reason: str


@dataclass(frozen=True)
class FileDecision:
    """Keep or delete one wheel of an older version that the newest version has no Python of."""

    version: str
    basename: str
    pythons: tuple[str, ...]
    keep: bool
    reason: str


@dataclass(frozen=True)
class DroppedTagsPlan:
    """The newest version's Pythons, the ones no longer built, and each wheel concerned."""

    newest: Release | None
    built: tuple[str, ...]
    dropped: tuple[str, ...]
    files: tuple[FileDecision, ...]
    stop: str | None = None  # why nothing may be deleted

    @property
    def doomed(self) -> list[FileDecision]:
        return [] if self.stop else [decision for decision in self.files if not decision.keep]


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
    add(
        "--dropped-tags", action="store_true",
        help="instead of the retention policy, delete the wheels of older versions built only for "
        "Pythons older than the newest version builds (a dry run unless --yes)",
    )  # fmt: skip


def options_from(args: argparse.Namespace, settings: Settings) -> CleanupOptions:
    """Merge parsed options over the settings; the package defaults to the project's name."""
    package = args.package or read_project(settings.project_root).name
    if not package:
        raise ConfigError(
            f"No package to clean: {settings.project_root / 'pyproject.toml'} has no [project] "
            "name; pass --package NAME."
        )
    dropped_tags = bool(getattr(args, "dropped_tags", False))
    if dropped_tags and (args.keep is not None or args.days is not None):
        raise ConfigError(
            "--dropped-tags deletes only the wheels of Pythons no longer built and applies no "
            "retention policy, so --keep and --days do not go with it; run the cleanup once "
            "with each."
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
        dropped_tags=dropped_tags,
    )


def _run_command(call: Call) -> None:
    options = options_from(call.args, call.settings)
    if options.dropped_tags:
        cleanup_dropped_tags(options, environ=os.environ, log=call.log)
    else:
        cleanup(options, environ=os.environ, log=call.log)


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
    names = [item.get("basename") if isinstance(item, dict) else None for item in files]
    basenames = tuple(name if isinstance(name, str) else "" for name in names)
    return Release(version, len(files), max(times) if times else None, basenames)


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
    order = _newest_first(releases)
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


def _newest_first(releases: Sequence[Release]) -> list[Release]:
    """The releases with files, newest first by their latest upload; ties: later in the
    API's list (oldest first) is newer."""
    dated = [release for release in releases if release.latest is not None]
    return sorted(dated, key=lambda r: (r.latest, releases.index(r)), reverse=True)


def _pythons(basename: str) -> tuple[str, ...] | None:
    builds = wheel_builds(basename)
    return None if builds is None else tuple(sorted({py for py, _ in builds}, key=python_order))


def dropped_tags_plan(releases: Sequence[Release]) -> DroppedTagsPlan:
    """Which wheels of older versions hold only Pythons the newest version no longer builds.

    A Python is dropped when the newest version has no wheel for it and it is older than
    the oldest Python of its family (cp, free-threaded cp, pp, ...) the newest version
    builds. Files of the newest version are never concerned; sdists neither.
    """
    order = _newest_first(releases)
    if not order:
        return DroppedTagsPlan(None, (), (), (), "the package has no files")
    newest = order[0]
    found = [(name, _pythons(name)) for name in newest.basenames if name.endswith(".whl")]
    odd = [name for name, pythons in found if pythons is None]
    if odd:
        stop = f"the name of {odd[0]} in the newest version {newest.version} does not parse"
        return DroppedTagsPlan(newest, (), (), (), stop)
    built = sorted({py for _, pythons in found for py in pythons or ()}, key=python_order)
    if not built:
        stop = f"the newest version {newest.version} has no wheels to tell which Pythons it builds"
        return DroppedTagsPlan(newest, (), (), (), stop)
    oldest: dict[str, tuple[tuple[int, int], str]] = {}
    for label in built:
        known = python_version(label)
        if known and (known[0] not in oldest or known[1] < oldest[known[0]][0]):
            oldest[known[0]] = (known[1], label)
    decisions: list[FileDecision] = []
    dropped: set[str] = set()
    for release in order[1:]:
        for name in release.basenames:
            pythons = _pythons(name)
            if not pythons or set(pythons) & set(built):
                continue  # not a wheel, or one of a Python still built
            why = {label: _why_kept(label, oldest) for label in pythons}
            dropped.update(label for label, reason in why.items() if reason is None)
            kept = [f"{label}: {reason}" for label, reason in why.items() if reason]
            reason = "; ".join(kept) if kept else _why_dropped(pythons, oldest)
            decisions.append(FileDecision(release.version, name, pythons, bool(kept), reason))
    return DroppedTagsPlan(
        newest, tuple(built), tuple(sorted(dropped, key=python_order)), tuple(decisions)
    )


def _why_kept(label: str, oldest: Mapping[str, tuple[tuple[int, int], str]]) -> str | None:
    """Why a Python the newest version does not build is not taken as dropped; None if it is."""
    known = python_version(label)
    if known is None:
        return "a Python tag of unknown shape"
    family, version = known
    if family not in oldest:
        kind = f"free-threaded {family.removesuffix('-t')}" if family.endswith("-t") else family
        return f"the newest version has no {kind} wheel at all, which a failed build looks like too"
    if version > oldest[family][0]:
        return (
            f"newer than {oldest[family][1]}, the oldest of its kind the newest version builds, "
            "so more likely a failed build than a dropped Python"
        )
    return None


def _why_dropped(pythons: Sequence[str], oldest: Mapping[str, tuple[tuple[int, int], str]]) -> str:
    firsts = sorted({oldest[known[0]][1] for py in pythons if (known := python_version(py))})
    return f"only {', '.join(pythons)}, older than {', '.join(firsts)}, the oldest the newest version builds"


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


class _CleanupApi(AnacondaApi):
    """The channel's API with the one call only a cleanup makes: deleting a single file."""

    def remove_file(self, owner: str, package: str, version: str, basename: str) -> bool:
        """`DELETE /dist/{owner}/{package}/{version}/{basename}`; False when already gone."""
        parts = ("dist", owner, package, version, basename)
        path = "/".join(quote(part, safe="") for part in parts)
        response = self.http.request("DELETE", f"{self.url}/{path}", headers=self._headers)
        if response.status == 404:
            return False
        self._check(response, "DELETE")
        return True


def _open_api(options: CleanupOptions, environ: Mapping[str, str], say: Log) -> _CleanupApi | None:
    """The API client: with the token when deleting (None: no token where it is withheld)."""
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
            return None
    http = HttpClient(timeout=options.http_timeout, retries=options.http_retries)
    return _CleanupApi(options.api_url, token, http=http)


def _refused(options: CleanupOptions, exc: TokenRefused) -> NetworkError:
    return NetworkError(
        token_advice(exc.status, exc.server_message, options.token_env, options.channel)
    )


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

    api = _open_api(options, environ, say)
    if api is None:
        return []
    moment = now or datetime.now(timezone.utc)
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
        raise _refused(options, exc) from None
    return decisions


def cleanup_dropped_tags(
    options: CleanupOptions,
    *,
    environ: Mapping[str, str],
    log: Log = print,
    now: datetime | None = None,
) -> DroppedTagsPlan | None:
    """Read everything, list the wheels of Pythons no longer built, and delete them only
    with `options.yes`; return the plan (None when skipped for want of a token)."""

    def say(text: str) -> None:
        log(redact(text))

    api = _open_api(options, environ, say)
    if api is None:
        return None
    moment = now or datetime.now(timezone.utc)
    try:
        releases = read_releases(api, options, moment)
        for release in releases:
            if "" in release.basenames:
                raise _unreadable(options, f"a file of release {release.version} has no name")
        plan = dropped_tags_plan(releases)
        say(render_dropped_tags(options, plan))
        doomed = plan.doomed
        if plan.stop:
            say(f"Nothing to delete because {plan.stop}; {NOTHING_DELETED}.")
        elif not doomed:
            say("Nothing to delete: no wheel of an older version is only for a dropped Python.")
        elif not options.yes:
            say(f"Dry run: {NOTHING_DELETED}; pass --yes to delete the files marked DELETE.")
        else:
            _delete_files(api, options, doomed, say)
    except TokenRefused as exc:
        raise _refused(options, exc) from None
    return plan


def render_dropped_tags(options: CleanupOptions, plan: DroppedTagsPlan) -> str:
    """The newest version's Pythons, then one line per wheel concerned: keep or DELETE, why."""
    where = f"{options.channel}/{options.package}"
    newest = plan.newest
    if newest is None or newest.latest is None:
        return f"Dropped-tag cleanup of {where}: the package has no files."
    head = (
        f"Dropped-tag cleanup of {where}: the newest version {newest.version} "
        f"(uploaded {newest.latest:%Y-%m-%d %H:%M}) builds {', '.join(plan.built) or 'no wheels'}"
    )
    if plan.stop:
        return f"{head}."
    dropped = ", ".join(plan.dropped) or "none"
    lines = [f"{head}; no longer built: {dropped}; {len(plan.doomed)} wheel(s) to delete."]
    for item in plan.files:
        verdict = "keep  " if item.keep else "DELETE"
        lines.append(f"  {verdict}  {item.basename}  ({item.reason})")
    return "\n".join(lines)


def _delete_files(
    api: _CleanupApi, options: CleanupOptions, doomed: Sequence[FileDecision], say: Log
) -> None:
    """Delete one file at a time, printing each; stop at the first failure."""
    done = 0
    for item in doomed:
        what = f"{options.channel}/{options.package} {item.version} {item.basename}"
        try:
            removed = api.remove_file(options.channel, options.package, item.version, item.basename)
        except TokenRefused:
            raise
        except NetworkError as exc:
            raise NetworkError(
                f"Deleting {what} failed ({what_failed(exc)}); {done} file(s) were deleted "
                "before it and the rest were left alone; run the cleanup again later to finish."
            ) from None
        done += 1
        say(f"{'deleted' if removed else 'already gone:'} {what}")
    say(f"Deleted {done} file(s) of {options.channel}/{options.package}.")


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
