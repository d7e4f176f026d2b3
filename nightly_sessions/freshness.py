"""The freshness check: warn before the channel deletes this project's nightlies.

The central channel deletes a project's files 30 days after its last upload, so a wheels
workflow that quietly broke costs every downstream project its nightlies. The channel's
own stale-wheel bot (scientific-python/upload-nightly-action PR #175, posting as
@scientific-python-bot) opens an issue on the project's tracker once the newest upload is
15 days old and comments on it at 25. This check fails before that, while there is still
time, when the project's newest upload is older than `freshness-days` (8), or when the
channel holds none at all; its sentence names the bot's issue and the deletion date, so a
project hears one coordinated story, not two. For the nightly dependencies an old newest
upload is only a warning (the tests would run on a stale nightly); from 15 days it says
that the bot has told that project already. A second warning compares the project's newest
version with its older ones on the channel, build by build (Python and platform): a
build the older versions have and the newest lacks is a platform that stopped uploading.

Where the dates come from: the nightly index's PEP 700 `upload-time` when its JSON pages
give one; otherwise (pypi.anaconda.org serves HTML without dates, and a project on
another label is not on /simple at all) the anaconda.org API for the `channel`, which
public channels answer without a token. Nothing is "fresh" by default: a date that
cannot be read is an error (exit code 3), never a pass. The result is also written as
`<report-dir>/freshness/freshness-report.json`, which `nightly_issue` turns into a
section of the tracking issue.

In the generated workflows it is a step of the tests workflow's reporting job, before the
tracking-issue step (which then runs `if: !cancelled()`), with
`NIGHTLY_REPORT_DIR` set to the folder that step reads. It needs no permission or
secret, and it runs apart from the wheels workflow it watches, so a broken or disabled
wheels workflow cannot silence it.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nightly_sessions.channel.api import AnacondaApi
from nightly_sessions.core.artifacts import FRESHNESS_NAME
from nightly_sessions.core.commands import Call, Entry, how_to_run
from nightly_sessions.core.config import Settings
from nightly_sessions.core.distfiles import (
    BOT_ISSUE_DAYS,
    BOT_LOGIN,
    CENTRAL_CHANNEL,
    DELETION_DAYS,
    python_order,
    wheel_builds,
)
from nightly_sessions.core.errors import ConfigError, NetworkError, NightlyError, OutcomeError
from nightly_sessions.core.http import HttpClient
from nightly_sessions.core.index import IndexClient
from nightly_sessions.core.log import Log
from nightly_sessions.core.pyproject import ProjectInfo, read_project
from nightly_sessions.core.redact import redact
from nightly_sessions.core.step_summary import append_step_summary
from nightly_sessions.core.tables import text_table
from nightly_sessions.core.timestamps import parse_time
from nightly_sessions.nightly_tests.plan import Target, make_plan

# The central channel's stale-wheel bot (upload-nightly-action tools/check_stale_wheels.py,
# PR #175): daily at 00:23 UTC it opens an issue on a project's tracker once the newest
# upload is BOT_ISSUE_DAYS whole days old, comments once at BOT_COMMENT_DAYS, and closes the
# issue itself after the next upload; the channel deletes all files DELETION_DAYS after the
# last upload. The bot finds the tracker from the Project-URLs of the project's metadata on
# PyPI (which check_dist checks). Its issues carry BOT_MARKER, so they can be found again.
BOT_COMMENT_DAYS = 25
BOT_MARKER = "<!-- scientific-python-nightly-wheels: stale-wheels -->"
BOT_SOURCE = "https://github.com/scientific-python/upload-nightly-action/pull/175"
BOT = f"the channel's stale-wheel bot (@{BOT_LOGIN})"
FOLDER = "freshness"
API_SOURCE = "anaconda.org API"
UPLOAD_HINT = f"run the wheels workflow, or {how_to_run('build')} then {how_to_run('upload')}"
DROPPED_HINT = f"{how_to_run('cleanup').removesuffix('`')} -- --dropped-tags`"
EXIT_CODES = {"fresh": 0, "stale": 1, "missing": 1, "error": 3}

Status = Literal["fresh", "stale", "missing", "error"]
Role = Literal["project", "dependency"]


@dataclass(frozen=True)
class FreshnessOptions:
    """One check: which package on which channel, and the two thresholds in days."""

    package: str | None  # None: the [project] name in pyproject.toml
    channel: str
    days: int = 8
    dependency_days: int = BOT_ISSUE_DAYS
    dependencies: bool = True


@dataclass(frozen=True)
class Upload:
    """A package's newest upload: when, which version, and where the date was read."""

    when: datetime
    version: str
    source: str


@dataclass(frozen=True)
class ChannelFile:
    """One file of a package on the channel: its version, name and upload time (if read)."""

    version: str
    basename: str
    when: datetime | None


@dataclass(frozen=True)
class Gap:
    """A (Python, platform) build an older version has and the newest version lacks."""

    python: str
    platform: str
    last_version: str  # the newest version that still has it
    last_upload: datetime | None


@dataclass(frozen=True)
class Coverage:
    """The newest version's wheels compared with the older versions' on the channel."""

    newest_version: str
    newest_upload: datetime
    builds: tuple[tuple[str, str], ...]  # (Python, platform) of the newest version
    gaps: tuple[Gap, ...]

    def warnings(self, name: str, channel: str) -> list[str]:
        """One sentence per older version the missing builds were last seen in."""
        by_version: dict[str, list[Gap]] = {}
        oldest = datetime.min.replace(tzinfo=timezone.utc)
        for gap in sorted(self.gaps, key=lambda g: g.last_upload or oldest, reverse=True):
            by_version.setdefault(gap.last_version, []).append(gap)
        sentences = []
        for version, gaps in by_version.items():
            when = gaps[0].last_upload
            seen = f"{version} ({when:%Y-%m-%d})" if when else version
            sentences.append(
                f"The newest nightly of {name} on {channel}, {self.newest_version} (uploaded "
                f"{self.newest_upload:%Y-%m-%d}), has no wheel for {_builds_text(gaps)}, which "
                f"{seen} had: a platform or Python of the build matrix stopped uploading; look "
                f"at that job of the wheels workflow (a platform or Python dropped on purpose "
                f"stays in this warning while the channel holds older versions with it; "
                f"{DROPPED_HINT} removes the wheels of Pythons no longer built)."
            )
        return sentences

    def to_dict(self) -> dict[str, Any]:
        return {
            "newest_version": self.newest_version,
            "builds": [f"{python}-{platform}" for python, platform in self.builds],
            "missing": [
                {
                    "python": gap.python,
                    "platform": gap.platform,
                    "last_version": gap.last_version,
                    "last_upload": (
                        gap.last_upload.isoformat(timespec="seconds") if gap.last_upload else None
                    ),
                }
                for gap in self.gaps
            ],
        }


def _builds_text(gaps: Sequence[Gap]) -> str:
    """`win_amd64 (cp312, cp313) or macosx_arm64 (cp313t)`: by platform, Pythons in order."""
    by_platform: dict[str, list[str]] = {}
    for gap in gaps:
        by_platform.setdefault(gap.platform, []).append(gap.python)
    parts = [
        f"{platform} ({', '.join(sorted(pythons, key=python_order))})"
        for platform, pythons in sorted(by_platform.items())
    ]
    return ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else parts[0]


# A universal2 wheel serves both Mac architectures, and both together replace one.
_UNIVERSAL = ("macosx_universal2", ("macosx_x86_64", "macosx_arm64"))


def _covered(build: tuple[str, str], builds: set[tuple[str, str]]) -> bool:
    python, platform = build
    universal, arches = _UNIVERSAL
    if build in builds:
        return True
    if platform == universal:
        return all((python, arch) in builds for arch in arches)
    return platform in arches and (python, universal) in builds


def coverage_of(files: Sequence[ChannelFile]) -> Coverage | None:
    """Which (Python, platform) builds of older versions the newest version lacks.

    The newest version is the one with the latest upload (as for the age); a build is
    missing when an older version on the channel has a wheel for it and the newest has
    none. None when no file is dated.
    """
    dated = [file for file in files if file.when is not None]
    if not dated:
        return None
    newest = newest_of(dated, "")
    assert newest is not None
    latest: dict[str, datetime] = {}
    for file in dated:
        assert file.when is not None
        latest[file.version] = max(file.when, latest.get(file.version, file.when))
    builds: dict[str, set[tuple[str, str]]] = {}
    for file in files:
        builds.setdefault(file.version, set()).update(wheel_builds(file.basename) or ())
    have = builds.get(newest.version, set())
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    older = sorted(
        (version for version in builds if version != newest.version),
        key=lambda version: latest.get(version, oldest),
        reverse=True,
    )
    gaps: dict[tuple[str, str], Gap] = {}
    for version in older:
        for build in sorted(builds[version]):
            if build not in gaps and not _covered(build, have):
                gaps[build] = Gap(*build, version, latest.get(version))
    ordered = sorted(gaps.values(), key=lambda g: (g.platform, python_order(g.python)))
    return Coverage(
        newest.version,
        newest.when,
        tuple(sorted(have, key=lambda b: (b[1], python_order(b[0])))),
        tuple(ordered),
    )


@dataclass(frozen=True)
class Freshness:
    """One package's verdict: fresh, stale, missing from the channel, or unknown (error)."""

    name: str
    role: Role
    status: Status
    days: int
    newest: Upload | None = None
    error: str | None = None
    owner: str | None = None  # where it was looked up, when not the project's channel
    files: tuple[ChannelFile, ...] = field(default=(), repr=False)  # the project's only

    def age(self, now: datetime) -> int | None:
        """Whole days since the newest upload (as the channel's bot counts them)."""
        return None if self.newest is None else (now - self.newest.when).days

    def sentence(self, channel: str, now: datetime) -> str:
        """What was found and, unless fresh, what to do."""
        name, newest, age = self.name, self.newest, self.age(now)
        channel = self.owner or channel
        if self.status == "error":
            return (
                f"The freshness of {name} on {channel} is unknown because its upload dates "
                f"could not be read: {self.error}"
            )
        if self.status == "missing":
            if self.role == "dependency":
                return f"No nightly of {name} is on {channel}: the tests install it from the base index."
            return (
                f"No nightly of {name} is on {channel}, so there is nothing to keep alive: "
                f"build and upload one ({UPLOAD_HINT})."
            )
        assert newest is not None
        assert age is not None
        found = (
            f"The newest nightly of {name} on {channel}, {newest.version}, was uploaded "
            f"{age} day{'s' if age != 1 else ''} ago ({newest.when:%Y-%m-%d})"
        )
        if self.status == "fresh":
            return f"{found}; fresh (limit {self.days} days)."
        return f"{found}, more than {self.days} days{self._advice(channel, newest.when, age)}."

    def _advice(self, channel: str, when: datetime, age: int) -> str:
        """The rest of a stale sentence: what happens next and what to do."""
        watched = channel == CENTRAL_CHANNEL
        if self.role == "dependency":
            stale = f": the nightly tests run on this old nightly, not on current {self.name} code"
            return f"{stale}; {_dependency_watch(self.name, when, age)}" if watched else stale
        if watched:
            return f"; {_project_watch(self.name, when, age)}"
        return f"; upload a new nightly ({UPLOAD_HINT})"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        newest = self.newest
        return {
            "name": self.name,
            "status": self.status,
            "threshold_days": self.days,
            "newest_version": newest.version if newest else None,
            "newest_upload": newest.when.isoformat(timespec="seconds") if newest else None,
            "age_days": self.age(now),
            "source": newest.source if newest else None,
            "error": redact(self.error) if self.error else None,
        }


@dataclass(frozen=True)
class FreshnessResult:
    """The project's verdict and the dependencies'; the project alone decides pass or fail."""

    channel: str
    now: datetime
    project: Freshness
    dependencies: tuple[Freshness, ...] = ()
    dependency_error: str | None = None  # the dependencies could not be listed
    stopped: NightlyError | None = None  # why the check could not run at all

    @property
    def outcome(self) -> Status:
        """The project's status; `error` also when a dependency could not be checked."""
        if self.stopped is not None:
            return "error"
        if self.project.status != "fresh":
            return self.project.status
        errors = self.dependency_error or any(d.status == "error" for d in self.dependencies)
        return "error" if errors else "fresh"

    @property
    def exit_code(self) -> int:
        return self.stopped.exit_code if self.stopped else EXIT_CODES[self.outcome]

    @property
    def message(self) -> str | None:
        """The sentence to fail with; None when the check passed."""
        if self.stopped is not None:
            return redact(str(self.stopped))
        if self.project.status != "fresh":
            return self.project.sentence(self.channel, self.now)
        if self.dependency_error:
            return self.dependency_error
        failed = [d for d in self.dependencies if d.status == "error"]
        return failed[0].sentence(self.channel, self.now) if failed else None

    @property
    def warnings(self) -> list[str]:
        """A sentence for each dependency that is not fresh (the failing one included)."""
        found = [
            d.sentence(self.channel, self.now) for d in self.dependencies if d.status != "fresh"
        ]
        return [self.dependency_error, *found] if self.dependency_error else found

    @property
    def coverage(self) -> Coverage | None:
        """The project's newest version compared with its older ones, when they were read."""
        if self.stopped is not None or self.project.status not in ("fresh", "stale"):
            return None
        return coverage_of(self.project.files)

    @property
    def coverage_warnings(self) -> list[str]:
        """A sentence per older version whose builds the newest version lacks."""
        coverage = self.coverage
        if coverage is None:
            return []
        return coverage.warnings(self.project.name, self.project.owner or self.channel)

    def render(self) -> str:
        """A table for the terminal, then the warnings."""
        rows = [("package", "role", "newest nightly", "uploaded", "age", "status")]
        gaps = len(self.coverage.gaps) if self.coverage else 0
        missing = f", {gaps} wheel build{'s' if gaps != 1 else ''} missing" if gaps else ""
        for item in (self.project, *self.dependencies):
            newest, age = item.newest, item.age(self.now)
            rows.append((
                item.name,
                item.role,
                newest.version if newest else "-",
                f"{newest.when:%Y-%m-%d %H:%M}" if newest else "-",
                f"{age} d" if age is not None else "-",
                f"{item.status} (limit {item.days} d){missing if item is self.project else ''}"
                if item.status in ("fresh", "stale") else item.status,
            ))  # fmt: skip
        title = f"Nightly uploads on {self.channel} at {self.now:%Y-%m-%d %H:%M} UTC:"
        if self.channel == CENTRAL_CHANNEL:
            title = (
                f"{title[:-1]}; {BOT_ISSUE_DAYS} days after a project's last upload the "
                f"channel's stale-wheel bot opens an issue on its tracker, at {DELETION_DAYS} "
                "the channel deletes its files:"
            )
        lines = [title, *text_table(rows)]
        lines += [f"warning: {text}" for text in (*self.warnings, *self.coverage_warnings)]
        return redact("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """The JSON report `nightly_issue` reads (schema 1, kind `freshness`)."""
        coverage = self.coverage
        return {
            "schema": 1,
            "kind": "freshness",
            "job": "freshness",
            "created": self.now.isoformat(timespec="seconds"),
            "channel": self.channel,
            "deletion_days": DELETION_DAYS,
            "channel_bot": _bot_dict() if self.channel == CENTRAL_CHANNEL else None,
            "outcome": self.outcome,
            "message": redact(self.message) if self.message else None,
            "warnings": [redact(text) for text in self.warnings],
            "project": self.project.to_dict(self.now),
            "dependencies": [d.to_dict(self.now) for d in self.dependencies],
            "coverage": coverage.to_dict() if coverage else None,
            "coverage_warnings": [redact(text) for text in self.coverage_warnings],
        }


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def _project_watch(name: str, when: datetime, age: int) -> str:
    """What the central channel does about a stale project, and by when to upload."""
    opens, deletes = when + timedelta(days=BOT_ISSUE_DAYS), when + timedelta(days=DELETION_DAYS)
    if age >= DELETION_DAYS:
        return (
            f"the channel deletes all of {name}'s nightlies {DELETION_DAYS} days after the last "
            f"upload ({deletes:%Y-%m-%d}), so they are gone or about to go: upload a new "
            f"nightly now ({UPLOAD_HINT})"
        )
    if age < BOT_ISSUE_DAYS:
        bot = (
            f"at {BOT_ISSUE_DAYS} days ({opens:%Y-%m-%d}) {BOT} opens an issue about it on "
            f"{name}'s tracker"
        )
    else:
        bot = (
            f"since {opens:%Y-%m-%d} {BOT} reports it in an issue on {name}'s tracker "
            f'("No {name} nightly wheels uploaded in … days", which it closes after the next '
            "upload; answer there rather than in a second issue)"
        )
    return (
        f"{bot}, and at {DELETION_DAYS} days ({deletes:%Y-%m-%d}) the channel deletes all of "
        f"{name}'s nightlies, so upload a new nightly within {_days(DELETION_DAYS - age)} "
        f"({UPLOAD_HINT})"
    )


def _dependency_watch(name: str, when: datetime, age: int) -> str:
    """What the central channel does about a stale dependency: the bot tells its project."""
    opens, deletes = when + timedelta(days=BOT_ISSUE_DAYS), when + timedelta(days=DELETION_DAYS)
    if age < BOT_ISSUE_DAYS:
        bot = f"at {BOT_ISSUE_DAYS} days ({opens:%Y-%m-%d}) {BOT} reports it on {name}'s tracker"
    else:
        bot = (
            f"since {opens:%Y-%m-%d} {BOT} reports it in an issue on {name}'s tracker, so "
            f"{name} has been told"
        )
    return (
        f"{bot}, and the channel deletes it {DELETION_DAYS} days after its last upload "
        f"({deletes:%Y-%m-%d}), after which the tests install {name} from the base index"
    )


def _bot_dict() -> dict[str, Any]:
    """The central channel's bot, for the report's readers (e.g. to find its issue)."""
    return {
        "login": BOT_LOGIN,
        "marker": BOT_MARKER,
        "issue_days": BOT_ISSUE_DAYS,
        "comment_days": BOT_COMMENT_DAYS,
        "source": BOT_SOURCE,
    }


# The command: its options, merged over the settings.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The freshness options; defaults (None) come from the settings and pyproject.toml."""
    add = parser.add_argument
    add("--days", type=int, help="fail when the newest upload is older (default: freshness-days)")
    add(
        "--dependency-days", type=int,
        help="warn when a dependency's newest nightly is older (default: dependency-freshness-days)",
    )  # fmt: skip
    add("--package", help="package to check (default: [project] name in pyproject.toml)")
    add("--channel", help="anaconda.org user or organisation (default: the channel setting)")
    add("--no-dependencies", action="store_true", help="check the package only")


def options_from(args: argparse.Namespace, settings: Settings) -> FreshnessOptions:
    """Merge parsed options over the settings."""
    days = settings.freshness_days if args.days is None else args.days
    dependency_days = (
        settings.dependency_freshness_days if args.dependency_days is None else args.dependency_days
    )
    if days < 0 or dependency_days < 0:
        raise ConfigError("--days and --dependency-days must be whole numbers >= 0.")
    return FreshnessOptions(
        package=args.package or None,
        channel=args.channel or settings.channel,
        days=days,
        dependency_days=dependency_days,
        dependencies=not args.no_dependencies,
    )


def _run_command(call: Call) -> None:
    result = run(call.settings, options_from(call.args, call.settings), log=call.log)
    if result.exit_code:
        raise OutcomeError(result.message or "The freshness check failed.", result.exit_code)


FRESHNESS = Entry(add_arguments, _run_command)


# Reading the dates.


@dataclass(frozen=True)
class _Sources:
    """The nightly index and the anaconda.org API, sharing one HTTP client."""

    index: IndexClient
    api: AnacondaApi
    channel: str  # where the project uploads
    nightly_owner: str  # where the dependencies' nightlies are

    def owner(self, role: Role) -> str:
        return self.channel if role == "project" else self.nightly_owner


def index_owner(index_url: str) -> str | None:
    """The channel of an anaconda.org-style index URL: `[/t/<token>]/<owner>[/label/<l>]/simple`."""
    segments = [segment for segment in urlsplit(index_url).path.split("/") if segment]
    if segments[:1] == ["t"]:
        segments = segments[2:]
    if len(segments) >= 2 and segments[-1] == "simple" and segments[1:2] in (["simple"], ["label"]):
        return segments[0]
    return None


def _sources(settings: Settings, channel: str) -> _Sources:
    http = HttpClient(timeout=settings.timeout, retries=settings.retries)
    index = IndexClient(settings.nightly_index_url, http=http)
    api = AnacondaApi(settings.anaconda_api_url, None, http=http)
    return _Sources(index, api, channel, index_owner(settings.nightly_index_url) or channel)


def channel_files(
    sources: _Sources, name: str, role: Role = "project"
) -> tuple[list[ChannelFile], str]:
    """Every file of `name` with its upload time, and where that was read: the index when
    its JSON pages date the files (PEP 700), else the anaconda.org API.

    NetworkError when the API lists files of which no upload time parses.
    """
    listed = sources.index.files(name)
    if any(dist.upload_time is not None for dist in listed):
        files = [ChannelFile(str(d.version), d.filename, d.upload_time) for d in listed]
        return files, redact(sources.index.url)
    return _files_on_api(sources, name, sources.owner(role)), API_SOURCE


def newest_of(files: Sequence[ChannelFile], source: str) -> Upload | None:
    """The latest upload among `files` (ties: the higher version)."""
    dated = [(file.when, _version_key(file.version), file) for file in files if file.when]
    if not dated:
        return None
    when, _, file = max(dated, key=lambda item: item[:2])
    return Upload(when, file.version, source)


def newest_upload(sources: _Sources, name: str, role: Role = "project") -> Upload | None:
    """The newest upload of `name`: from PEP 700 dates on the index, else from the API.

    None when neither lists a file of it; NetworkError when a date cannot be read.
    """
    return newest_of(*channel_files(sources, name, role))


def _version_key(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        return Version("0")


def _files_on_api(sources: _Sources, name: str, owner: str) -> list[ChannelFile]:
    """Every release's files with their upload times, as the API reports them."""
    api = sources.api
    where = f"{redact(api.url)}/package/{owner}/{name}"
    record = api.package(owner, name)
    if record is None:
        return []
    releases = record.get("releases")
    if not isinstance(releases, list):
        raise NetworkError(f"{where} answered without a list of releases; check again later.")
    files: list[ChannelFile] = []
    for item in releases:
        version = item.get("version") if isinstance(item, dict) else None
        if not isinstance(version, str) or not version:
            raise NetworkError(f"{where} lists a release without a version; check again later.")
        distributions = api.release(owner, name, version).get("distributions")
        if not isinstance(distributions, list):
            raise NetworkError(f"Release {version} of {where} has no list of files.")
        for dist in distributions:
            data = dist if isinstance(dist, dict) else {}
            basename = data.get("basename")
            when = parse_time(data.get("upload_time"))
            files.append(ChannelFile(version, basename if isinstance(basename, str) else "", when))
    if files and not any(file.when for file in files):
        raise NetworkError(
            f"No upload time of {owner}/{name} on {redact(api.url)} parses, so its age is "
            "unknown; check the package on anaconda.org."
        )
    return files


def judge(sources: _Sources, name: str, role: Role, days: int, now: datetime) -> Freshness:
    """Read `name`'s files and compare the age of its newest upload with `days`."""
    owner = sources.owner(role)
    try:
        files, source = channel_files(sources, name, role)
    except NetworkError as exc:
        return Freshness(name, role, "error", days, error=redact(str(exc)), owner=owner)
    newest = newest_of(files, source)
    if newest is None:
        return Freshness(name, role, "missing", days, owner=owner)
    stale = now - newest.when > timedelta(days=days)
    kept = tuple(files) if role == "project" else ()
    return Freshness(
        name, role, "stale" if stale else "fresh", days, newest, owner=owner, files=kept
    )


def _dependencies(
    settings: Settings, sources: _Sources, info: ProjectInfo | None, project: str
) -> list[str]:
    """The planned nightly dependencies (the channel's or the listed ones), not the project
    and not the upstreams from git ('git-packages'), which need no nightly.

    The same names for every Python (markers are not evaluated; the target only picks
    wheels), so the current interpreter's plan is enough.
    """
    info = info or read_project(settings.project_root)
    plan = make_plan(settings, info, Target.current(), sources.index)
    return [
        p.name for p in plan.packages if canonicalize_name(p.name) != project and not p.from_git
    ]


def check(
    settings: Settings, options: FreshnessOptions, *, now: datetime | None = None
) -> FreshnessResult:
    """Judge the project and each nightly dependency; reads only."""
    moment = now or datetime.now(timezone.utc)
    info = None if options.package else read_project(settings.project_root)
    project = options.package or (info.name if info else None)
    if not project:
        raise ConfigError(
            f"No package to check: {settings.project_root / 'pyproject.toml'} has no [project] "
            "name; pass --package NAME."
        )
    name = canonicalize_name(project)
    sources = _sources(settings, options.channel)
    names: list[str] = []
    problem = None
    if options.dependencies:
        try:
            names = _dependencies(settings, sources, info, name)
        except NightlyError as exc:
            problem = f"The nightly dependencies could not be listed, so none was checked: {exc}"
    jobs: list[tuple[str, Role, int]] = [(name, "project", options.days)]
    jobs += [(dep, "dependency", options.dependency_days) for dep in names]

    def one(job: tuple[str, Role, int]) -> Freshness:
        return judge(sources, *job, moment)

    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        found = list(pool.map(one, jobs))
    return FreshnessResult(options.channel, moment, found[0], tuple(found[1:]), problem)


# Doing.


def write_report(
    result: FreshnessResult,
    folder: Path,
    environ: Mapping[str, str] | None = None,
    log: Log = print,
) -> Path:
    """Write freshness-report.json into `folder`; add the table to $GITHUB_STEP_SUMMARY if set."""
    environ = os.environ if environ is None else environ
    path = folder / FRESHNESS_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the freshness report into {folder}: {exc.strerror}; check 'report-dir'."
        ) from None
    markdown = f"## Nightly freshness: {result.outcome}\n\n```text\n{result.render()}\n```\n\n"
    append_step_summary(markdown + f"{result.message or ''}\n", environ, log)
    return path


def run(
    settings: Settings,
    options: FreshnessOptions,
    *,
    log: Log = print,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
) -> FreshnessResult:
    """Check, print the table, write the report; the result says the exit code and why."""
    moment = now or datetime.now(timezone.utc)
    try:
        result = check(settings, options, now=moment)
        log(result.render())
    except NightlyError as exc:  # still write a report: no report must never read as fresh
        project = Freshness(options.package or "?", "project", "error", options.days)
        result = FreshnessResult(options.channel, moment, project, stopped=exc)
    path = write_report(result, settings.report_path / FOLDER, environ, log)
    log(f"Report: {path}")
    return result
