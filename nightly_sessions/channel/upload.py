"""Upload the checked wheels in dist/ to an anaconda.org channel, losing nothing.

The upload command: its options and the order of work. Select and check every file (no
network; `upload_files`), read the token (`credentials`), check its expiry and scopes
(`token_check`: a token that expires soon is a warning, an expired one or a missing scope
stops the upload before anything is sent), ask the channel what it already holds, then upload only what is missing with anaconda-client, several files at
once, each retried on transient failures. A file already there with the same sha256 is
skipped; one with different content is refused unless `--replace` is given, and then the
safety net in `replace` keeps a verified copy of the old file before anything is deleted
and puts it back if the new one does not arrive. The end report lists what was uploaded,
skipped and failed; running again sends only the rest. `--verify` then waits until the
channel's index lists every uploaded file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nightly_sessions.channel import token_check
from nightly_sessions.channel.api import (
    AnacondaApi,
    RemoteFile,
    TokenRefused,
    token_advice,
    what_failed,
)
from nightly_sessions.channel.client import (
    ANACONDA_CLIENT_VERSION,
    INSTALL_HINT,
    ClientFile,
    ClientRun,
    ClientStopped,
    FileOutcome,
    Retry,
    find_client,
    install_client,
    run_client,
)
from nightly_sessions.channel.credentials import read_token, secrets_withheld
from nightly_sessions.channel.replace import keep_copy, kept_error, refusal, restore
from nightly_sessions.channel.upload_files import LocalFile, prepare_files
from nightly_sessions.channel.upload_job import DONE, UploadJob, UploadOptions, UploadReport
from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings, parse_labels
from nightly_sessions.core.errors import ConfigError, NetworkError, NightlyError, ToolError
from nightly_sessions.core.http import HttpClient
from nightly_sessions.core.index import IndexClient
from nightly_sessions.core.log import Log
from nightly_sessions.core.redact import redact
from nightly_sessions.core.step_summary import append_step_summary, notice

# The command: its options, merged over the settings, and where anaconda-client comes from.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The upload options; defaults (None) come from the settings."""
    add = parser.add_argument
    add("--dry-run", action="store_true", help="list what would go where; touch nothing")
    add("--dist-dir", type=Path, help="folder of built files (default: the dist-dir setting)")
    add("--channel", help="anaconda.org user or organisation (default: the channel setting)")
    add(
        "--label",
        help="channel label, or several comma-separated, each file getting every one "
        "(default: the channel-label setting, main)",
    )
    add("--sdist", action="store_true", default=None, help="upload sdists too")
    add("--replace", action="store_true", help="replace files that differ, keeping a copy first")
    add("--verify", action="store_true", help="wait until the channel's index lists the files")
    add("--verify-timeout", type=float, default=600.0, help="seconds to wait (default: 600)")
    add("--index-url", help="simple index to verify against (default: the channel's)")
    add("--token-env", help="variable holding the token (default: the upload-token-env setting)")
    add("--jobs", type=int, default=4, help="files uploaded at once (default: 4)")
    add("--attempts", type=int, default=4, help="attempts per file (default: 4)")
    add("--anaconda", help="the anaconda-client executable (default: `anaconda` on PATH)")
    add(
        "--install", action="store_true",
        help="first install the locked anaconda-client into the environment, hash-checked "
        "(a nox session always does)",
    )  # fmt: skip


def options_from(args: argparse.Namespace, settings: Settings) -> UploadOptions:
    """Merge parsed options over the settings."""
    if args.jobs < 1 or args.attempts < 1 or args.verify_timeout <= 0:
        raise ConfigError("--jobs and --attempts must be at least 1 and --verify-timeout positive.")
    return UploadOptions(
        dist_dir=args.dist_dir or settings.dist_path,
        channel=args.channel or settings.channel,
        labels=parse_labels(args.label, "option --label") if args.label else settings.channel_label,
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


def _client(call: Call, options: UploadOptions) -> Path:
    """The Python that has anaconda-client: installed from the lock into the command's
    environment (always in a nox session), else the `anaconda` given or on PATH."""
    if not (call.own_environment or call.args.install):
        return find_client(options.anaconda)
    env = call.environment()
    install_client(env, call.settings.base_index_url)
    scripts = env.python.parent
    return find_client(shutil.which("anaconda", path=str(scripts)) or scripts / "anaconda")


def _run_command(call: Call) -> None:
    options = options_from(call.args, call.settings)
    check = token_check.options_for(call.settings, token_env=options.token_env)
    upload(
        options, client=lambda: _client(call, options), environ=os.environ, log=call.log,
        check=check,
    )  # fmt: skip


UPLOAD = Entry(add_arguments, _run_command)


# The upload.


def _dry_run(options: UploadOptions, local: Sequence[LocalFile], say: Log) -> UploadReport:
    where = f"{redact(options.api_url)} as {options.channel} ({options.label_text})"
    report = UploadReport(options.channel, options.label_text)
    report.planned = [f"Dry run: would upload {len(local)} file(s) to {where}; nothing was sent."]
    report.planned += [
        f"  would upload {item.path.name} -> {options.channel}/{item.name}/{item.version}"
        for item in local
    ]
    say(report.render())
    return report


def _skip(
    options: UploadOptions, local: Sequence[LocalFile], environ: Mapping[str, str], say: Log
) -> UploadReport:
    """No token where GitHub withholds secrets: a notice, every file skipped."""
    reason = secrets_withheld(environ)
    message = f"no token in {options.token_env} in {reason}, so nothing was uploaded."
    say(notice(message, "Nightly upload skipped", environ))
    report = UploadReport(options.channel, options.label_text)
    report.skipped = [(item.path.name, "no token (secrets are withheld)") for item in local]
    return report


def upload(
    options: UploadOptions,
    *,
    client: Callable[[], Path],
    environ: Mapping[str, str],
    log: Log = print,
    check: token_check.TokenCheckOptions | None = None,
) -> UploadReport:
    """Upload; print the report; raise a NightlyError when any file was not uploaded.

    `client` returns the Python that has anaconda-client; it is called only when an upload
    will really happen (not for a dry run, nor when the upload is skipped for lack of a token).
    `check` is how the token is checked first (default: warn 30 days ahead, no report file).
    """

    def say(text: str) -> None:
        log(redact(text))

    local = prepare_files(options)
    if options.dry_run:
        return _dry_run(options, local, say)
    token = read_token(
        options.token_env, environ, skip_without_token=options.skip_without_token,
        what="be uploaded",
    )  # fmt: skip
    if token is None:
        return _skip(options, local, environ, say)
    report = UploadReport(options.channel, options.label_text)
    with _step_summary(report, environ, say), _sigterm_interrupts():
        _check_token(options, check, token, local, environ=environ, say=say, report=report)
        _send(options, local, token, client, say, report=report)
    _raise_if_failed(options, report, len(local))
    if options.verify and report.uploaded:
        _verify(options, local, report, say)
    return report


def _check_token(
    options: UploadOptions,
    check: token_check.TokenCheckOptions | None,
    token: str,
    local: Sequence[LocalFile],
    *,
    environ: Mapping[str, str],
    say: Log,
    report: UploadReport,
) -> None:
    """The token's expiry and scopes, before anything is sent: a warning lets the upload go
    on; an expired or refused token, or a missing scope, stops it here with its sentence."""
    check = check or token_check.TokenCheckOptions(
        api_url=options.api_url, token_env=options.token_env,
        http_timeout=options.http_timeout, http_retries=options.http_retries,
    )  # fmt: skip
    try:
        token_check.run(check, token, environ=environ, log=say, during_upload=True)
    except token_check.TokenProblem as exc:
        report.stop_before([item.path.name for item in local], exc.why)
        say(report.render())
        raise


@contextlib.contextmanager
def _step_summary(report: UploadReport, environ: Mapping[str, str], say: Log) -> Iterator[None]:
    """Write $GITHUB_STEP_SUMMARY however the upload ends: each file so far, and why it stopped.

    A refused token, a crashed client or an unreachable API are exactly the runs whose
    summary a maintainer opens.
    """
    stopped: str | None = "the upload stopped unexpectedly; see the job's log"
    try:
        yield
        stopped = None
    except NightlyError as exc:
        stopped = str(exc)
        raise
    except KeyboardInterrupt:
        stopped = "the upload was interrupted (Ctrl-C, or the job was cancelled)"
        raise
    finally:
        append_step_summary(report.markdown(stopped), environ, say)


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


def _send(
    options: UploadOptions,
    local: Sequence[LocalFile],
    token: str,
    client: Callable[[], Path],
    say: Log,
    *,
    report: UploadReport,
) -> None:
    """Upload, filling in `report`, and print it, also when the upload stops half-way."""
    http = HttpClient(timeout=options.http_timeout, retries=options.http_retries)
    job = UploadJob(options, AnacondaApi(options.api_url, token, http=http), client, token, say)
    names = [item.path.name for item in local]
    try:
        _upload(job, local, report)
    except NightlyError as exc:
        report.stop_before(names, _why_stopped(exc))
        say(report.render())
        error = _stopped(exc, options, report)
        if report.kept and error.detail:  # the cause in full, as the sentence names the copies
            say(error.detail)
        raise error from None
    except BaseException:  # Ctrl-C or SIGTERM: the report names any copy still kept
        report.stop_before(names, "the upload was interrupted")
        say(report.render())
        raise
    say(report.render())


def _why_stopped(exc: NightlyError) -> str:
    """Why files were not sent, for the report's first line (the sentence comes after it)."""
    if isinstance(exc, TokenRefused):
        return f"anaconda.org refused the token ({exc.status}: {exc.server_message})"
    return f"the upload stopped: {what_failed(exc)}"


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
        return kept_error(options, report, cause, NetworkError, detail=advice)
    if not report.kept:
        return exc
    detail = "\n".join(filter(None, (str(exc), exc.detail)))
    if isinstance(exc, ClientStopped):
        cause = f"anaconda-client stopped with {exc.how}"
        return kept_error(options, report, cause, ToolError, detail)
    kind = ToolError if isinstance(exc, ToolError) else NetworkError
    return kept_error(options, report, what_failed(exc), kind, detail)


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
        raise kept_error(options, report, cause, NetworkError)
    raise NetworkError(
        f"{cause}; the reasons are listed above; run again to send only what is missing."
    )


def _upload(job: UploadJob, local: Sequence[LocalFile], report: UploadReport) -> None:
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
            restore(job, local, backups, report, refused=refused)
    if run.refusal is not None:
        raise TokenRefused(
            run.refusal.message, status=run.refusal.status, server_message=run.refusal.message
        )
    if run.error is not None and run.error_status == 404:  # GET /user/<channel>: no such user
        raise ConfigError(
            f"The channel {job.options.channel} does not exist on {redact(job.options.api_url)}; "
            "nothing was uploaded; check the spelling in --channel or the `channel` setting."
        )
    if run.error is not None:
        raise NetworkError(
            f"anaconda-client could not reach {redact(job.options.api_url)} ({run.error}); "
            "nothing was uploaded; try again later."
        )


def _sort(
    job: UploadJob, local: Sequence[LocalFile], report: UploadReport
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
            report.failed.append((item.path.name, refusal(options.channel, found, item)))
        else:
            kept = keep_copy(job, item, found)
        if isinstance(kept, str):
            report.failed.append((item.path.name, kept))
        elif kept is not None:
            backups[item.path] = kept
            pending.append(
                ClientFile(item.path, item.name, item.version, item.sha256, item.md5, replace=True)
            )
    return pending, backups


def _precheck(
    api: AnacondaApi, channel: str, local: Sequence[LocalFile], workers: int
) -> dict[Path, RemoteFile | NightlyError | None]:
    """What the channel holds under each file's name; a refused token stops everything."""

    def one(item: LocalFile) -> RemoteFile | NightlyError | None:
        try:
            return api.distribution(channel, item.name, item.version, item.path.name)
        except TokenRefused:
            raise
        except NightlyError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(local)))) as pool:
        return dict(zip([item.path for item in local], pool.map(one, local), strict=True))


def _run(job: UploadJob, files: Sequence[ClientFile]) -> ClientRun:
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
        python, files, api_url=options.api_url, channel=options.channel, labels=options.labels,
        token=job.token, jobs=options.jobs, retry=options.retry, on_outcome=progress,
    )  # fmt: skip
    if run.version is None:
        raise ToolError(
            f"anaconda-client could not be used with {python} ({run.error}); {INSTALL_HINT}."
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


def _verify(
    options: UploadOptions, local: Sequence[LocalFile], report: UploadReport, say: Log
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
