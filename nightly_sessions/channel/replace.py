"""The `--replace` safety net: a verified copy of each replaced file, put back when needed.

anaconda-client can only replace a file by deleting it first (a plain
`anaconda upload --force` once lost a project its only wheel, upload-nightly-action#77).
So before anything is deleted, the old file is downloaded, checked against the channel's
digest and written to `<dist-dir>/replaced/`, its path printed at once. Once the upload
stops, each copy is removed if the old or the new file is on the channel, otherwise
uploaded again; a copy that cannot be put back stays and the report says how to upload it.
Without `--replace`, a different file under the same name is refused with why.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from nightly_sessions.channel.api import RemoteFile, TokenRefused, digests, what_failed
from nightly_sessions.channel.client import ClientFile, run_client
from nightly_sessions.channel.upload_files import LocalFile
from nightly_sessions.channel.upload_job import DONE, UploadJob, UploadOptions, UploadReport
from nightly_sessions.core.commands import how_to_run
from nightly_sessions.core.errors import NightlyError

REPLACED_FOLDER = "replaced"  # in the dist folder: copies of files `--replace` is replacing


def replaced_dir(options: UploadOptions) -> Path:
    """Where verified copies of the files being replaced are kept (outside any temp folder)."""
    return options.dist_dir / REPLACED_FOLDER


def refusal(channel: str, found: RemoteFile, item: LocalFile) -> str:
    """Why a different file under the same name was left alone (no `--replace`)."""
    theirs = found.sha256 or found.md5 or "unknown"
    return (
        f"a different file with this name is already on {channel} (sha256 {theirs[:12]}, "
        f"yours {item.sha256[:12]}), so it was not replaced; give each build a new version "
        f"({how_to_run('build')}), or pass --replace to overwrite it while keeping a copy of "
        "the old file (a plain `anaconda upload --force` deletes first and once lost a "
        "project its only wheel, upload-nightly-action#77)"
    )


def keep_copy(job: UploadJob, item: LocalFile, found: RemoteFile) -> ClientFile | str:
    """Download, verify and keep the file about to be replaced; the copy, or why there is none.

    The copy goes to `<dist-dir>/replaced/<sha256 prefix>/<name>` (the prefix keeps
    different old files of one name apart) and its path is printed at once, so that it is
    found even if this process is killed; it is removed only once the old or the new file
    is known to be on the channel.
    """
    options = job.options
    try:
        data = job.api.download(options.channel, item.name, item.version, item.path.name)
    except TokenRefused:
        raise
    except NightlyError as exc:
        return (
            "not replaced: the old file could not be downloaded to keep a copy "
            f"({what_failed(exc)})"
        )
    sha256, md5 = digests(data)
    if not (found.sha256 or found.md5) or not found.same_content(sha256, md5):
        return "not replaced: the downloaded copy of the old file could not be verified"
    copy = replaced_dir(options) / sha256[:16] / item.path.name
    try:
        _write_new(copy, data)
    except OSError as exc:
        return (
            f"not replaced: no copy of the old file could be kept at {copy} ({exc.strerror or exc})"
        )
    job.say(f"kept a verified copy of the old {item.path.name} at {copy}")
    return ClientFile(copy, item.name, item.version, sha256, md5)


def _write_new(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (through a temporary name beside it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_bytes(data)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def _discard(copy: Path) -> None:
    """Remove a copy no longer needed, and its folders once empty."""
    copy.unlink(missing_ok=True)
    for folder in (copy.parent, copy.parent.parent):
        with contextlib.suppress(OSError):
            folder.rmdir()


def restore(
    job: UploadJob,
    local: Sequence[LocalFile],
    backups: Mapping[Path, ClientFile],
    report: UploadReport,
    *,
    refused: bool,
) -> None:
    """Put back each replaced file whose replacement is not known to be on the channel.

    A copy is removed once the old or the new file is on the channel; otherwise it stays
    in `replaced/` and the report names it (also when the token was refused: no retry).
    """
    items = {item.path: item for item in local}
    gone: dict[Path, ClientFile] = {}
    for path, old in backups.items():
        outcome = job.outcomes.get(path)
        if (outcome is not None and outcome.outcome in DONE) or _still_there(job, items[path]):
            _discard(old.path)
        else:
            gone[path] = old
    put_back = set() if refused or not gone else _put_back(job, list(gone.values()))
    reasons = dict(report.failed)
    for path, old in gone.items():
        if old.path in put_back:
            reasons[path.name] += "; the old file was put back"
            _discard(old.path)
        else:
            report.kept.append(old.path)
            reasons[path.name] += (
                f"; the old file is not on the channel and is kept at {old.path}: upload it "
                f"with `{_upload_command(job.options)} {shlex.quote(str(old.path))}`"
            )
    report.failed = [(name, reasons[name]) for name, _ in report.failed]


def _still_there(job: UploadJob, item: LocalFile) -> bool:
    """Whether the channel has a file of that name; unknown counts as no (a 409 will tell)."""
    try:
        found = job.api.distribution(job.options.channel, item.name, item.version, item.path.name)
    except NightlyError:
        return False
    return found is not None


def _put_back(job: UploadJob, olds: Sequence[ClientFile]) -> set[Path]:
    """Upload the kept copies again; the copies that are on the channel afterwards."""
    options, say = job.options, job.say
    say(f"putting back {len(olds)} old file(s) from the copies kept before replacing them")
    try:
        again = run_client(
            job.python, olds, api_url=options.api_url, channel=options.channel,
            labels=options.labels, token=job.token, jobs=options.jobs, retry=options.retry,
        )  # fmt: skip
    except NightlyError as exc:
        say(f"could not put the old file(s) back: {what_failed(exc)}")
        return set()
    return {path for path, outcome in again.outcomes.items() if outcome.outcome in DONE}


def kept_error(
    options: UploadOptions,
    report: UploadReport,
    cause: str,
    kind: type[NightlyError],
    detail: str | None = None,
) -> NightlyError:
    """The error for an upload that stopped with copies left to put back: one thing to do."""
    copies = " ".join(shlex.quote(str(path)) for path in report.kept)
    return kind(
        f"{cause}, and {len(report.kept)} old file(s) being replaced are no longer on "
        f"{options.channel} and could not be put back, so their verified copies are kept in "
        f"{replaced_dir(options)}; upload them with `{_upload_command(options)} {copies}`.",
        detail=detail,
    )


def _upload_command(options: UploadOptions) -> str:
    labels = " ".join(f"--label {label}" for label in options.labels)
    return f"anaconda upload --user {options.channel} {labels}"
