"""Check built wheels and sdists before they reach users of the nightly channel.

Every file is checked completely and every problem is reported, one line each, naming
the file and the fix, so one run shows everything that must change.
"""

from __future__ import annotations

import argparse
import email.message
import email.parser
import email.policy
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    try:
        raw = _wheel_metadata(path) if path.name.endswith(".whl") else _sdist_metadata(path)
        text = raw.decode("utf-8")
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
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text)


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
    """Check the files (or the dist folder); raise ConfigError listing every problem."""
    paths = expand_paths(call.args.paths or [call.settings.dist_path])
    require_valid(paths, for_upload=not call.args.local)
    call.log(f"{len(paths)} file(s) ready for the nightly channel.")


CHECK_DIST = Entry(add_arguments, _run_command)
