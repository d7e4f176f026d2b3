"""Check built wheels and sdists before they reach users of the nightly channel.

Every file is checked completely and every problem is reported, one line each, naming
the file and the fix, so one run shows everything that must change. Warnings are about
files that are valid but leave something out: metadata without a `Project-URL` that
points at the repository, which the channel's stale-wheel bot needs to reach the
project (scientific-python/upload-nightly-action PR #175).
"""

from __future__ import annotations

import argparse
import email.message
import email.parser
import email.policy
import io
import json
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.metadata import parse_email
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from nightly_sessions.core.commands import Call, Entry, how_to_run
from nightly_sessions.core.errors import ConfigError

SDIST_SUFFIXES = (".tar.gz", ".zip")
PORTABLE_HINT = (
    f"build it with cibuildwheel (manylinux/musllinux images, {how_to_run('build')}) "
    "so it installs on other machines"
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file, and how to fix it."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path.name}: {self.message}"


@dataclass(frozen=True)
class _Parsed:
    """What a file's name says it is."""

    name: NormalizedName
    version: Version
    tags: frozenset[Tag]  # empty for an sdist


def is_dist_file(path: Path) -> bool:
    """Whether `path` is named like a wheel or an sdist."""
    return path.name.endswith((".whl", *SDIST_SUFFIXES))


def find_dist_files(directory: Path) -> list[Path]:
    """Wheels and sdists directly inside `directory`, sorted by name."""
    if not directory.is_dir():
        raise ConfigError(
            f"The dist folder {directory} does not exist; build first "
            f"({how_to_run('build')}) or pass the folder that holds the wheels."
        )
    return sorted(path for path in directory.iterdir() if path.is_file() and is_dist_file(path))


def project_of(path: Path) -> NormalizedName | None:
    """The project a wheel or sdist belongs to, by its file name; None if it does not parse."""
    parsed = _parse_filename(path)
    return None if isinstance(parsed, str) else parsed.name


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files as given, folders replaced by the wheels and sdists in them."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(find_dist_files(path))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path} does not exist; pass a wheel, an sdist or a dist folder.")
    return found


def _parse_filename(path: Path) -> _Parsed | str:
    """The name, version and tags in a file name, or why it does not parse."""
    try:
        if path.name.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(path.name)
            return _Parsed(name, version, tags)
        if path.name.endswith(SDIST_SUFFIXES):
            name, version = parse_sdist_filename(path.name)
            return _Parsed(name, version, frozenset())
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        return f"the file name does not parse ({exc}); keep the name the build backend gave it"
    return "not a wheel (.whl) or sdist (.tar.gz); only build outputs belong in the dist folder"


def _wheel_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        names = [
            name
            for name in archive.namelist()
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
        ]
        if len(names) != 1:
            raise ValueError(f"{len(names)} .dist-info/METADATA files instead of one")
        return archive.read(names[0])


def _sdist_metadata(path: Path) -> bytes:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/PKG-INFO")]
            if len(names) != 1:
                raise ValueError(f"{len(names)} top-level PKG-INFO files instead of one")
            return archive.read(names[0])
    with tarfile.open(path, "r:gz") as archive:
        members = [
            m
            for m in archive.getmembers()
            if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
        ]
        if len(members) != 1:
            raise ValueError(f"{len(members)} top-level PKG-INFO files instead of one")
        handle = archive.extractfile(members[0])
        if handle is None:
            raise ValueError("PKG-INFO is not a regular file")
        return handle.read()


# What reading a cut-short or corrupt archive raises: gzip's EOFError, a zlib.error from
# a deflated member, lzma for xz members, NotImplementedError for an unknown zip method.
DAMAGED = (
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    tarfile.TarError,
    NotImplementedError,
)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def read_metadata(path: Path) -> email.message.Message:
    """The core metadata of a wheel (METADATA) or an sdist (PKG-INFO)."""
    text = _metadata_text(path)
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text)


def _metadata_text(path: Path) -> str:
    """The METADATA or PKG-INFO text; ConfigError when the file cannot be read."""
    try:
        raw = _wheel_metadata(path) if path.name.endswith(".whl") else _sdist_metadata(path)
        return raw.decode("utf-8")
    except DAMAGED as exc:
        raise ConfigError(
            f"Cannot read the metadata of {path}: the archive is damaged or cut short "
            f"({type(exc).__name__}: {_one_line(exc)}); rebuild the file, or copy or "
            "download it again."
        ) from None
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"Cannot read the metadata of {path} ({_one_line(exc)}); rebuild the file."
        ) from None


def _description(metadata: email.message.Message) -> str:
    """The long description: the message body, or the older Description header."""
    body = metadata.get_payload()
    if isinstance(body, str) and body.strip():
        return body
    return str(metadata.get("Description", ""))


def _content_type_problem(metadata: email.message.Message) -> tuple[str, str | None]:
    """The description's content type, and why PyPI would refuse it, if it would."""
    header = email.message.Message()
    header["Content-Type"] = str(metadata.get("Description-Content-Type", "text/x-rst"))
    kind = header.get_content_type()
    charset = header.get_param("charset", "UTF-8")
    if kind not in {"text/plain", "text/x-rst", "text/markdown"}:
        return kind, (
            f"Description-Content-Type {kind!r} is not one PyPI accepts; use text/markdown, "
            "text/x-rst or text/plain (readme in [project])"
        )
    if isinstance(charset, str) and charset.upper() != "UTF-8":
        return kind, f"Description-Content-Type charset {charset!r} is refused by PyPI; use UTF-8"
    return kind, None


def _render_problem(metadata: email.message.Message) -> str | None:
    """Why PyPI would refuse or fail to render the long description, if it would.

    Markdown and plain text always render on PyPI; reStructuredText fails on markup errors.
    """
    kind, problem = _content_type_problem(metadata)
    description = _description(metadata)
    if problem or kind != "text/x-rst" or description.strip() in {"", "UNKNOWN"}:
        return problem
    from readme_renderer import rst

    warnings = io.StringIO()
    if rst.render(description, stream=warnings) is None:
        detail = " ".join(warnings.getvalue().split())[:160]
        return (
            f"the long description is invalid reStructuredText, so PyPI would not render it "
            f"({detail}); fix the readme or declare it as text/markdown"
        )
    return None


def _metadata_problems(parsed: _Parsed, metadata: email.message.Message) -> Iterator[str]:
    name = metadata.get("Name")
    if not name:
        yield "the metadata has no Name; check [project] name and rebuild"
    elif canonicalize_name(str(name)) != parsed.name:
        yield (
            f"the metadata Name {name!r} does not match the file name ({parsed.name!r}); "
            "do not rename built files, rebuild instead"
        )
    version = metadata.get("Version")
    try:
        if not version:
            yield "the metadata has no Version; rebuild the file"
        elif Version(str(version)) != parsed.version:
            yield (
                f"the metadata Version {version!r} does not match the file name "
                f"({parsed.version}); do not rename built files, rebuild instead"
            )
    except InvalidVersion:
        yield f"the metadata Version {version!r} is not a PEP 440 version; rebuild the file"
    if not str(metadata.get("Summary", "")).strip():
        yield (
            "the metadata has no Summary, which anaconda.org refuses; "
            "set `description` in [project] of pyproject.toml"
        )
    rendering = _render_problem(metadata)
    if rendering:
        yield rendering


def _file_problems(path: Path, parsed: _Parsed, *, for_upload: bool) -> Iterator[str]:
    if not parsed.version.is_prerelease:
        yield (
            f"version {parsed.version} is a release, which must never be in the nightly "
            f"channel; build with {how_to_run('build')} to get a .devN version"
        )
    if for_upload:
        bare = sorted({tag.platform for tag in parsed.tags if tag.platform.startswith("linux_")})
        if bare:
            yield (
                f"platform tag {bare[0]!r} only installs on machines like the one that built "
                f"it, so it is refused for upload; {PORTABLE_HINT}"
            )
    try:
        metadata = read_metadata(path)
    except ConfigError as exc:
        yield f"{exc}".removesuffix(".")
        return
    yield from _metadata_problems(parsed, metadata)


def _duplicates(parsed: dict[Path, _Parsed]) -> Iterator[Problem]:
    """Two files that would claim the same (project, version, tag) on the index."""
    seen: dict[tuple[str, Version, str], Path] = {}
    for path, info in parsed.items():
        keys = [str(tag) for tag in info.tags] or ["sdist"]
        for key in sorted(keys):
            first = seen.setdefault((info.name, info.version, key), path)
            if first != path:
                kind = "sdist" if key == "sdist" else f"tag {key}"
                yield Problem(
                    path,
                    f"same version {info.version} and {kind} as {first.name}; "
                    "keep only one of them (empty the dist folder and rebuild)",
                )
                break


def check_files(paths: Sequence[Path], *, for_upload: bool = True) -> list[Problem]:
    """Every problem of every file (and between files), in file order."""
    problems: list[Problem] = []
    parsed: dict[Path, _Parsed] = {}
    for path in paths:
        info = _parse_filename(path)
        if isinstance(info, str):
            problems.append(Problem(path, info))
            continue
        parsed[path] = info
        problems.extend(
            Problem(path, text) for text in _file_problems(path, info, for_upload=for_upload)
        )
    problems.extend(_duplicates(parsed))
    return problems


def require_valid(paths: Sequence[Path], *, for_upload: bool = True) -> None:
    """Raise ConfigError listing every problem, one per line; nothing to check is a problem too."""
    if not paths:
        raise ConfigError(
            f"There are no wheels or sdists to check; build them first ({how_to_run('build')})."
        )
    problems = check_files(paths, for_upload=for_upload)
    if problems:
        raise ConfigError("\n".join(str(problem) for problem in problems))


# What a wheel is built for, as the channel's files are compared (freshness, cleanup).

_VERSIONED_PLATFORM = re.compile(
    r"^(?P<system>manylinux|musllinux|macosx|ios|android|pyodide|emscripten)(?:_?\d+)*_(?P<arch>.+)$"
)


def python_label(tag: Tag) -> str:
    """The Python a tag is for: its interpreter, with `t` for a free-threaded ABI (cp313t)."""
    return f"{tag.interpreter}t" if tag.abi == f"{tag.interpreter}t" else tag.interpreter


def platform_label(platform: str) -> str:
    """A platform tag without its version: manylinux2014_x86_64 and manylinux_2_28_x86_64
    are both manylinux_x86_64, macosx_11_0_arm64 is macosx_arm64; others stay as they are."""
    match = _VERSIONED_PLATFORM.match(platform)
    return f"{match['system']}_{match['arch']}" if match else platform


_PYTHON_LABEL = re.compile(r"^(?P<impl>[a-z]+?)(?P<major>\d)(?P<minor>\d*)(?P<free>t?)$")


def python_version(label: str) -> tuple[str, tuple[int, int]] | None:
    """A Python label's family and version: cp313t is ("cp-t", (3, 13)), py3 ("py", (3, -1));
    None for a label of another shape. Versions compare only within a family."""
    match = _PYTHON_LABEL.match(label)
    if match is None:
        return None
    family = match["impl"] + ("-t" if match["free"] else "")
    return family, (int(match["major"]), int(match["minor"]) if match["minor"] else -1)


def python_order(label: str) -> tuple[str, tuple[int, int], str]:
    """A sort key that puts cp39 before cp310."""
    family, version = python_version(label) or ("~", (0, 0))
    return family, version, label


def wheel_builds(filename: str) -> frozenset[tuple[str, str]] | None:
    """The (Python, platform) pairs a wheel's name covers, by the labels above; None when
    the name is not a wheel's or does not parse."""
    if not filename.endswith(".whl"):
        return None
    try:
        _name, _version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return frozenset((python_label(tag), platform_label(tag.platform)) for tag in tags)


# Warnings: valid files that leave out what the channel's watchers need.

# The central channel and its stale-wheel bot (scientific-python/upload-nightly-action,
# tools/check_stale_wheels.py, PR #175): daily, the bot opens an issue on a project's
# tracker once its newest upload is BOT_ISSUE_DAYS whole days old; the channel deletes a
# project's files DELETION_DAYS after its last upload. The bot finds the tracker from a
# Project-URL of the project's metadata on PyPI: a github.com/<owner>/<name> URL under a
# label holding one of BOT_LABELS (best first; "Home-page" counts as "home").
CENTRAL_CHANNEL = "scientific-python-nightly-wheels"
BOT_LOGIN = "scientific-python-bot"
BOT_ISSUE_DAYS = 15
DELETION_DAYS = 30
BOT_LABELS = ("tracker", "issues", "source", "repository", "homepage", "home")
_REPOSITORY_URL = re.compile(
    r"^https?://(?:www\.)?(?P<host>github\.com|gitlab\.com|gitlab\.[^/]+)/"
    r"(?!orgs/)(?P<owner>[^/#?]+)/(?P<name>[^/#?]+)",
    re.IGNORECASE,
)
_WHY_URL = (
    f"the channel's stale-wheel bot (@{BOT_LOGIN}) finds your tracker from it to open an "
    f"issue {BOT_ISSUE_DAYS} days after your last nightly upload, before the channel deletes "
    f"your nightlies at {DELETION_DAYS} (it reads your metadata on PyPI, so the URL reaches "
    "it with your next release)"
)


def repository_of(url: str) -> str | None:
    """`host/owner/name` (lower case, no `.git`) of a GitHub or GitLab URL, or None."""
    match = _REPOSITORY_URL.match(url.strip())
    if match is None:
        return None
    name = match["name"].removesuffix(".git")
    return f"{match['host']}/{match['owner']}/{name}".lower()


def expected_repository(environ: Mapping[str, str]) -> str | None:
    """`github.com/owner/name` of $GITHUB_REPOSITORY, or None outside GitHub Actions and
    in a fork (whose metadata rightly points at the repository it was forked from)."""
    repository = environ.get("GITHUB_REPOSITORY", "").strip()
    if repository.count("/") != 1 or _in_a_fork(environ):
        return None
    return f"github.com/{repository}".lower()


def _in_a_fork(environ: Mapping[str, str]) -> bool:
    event_path = environ.get("GITHUB_EVENT_PATH")
    if not event_path:
        return False
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    repository = event.get("repository") if isinstance(event, dict) else None
    return isinstance(repository, dict) and repository.get("fork") is True


def _bot_reads(label: str) -> bool:
    label = label.strip().lower()
    return any(word in label for word in BOT_LABELS)


def repository_warning(metadata: str, expected: str | None) -> str | None:
    """Why the metadata does not lead the channel's bot to the repository, or None.

    `expected` is `github.com/owner/name` (see `expected_repository`); without it any
    GitHub or GitLab repository URL will do.
    """
    raw, _ = parse_email(metadata)
    urls = list((raw.get("project_urls") or {}).items())
    if raw.get("home_page"):
        urls.append(("Home-page", raw["home_page"]))
    found = [(label, url, repository_of(url)) for label, url in urls]
    wanted = [(label, url) for label, url, repo in found if repo and repo == (expected or repo)]
    if any(_bot_reads(label) for label, _ in wanted):
        return None
    target = expected or (repository_of(wanted[0][1]) if wanted else None)
    target = f"https://{target or 'github.com/<owner>/<name>'}"
    fix = f'add `Source = "{target}"` to [project.urls] in pyproject.toml'
    if wanted:
        label, url = wanted[0]
        return (
            f"Project-URL {label!r} points at {url}, but under a label the channel's stale-wheel "
            f"bot does not read (it reads those naming a tracker, issues, source, repository or "
            f"homepage); {fix}, since {_WHY_URL}"
        )
    others = sorted({repo for label, _, repo in found if repo and _bot_reads(label)})
    if expected and others:
        return (
            f"the Project-URLs point at {', '.join(others)}, not at this repository "
            f"({expected}, from $GITHUB_REPOSITORY); if that is where issues belong, nothing "
            f"to do; otherwise {fix}, since {_WHY_URL}"
        )
    where = f"at https://{expected}" if expected else "at the project's GitHub or GitLab repository"
    return f"the metadata has no Project-URL pointing {where}; {fix}, since {_WHY_URL}"


def check_warnings(
    paths: Sequence[Path],
    environ: Mapping[str, str] | None = None,
    channel: str = CENTRAL_CHANNEL,
) -> list[str]:
    """One line per distinct warning, naming the files it concerns (unreadable files,
    which the checks report, are left out). Only the central channel has the bot."""
    if channel != CENTRAL_CHANNEL:
        return []
    expected = expected_repository(os.environ if environ is None else environ)
    by_text: dict[str, list[Path]] = {}
    for path in paths:
        if isinstance(_parse_filename(path), str):
            continue
        try:
            text = repository_warning(_metadata_text(path), expected)
        except (ConfigError, ValueError):
            continue
        if text:
            by_text.setdefault(text, []).append(path)
    lines = []
    for text, files in by_text.items():
        more = len(files) - 1
        names = files[0].name + (
            f" and {more} other file{'s' if more != 1 else ''}" if more else ""
        )
        lines.append(f"{names}: {text}")
    return lines


def warning_line(text: str, environ: Mapping[str, str]) -> str:
    """A warning as a line: an annotation on GitHub Actions (seen on the run page even when
    the step passes), else `warning: ...`."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return f"::warning title=check_dist::{text}"
    return f"warning: {text}"


# The check-dist command.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The check-dist command's options."""
    parser.add_argument(
        "paths", type=Path, nargs="*",
        help="wheels, sdists or folders (default: the 'dist-dir' setting)",
    )  # fmt: skip
    parser.add_argument(
        "--local",
        action="store_true",
        help="files for this machine only: allow local platform tags",
    )


def _run_command(call: Call) -> None:
    """Check the files (or the dist folder); raise ConfigError listing every problem.

    Warnings are printed first and never fail the command: the files are still valid.
    """
    paths = expand_paths(call.args.paths or [call.settings.dist_path])
    for text in check_warnings(paths, os.environ, call.settings.channel):
        call.log(warning_line(text, os.environ))
    require_valid(paths, for_upload=not call.args.local)
    call.log(f"{len(paths)} file(s) ready for the nightly channel.")


CHECK_DIST = Entry(add_arguments, _run_command)
