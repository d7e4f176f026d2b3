"""Upload the checked wheels in dist/ to an anaconda.org channel, losing nothing.

Order of work: select and check every file (no network), read the token, ask the channel
what it already holds, then upload only what is missing with anaconda-client, several
files at once, each retried on transient failures. A file already there with the same
sha256 is skipped; one with different content is refused unless `--replace` is given,
and then a verified copy of the old file is written to `<dist-dir>/replaced/` (and its
path printed) before anything is deleted, and removed only once the old or the new file
is known to be on the channel. The end report lists what was uploaded, skipped and
failed; running again sends only the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from nightly_sessions.anaconda import (
    AnacondaApi,
    RemoteFile,
    TokenRefused,
    digests,
    token_advice,
    what_failed,
)
from nightly_sessions.anaconda_client import (
    ANACONDA_CLIENT_VERSION,
    ClientFile,
    ClientRun,
    ClientStopped,
    FileOutcome,
    Retry,
    find_client,
    run_client,
)
from nightly_sessions.config import Settings
from nightly_sessions.errors import ConfigError, NetworkError, NightlyError, ToolError
from nightly_sessions.http import HttpClient
from nightly_sessions.index import IndexClient
from nightly_sessions.options import parse_posargs
from nightly_sessions.redact import add_secret, redact
from nightly_sessions.summary import append_step_summary
from nightly_sessions.wheels import find_dist_files, read_metadata, require_valid

PYPI_URL = "https://pypi.anaconda.org"
DEFAULT_API_URL = "https://api.anaconda.org"
REPLACED_FOLDER = "replaced"  # in the dist folder: copies of files `--replace` is replacing
DONE = frozenset({"uploaded", "present"})  # outcomes that leave the file on the channel
Log = Callable[[str], None]


@dataclass(frozen=True)
class UploadOptions:
    """Everything one upload needs, resolved from settings and command-line options."""

    dist_dir: Path
    channel: str
    label: str = "main"
    api_url: str = DEFAULT_API_URL
    token_env: str = "ANACONDA_ORG_UPLOAD_TOKEN"  # noqa: S105 - a variable's name
    sdist: bool = False
    dry_run: bool = False
    replace: bool = False
    verify: bool = False
    verify_timeout: float = 600.0
    verify_interval: float = 10.0
    index_url: str | None = None
    skip_without_token: bool = True
    jobs: int = 4
    retry: Retry = field(default_factory=Retry)
    http_timeout: float = 30.0
    http_retries: int = 3
    anaconda: str | None = None  # the anaconda-client executable; None: `anaconda` on PATH

    @property
    def simple_url(self) -> str:
        """The channel's simple index (where `--verify` looks)."""
        if self.index_url:
            return self.index_url.rstrip("/")
        root = PYPI_URL if self.api_url.rstrip("/") == DEFAULT_API_URL else self.api_url
        middle = "" if self.label == "main" else f"/label/{quote(self.label, safe='')}"
        return f"{root.rstrip('/')}/{quote(self.channel, safe='')}{middle}/simple"

    @property
    def replaced_dir(self) -> Path:
        """Where verified copies of the files being replaced are kept (outside any temp folder)."""
        return self.dist_dir / REPLACED_FOLDER


@dataclass
class UploadReport:
    """What happened to each file: uploaded, skipped (already there) or failed, with why."""

    channel: str
    label: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # copies of replaced files not on the channel

    def render(self) -> str:
        if self.planned:
            return "\n".join(self.planned)
        counts = f"{len(self.uploaded)} uploaded, {len(self.skipped)} skipped"
        lines = [
            f"Upload to {self.channel} (label {self.label}): {counts}, {len(self.failed)} failed."
        ]
        lines += [f"  uploaded  {name}" for name in self.uploaded]
        lines += [f"  skipped   {name}: {why}" for name, why in self.skipped]
        lines += [f"  FAILED    {name}: {why}" for name, why in self.failed]
        return "\n".join(lines)

    def markdown(self) -> str:
        rows = [(name, "uploaded", "") for name in self.uploaded]
        rows += [(name, "skipped", why) for name, why in self.skipped]
        rows += [(name, "**failed**", why) for name, why in self.failed]
        table = "\n".join(f"| `{name}` | {state} | {why} |" for name, state, why in rows)
        return (
            f"### Nightly upload to {self.channel}\n\n| file | result | detail |\n"
            f"|---|---|---|\n{table}\n"
        )


@dataclass(frozen=True)
class _Local:
    """A file to upload, as anaconda-client will name it on the channel."""

    path: Path
    name: str
    version: str
    sha256: str
    md5: str


# Options, shared by `python -m nightly_sessions upload` and `nox -s upload_nightly -- ...`.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The upload options; defaults (None) come from the settings."""
    add = parser.add_argument
    add("--dry-run", action="store_true", help="list what would go where; touch nothing")
    add("--dist-dir", type=Path, help="folder of built files (default: the dist-dir setting)")
    add("--channel", help="anaconda.org user or organisation (default: the channel setting)")
    add("--label", help="channel label (default: the channel-label setting, main)")
    add("--sdist", action="store_true", default=None, help="upload sdists too")
    add("--replace", action="store_true", help="replace files that differ, keeping a copy first")
    add("--verify", action="store_true", help="wait until the channel's index lists the files")
    add("--verify-timeout", type=float, default=600.0, help="seconds to wait (default: 600)")
    add("--index-url", help="simple index to verify against (default: the channel's)")
    add("--token-env", help="variable holding the token (default: the upload-token-env setting)")
    add("--jobs", type=int, default=4, help="files uploaded at once (default: 4)")
    add("--attempts", type=int, default=4, help="attempts per file (default: 4)")
    add("--anaconda", help="the anaconda-client executable (default: `anaconda` on PATH)")


def options_from(args: argparse.Namespace, settings: Settings) -> UploadOptions:
    """Merge parsed options over the settings."""
    if args.jobs < 1 or args.attempts < 1 or args.verify_timeout <= 0:
        raise ConfigError("--jobs and --attempts must be at least 1 and --verify-timeout positive.")
    return UploadOptions(
        dist_dir=args.dist_dir or settings.dist_path,
        channel=args.channel or settings.channel,
        label=args.label or settings.channel_label,
        api_url=settings.anaconda_api_url,
        token_env=args.token_env or settings.upload_token_env,
        sdist=settings.upload_sdist if args.sdist is None else args.sdist,
        dry_run=args.dry_run,
        replace=args.replace,
        verify=args.verify,
        verify_timeout=args.verify_timeout,
        index_url=args.index_url,
        skip_without_token=settings.skip_upload_without_token,
        jobs=args.jobs,
        retry=Retry(attempts=args.attempts, timeout=settings.timeout),
        http_timeout=settings.timeout,
        http_retries=settings.retries,
        anaconda=args.anaconda,
    )


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """`python -m nightly_sessions upload`: with the `anaconda` on PATH (or --anaconda)."""
    options = options_from(args, settings)
    upload(options, client=lambda: find_client(options.anaconda), environ=os.environ)
    return 0


def parse_session_args(
    posargs: Sequence[str], settings: Settings, log: Log
) -> UploadOptions | None:
    """Options for `nox -s upload_nightly -- ...`; None after printing help."""
    args = parse_posargs("upload_nightly", add_arguments, posargs, log)
    return None if args is None else options_from(args, settings)


# The upload.


def _select(options: UploadOptions) -> list[Path]:
    files = find_dist_files(options.dist_dir)
    chosen = [path for path in files if path.name.endswith(".whl") or options.sdist]
    if files and not chosen:
        raise ConfigError(
            f"{options.dist_dir} holds only sdists and sdists are not uploaded; build wheels "
            "or pass --sdist (upload-sdist = true)."
        )
    return chosen


def _describe(path: Path) -> _Local:
    metadata = read_metadata(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"Could not read {path} ({exc.strerror or exc}); check that it is still there and "
            "readable, then run again."
        ) from None
    sha256, md5 = digests(data)
    return _Local(path, str(metadata["Name"]), str(metadata["Version"]), sha256, md5)


def _prepare(options: UploadOptions) -> list[_Local]:
    """The files to upload, every one checked before any network call."""
    paths = _select(options)
    require_valid(paths, for_upload=True)
    return [_describe(path) for path in paths]


def secrets_withheld(environ: Mapping[str, str]) -> str | None:
    """Why the CI run has no secrets ("a pull request", "a fork"), or None."""
    if environ.get("GITHUB_EVENT_NAME") == "pull_request":
        return "a pull request"
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        repository = event.get("repository") if isinstance(event, dict) else None
        if isinstance(repository, dict) and repository.get("fork") is True:
            return "a fork"
    return None


def _notice(message: str, environ: Mapping[str, str]) -> str:
    if environ.get("GITHUB_ACTIONS") == "true":
        return f"::notice title=Nightly upload skipped::{message}"
    return f"notice: {message}"


def read_token(
    token_env: str, environ: Mapping[str, str], *, skip_without_token: bool, what: str
) -> str | None:
    """The token (registered as a secret at once); None to skip; ConfigError when missing."""
    token = environ.get(token_env, "").strip()
    if token:
        add_secret(token)
        return token
    context = secrets_withheld(environ)
    if context and skip_without_token:
        return None
    raise ConfigError(
        f"No anaconda.org token: the environment variable {token_env} is empty or unset, so "
        f"nothing can {what}; set it from the repository secret {token_env} "
        "(or name another variable with --token-env / upload-token-env)."
    )


def _dry_run(options: UploadOptions, local: Sequence[_Local], say: Log) -> UploadReport:
    where = f"{redact(options.api_url)} as {options.channel} (label {options.label})"
    report = UploadReport(options.channel, options.label)
    report.planned = [f"Dry run: would upload {len(local)} file(s) to {where}; nothing was sent."]
    report.planned += [
        f"  would upload {item.path.name} -> {options.channel}/{item.name}/{item.version}"
        for item in local
    ]
    say(report.render())
    return report


def _skip(
    options: UploadOptions, local: Sequence[_Local], environ: Mapping[str, str], say: Log
) -> UploadReport:
    """No token where GitHub withholds secrets: a notice, every file skipped."""
    reason = secrets_withheld(environ)
    say(_notice(f"no token in {options.token_env} in {reason}, so nothing was uploaded.", environ))
    report = UploadReport(options.channel, options.label)
    report.skipped = [(item.path.name, "no token (secrets are withheld)") for item in local]
    return report


def upload(
    options: UploadOptions,
    *,
    client: Callable[[], Path],
    environ: Mapping[str, str],
    log: Log = print,
) -> UploadReport:
    """Upload; print the report; raise a NightlyError when any file was not uploaded.

    `client` returns the Python that has anaconda-client; it is called only when an upload
    will really happen (not for a dry run, nor when the upload is skipped for lack of a token).
    """

    def say(text: str) -> None:
        log(redact(text))

    local = _prepare(options)
    if options.dry_run:
        return _dry_run(options, local, say)
    token = read_token(
        options.token_env, environ, skip_without_token=options.skip_without_token,
        what="be uploaded",
    )  # fmt: skip
    if token is None:
        return _skip(options, local, environ, say)
    with _sigterm_interrupts():
        report = _send(options, local, token, client, say)
    append_step_summary(report.markdown(), environ, say)
    _raise_if_failed(options, report, len(local))
    if options.verify and report.uploaded:
        _verify(options, local, report, say)
    return report


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Let SIGTERM (a cancelled CI job) unwind like Ctrl-C, so replaced files get put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@dataclass
class _Job:
    """One upload's parts; the client is looked for (or installed) only once it is needed."""

    options: UploadOptions
    api: AnacondaApi
    client: Callable[[], Path]
    token: str = field(repr=False)
    say: Log
    outcomes: dict[Path, FileOutcome] = field(default_factory=dict)  # as reported, live
    _python: Path | None = None

    @property
    def python(self) -> Path:
        if self._python is None:
            self._python = self.client()
        return self._python


def _send(
    options: UploadOptions,
    local: Sequence[_Local],
    token: str,
    client: Callable[[], Path],
    say: Log,
) -> UploadReport:
    """Upload and print the report, also when the upload stops half-way."""
    report = UploadReport(options.channel, options.label)
    http = HttpClient(timeout=options.http_timeout, retries=options.http_retries)
    job = _Job(options, AnacondaApi(options.api_url, token, http=http), client, token, say)
    try:
        _upload(job, local, report)
    except NightlyError as exc:
        say(report.render())
        error = _stopped(exc, options, report)
        if report.kept and error.detail:  # the cause in full, as the sentence names the copies
            say(error.detail)
        raise error from None
    except BaseException:  # Ctrl-C or SIGTERM: the report names any copy still kept
        say(report.render())
        raise
    say(report.render())
    return report


def _stopped(exc: NightlyError, options: UploadOptions, report: UploadReport) -> NightlyError:
    """The sentence for an upload that stopped: copies left to put back come first."""
    if isinstance(exc, TokenRefused):
        advice = token_advice(exc.status, exc.server_message, options.token_env, options.channel)
        if not report.kept:
            return NetworkError(advice)
        cause = (
            f"anaconda.org refused the token in {options.token_env} "
            f"({exc.status}: {exc.server_message})"
        )
        return _kept_error(options, report, cause, NetworkError, detail=advice)
    if not report.kept:
        return exc
    detail = "\n".join(filter(None, (str(exc), exc.detail)))
    if isinstance(exc, ClientStopped):
        cause = f"anaconda-client stopped with {exc.how}"
        return _kept_error(options, report, cause, ToolError, detail)
    kind = ToolError if isinstance(exc, ToolError) else NetworkError
    return _kept_error(options, report, what_failed(exc), kind, detail)


def _kept_error(
    options: UploadOptions,
    report: UploadReport,
    cause: str,
    kind: type[NightlyError],
    detail: str | None = None,
) -> NightlyError:
    copies = " ".join(shlex.quote(str(path)) for path in report.kept)
    return kind(
        f"{cause}, and {len(report.kept)} old file(s) being replaced are no longer on "
        f"{options.channel} and could not be put back, so their verified copies are kept in "
        f"{options.replaced_dir}; upload them with `{_upload_command(options)} {copies}`.",
        detail=detail,
    )


def _upload_command(options: UploadOptions) -> str:
    return f"anaconda upload --user {options.channel} --label {options.label}"


def _raise_if_failed(options: UploadOptions, report: UploadReport, total: int) -> None:
    if not report.failed:
        return
    names = ", ".join(name for name, _ in report.failed[:3])
    more = "" if len(report.failed) <= 3 else f" and {len(report.failed) - 3} more"
    cause = (
        f"{len(report.failed)} of {total} file(s) were not uploaded to {options.channel} "
        f"({names}{more})"
    )
    if report.kept:
        raise _kept_error(options, report, cause, NetworkError)
    raise NetworkError(
        f"{cause}; the reasons are listed above; run again to send only what is missing."
    )


def _upload(job: _Job, local: Sequence[_Local], report: UploadReport) -> None:
    """Send what is missing; whatever stops the run, put back replaced files that are gone."""
    pending, backups = _sort(job, local, report)
    if not pending:
        return
    run: ClientRun | None = None
    try:
        run = _run(job, pending)
    finally:  # also on a crash, Ctrl-C or SIGTERM: no result means "not uploaded"
        _collect(job.outcomes, pending, report, job.options)
        if backups:
            refused = run is not None and run.refusal is not None
            _restore(job, local, backups, report, refused=refused)
    if run.refusal is not None:
        raise TokenRefused(
            run.refusal.message, status=run.refusal.status, server_message=run.refusal.message
        )
    if run.error is not None:
        raise NetworkError(
            f"anaconda-client could not reach {redact(job.options.api_url)} ({run.error}); "
            "nothing was uploaded; try again later."
        )


def _sort(
    job: _Job, local: Sequence[_Local], report: UploadReport
) -> tuple[list[ClientFile], dict[Path, ClientFile]]:
    """Files to send (and the kept copies of files they replace); the rest go to the report."""
    options = job.options
    remote = _precheck(job.api, options.channel, local, options.jobs * 2)
    pending: list[ClientFile] = []
    backups: dict[Path, ClientFile] = {}
    for item in local:
        found = remote[item.path]
        kept: ClientFile | str | None = None
        if isinstance(found, NightlyError):
            report.failed.append(
                (item.path.name, f"could not read the channel: {what_failed(found)}")
            )
        elif found is None:
            pending.append(ClientFile(item.path, item.name, item.version, item.sha256, item.md5))
        elif found.same_content(item.sha256, item.md5):
            report.skipped.append((item.path.name, "already on the channel with the same sha256"))
        elif not options.replace:
            report.failed.append((item.path.name, _refusal(options.channel, found, item)))
        else:
            kept = _keep_copy(job, item, found)
        if isinstance(kept, str):
            report.failed.append((item.path.name, kept))
        elif kept is not None:
            backups[item.path] = kept
            pending.append(
                ClientFile(item.path, item.name, item.version, item.sha256, item.md5, replace=True)
            )
    return pending, backups


def _precheck(
    api: AnacondaApi, channel: str, local: Sequence[_Local], workers: int
) -> dict[Path, RemoteFile | NightlyError | None]:
    """What the channel holds under each file's name; a refused token stops everything."""

    def one(item: _Local) -> RemoteFile | NightlyError | None:
        try:
            return api.distribution(channel, item.name, item.version, item.path.name)
        except TokenRefused:
            raise
        except NightlyError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(local)))) as pool:
        return dict(zip([item.path for item in local], pool.map(one, local), strict=True))


def _refusal(channel: str, found: RemoteFile, item: _Local) -> str:
    theirs = found.sha256 or found.md5 or "unknown"
    return (
        f"a different file with this name is already on {channel} (sha256 {theirs[:12]}, "
        f"yours {item.sha256[:12]}), so it was not replaced; give each build a new version "
        "(`nox -s build_nightly`), or pass --replace to overwrite it while keeping a copy of "
        "the old file (a plain `anaconda upload --force` deletes first and once lost a "
        "project its only wheel, upload-nightly-action#77)"
    )


def _keep_copy(job: _Job, item: _Local, found: RemoteFile) -> ClientFile | str:
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
    copy = options.replaced_dir / sha256[:16] / item.path.name
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


def _run(job: _Job, files: Sequence[ClientFile]) -> ClientRun:
    options, say, python = job.options, job.say, job.python

    def progress(outcome: FileOutcome) -> None:
        job.outcomes[outcome.path] = outcome
        tries = f" after {outcome.attempts} attempts" if outcome.attempts > 1 else ""
        if outcome.outcome in DONE:
            say(f"uploaded {outcome.path.name}{tries}")
        elif outcome.outcome != "not-attempted":
            say(f"failed   {outcome.path.name}{tries}: {outcome.message}")

    say(f"Uploading {len(files)} file(s) to {options.channel} with anaconda-client ({python})")
    run = run_client(
        python, files, api_url=options.api_url, channel=options.channel, label=options.label,
        token=job.token, jobs=options.jobs, retry=options.retry, on_outcome=progress,
    )  # fmt: skip
    if run.version is None:
        raise ToolError(
            f"anaconda-client could not be used with {python} ({run.error}); "
            f"install it with `python -m pip install anaconda-client=={ANACONDA_CLIENT_VERSION}`."
        )
    if run.version != ANACONDA_CLIENT_VERSION:
        say(f"note: anaconda-client {run.version} is in use; {ANACONDA_CLIENT_VERSION} is tested")
    for line in run.warnings.strip().splitlines()[-10:]:
        say(line)
    return run


def _collect(
    outcomes: Mapping[Path, FileOutcome],
    files: Sequence[ClientFile],
    report: UploadReport,
    options: UploadOptions,
) -> None:
    for item in files:
        outcome = outcomes.get(item.path)
        if outcome is not None and outcome.outcome in DONE:
            report.uploaded.append(item.path.name)
            continue
        if outcome is None:
            why = "no result (the upload stopped before anaconda-client reported on this file)"
        elif outcome.outcome == "not-attempted":
            why = "not attempted (the upload stopped early)"
        elif outcome.kind == "conflict":
            why = f"appeared on {options.channel} with different content during the upload"
        else:
            status = f"HTTP {outcome.status}: " if outcome.status else ""
            why = f"{status}{outcome.message} (after {outcome.attempts} attempt(s))"
        report.failed.append((item.path.name, why))


def _restore(
    job: _Job,
    local: Sequence[_Local],
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


def _still_there(job: _Job, item: _Local) -> bool:
    """Whether the channel has a file of that name; unknown counts as no (a 409 will tell)."""
    try:
        found = job.api.distribution(job.options.channel, item.name, item.version, item.path.name)
    except NightlyError:
        return False
    return found is not None


def _put_back(job: _Job, olds: Sequence[ClientFile]) -> set[Path]:
    """Upload the kept copies again; the copies that are on the channel afterwards."""
    options, say = job.options, job.say
    say(f"putting back {len(olds)} old file(s) from the copies kept before replacing them")
    try:
        again = run_client(
            job.python, olds, api_url=options.api_url, channel=options.channel,
            label=options.label, token=job.token, jobs=options.jobs, retry=options.retry,
        )  # fmt: skip
    except NightlyError as exc:
        say(f"could not put the old file(s) back: {what_failed(exc)}")
        return set()
    return {path for path, outcome in again.outcomes.items() if outcome.outcome in DONE}


def _verify(
    options: UploadOptions, local: Sequence[_Local], report: UploadReport, say: Log
) -> None:
    """Poll the channel's simple index until it lists every uploaded file, or time out."""
    wanted = {item.path.name: item.name for item in local if item.path.name in report.uploaded}
    index = IndexClient(
        options.simple_url, timeout=options.http_timeout, retries=options.http_retries
    )
    say(f"Waiting for {redact(options.simple_url)} to list {len(wanted)} file(s)")
    deadline = time.monotonic() + options.verify_timeout
    missing = set(wanted)
    last_error = ""
    while True:
        for project in sorted(set(wanted.values())):
            try:
                listed = {dist.filename for dist in index.files(project)}
            except NightlyError as exc:
                last_error = f" (last error: {what_failed(exc)})"
                continue
            missing -= listed
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(min(options.verify_interval, max(0.0, deadline - time.monotonic())))
    if missing:
        names = ", ".join(sorted(missing)[:3])
        raise NetworkError(
            f"After {options.verify_timeout:.0f} s, {redact(options.simple_url)} still does not "
            f"list {len(missing)} uploaded file(s) ({names}){redact(last_error)}; the channel "
            "may be slow to update, so check again later before uploading again."
        )
    say(f"Verified: {redact(options.simple_url)} lists every uploaded file.")
