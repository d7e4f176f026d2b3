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
that the bot has told that project already.

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
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from nightly_sessions.channel.api import AnacondaApi
from nightly_sessions.core.artifacts import FRESHNESS_NAME
from nightly_sessions.core.commands import Call, Entry, how_to_run
from nightly_sessions.core.config import Settings
from nightly_sessions.core.distfiles import (
    BOT_ISSUE_DAYS,
    BOT_LOGIN,
    CENTRAL_CHANNEL,
    DELETION_DAYS,
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
class Freshness:
    """One package's verdict: fresh, stale, missing from the channel, or unknown (error)."""

    name: str
    role: Role
    status: Status
    days: int
    newest: Upload | None = None
    error: str | None = None
    owner: str | None = None  # where it was looked up, when not the project's channel

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

    def render(self) -> str:
        """A table for the terminal, then the warnings."""
        rows = [("package", "role", "newest nightly", "uploaded", "age", "status")]
        for item in (self.project, *self.dependencies):
            newest, age = item.newest, item.age(self.now)
            rows.append((
                item.name,
                item.role,
                newest.version if newest else "-",
                f"{newest.when:%Y-%m-%d %H:%M}" if newest else "-",
                f"{age} d" if age is not None else "-",
                f"{item.status} (limit {item.days} d)" if item.status in ("fresh", "stale")
                else item.status,
            ))  # fmt: skip
        title = f"Nightly uploads on {self.channel} at {self.now:%Y-%m-%d %H:%M} UTC:"
        if self.channel == CENTRAL_CHANNEL:
            title = (
                f"{title[:-1]}; {BOT_ISSUE_DAYS} days after a project's last upload the "
                f"channel's stale-wheel bot opens an issue on its tracker, at {DELETION_DAYS} "
                "the channel deletes its files:"
            )
        lines = [title, *text_table(rows)]
        lines += [f"warning: {text}" for text in self.warnings]
        return redact("\n".join(lines))

    def to_dict(self) -> dict[str, Any]:
        """The JSON report `nightly_issue` reads (schema 1, kind `freshness`)."""
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


def newest_upload(sources: _Sources, name: str, role: Role = "project") -> Upload | None:
    """The newest upload of `name`: from PEP 700 dates on the index, else from the API.

    None when neither lists a file of it; NetworkError when a date cannot be read.
    """
    dated = [dist for dist in sources.index.files(name) if dist.upload_time is not None]
    if dated:
        dist = max(dated, key=lambda d: (d.upload_time, d.version))
        assert dist.upload_time is not None
        return Upload(dist.upload_time, str(dist.version), redact(sources.index.url))
    return _newest_on_api(sources, name, sources.owner(role))


def _newest_on_api(sources: _Sources, name: str, owner: str) -> Upload | None:
    """The latest upload time over every release's files, as the API reports them."""
    api = sources.api
    where = f"{redact(api.url)}/package/{owner}/{name}"
    record = api.package(owner, name)
    if record is None:
        return None
    releases = record.get("releases")
    if not isinstance(releases, list):
        raise NetworkError(f"{where} answered without a list of releases; check again later.")
    newest: Upload | None = None
    files = 0
    for item in releases:
        version = item.get("version") if isinstance(item, dict) else None
        if not isinstance(version, str) or not version:
            raise NetworkError(f"{where} lists a release without a version; check again later.")
        distributions = api.release(owner, name, version).get("distributions")
        if not isinstance(distributions, list):
            raise NetworkError(f"Release {version} of {where} has no list of files.")
        files += len(distributions)
        for dist in distributions:
            when = parse_time(dist.get("upload_time") if isinstance(dist, dict) else None)
            if when is not None and (newest is None or when > newest.when):
                newest = Upload(when, version, API_SOURCE)
    if files and newest is None:
        raise NetworkError(
            f"No upload time of {owner}/{name} on {redact(api.url)} parses, so its age is "
            "unknown; check the package on anaconda.org."
        )
    return newest


def judge(sources: _Sources, name: str, role: Role, days: int, now: datetime) -> Freshness:
    """Read `name`'s newest upload and compare its age with `days`."""
    try:
        newest = newest_upload(sources, name, role)
    except NetworkError as exc:
        return Freshness(
            name, role, "error", days, error=redact(str(exc)), owner=sources.owner(role)
        )
    owner = sources.owner(role)
    if newest is None:
        return Freshness(name, role, "missing", days, owner=owner)
    stale = now - newest.when > timedelta(days=days)
    return Freshness(name, role, "stale" if stale else "fresh", days, newest, owner=owner)


def _dependencies(
    settings: Settings, sources: _Sources, info: ProjectInfo | None, project: str
) -> list[str]:
    """The planned nightly dependencies (the channel's or the listed ones), not the project.

    The same names for every Python (markers are not evaluated; the target only picks
    wheels), so the current interpreter's plan is enough.
    """
    info = info or read_project(settings.project_root)
    plan = make_plan(settings, info, Target.current(), sources.index)
    return [p.name for p in plan.packages if canonicalize_name(p.name) != project]


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
