"""The files an upload sends: chosen from dist/ and checked before any network call.

Wheels always, sdists only when asked; every file must pass the checks and be readable
(its name, version and digests known) first, so that one bad file stops the upload
before anything reaches the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nightly_sessions.channel.api import digests
from nightly_sessions.channel.upload_job import UploadOptions
from nightly_sessions.core.distfiles import find_dist_files, read_metadata, require_valid
from nightly_sessions.core.errors import ConfigError


@dataclass(frozen=True)
class LocalFile:
    """A file to upload, as anaconda-client will name it on the channel."""

    path: Path
    name: str
    version: str
    sha256: str
    md5: str


def prepare_files(options: UploadOptions) -> list[LocalFile]:
    """The files to upload, every one checked before any network call."""
    paths = _select(options)
    require_valid(paths, for_upload=True)
    return [_describe(path) for path in paths]


def _select(options: UploadOptions) -> list[Path]:
    files = find_dist_files(options.dist_dir)
    chosen = [path for path in files if path.name.endswith(".whl") or options.sdist]
    if files and not chosen:
        raise ConfigError(
            f"{options.dist_dir} holds only sdists and sdists are not uploaded; build wheels "
            "or pass --sdist (upload-sdist = true)."
        )
    return chosen


def _describe(path: Path) -> LocalFile:
    metadata = read_metadata(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Could not read {path} ({exc.strerror or exc}); check that it is still there and "
            "readable, then run again."
        ) from None
    sha256, md5 = digests(data)
    return LocalFile(path, str(metadata["Name"]), str(metadata["Version"]), sha256, md5)
