"""Upload files with anaconda-client's own uploader, several at a time, retrying each file.

This file runs as a script under the interpreter that has anaconda-client installed (the
nox session's environment, or the one behind an `anaconda` on PATH), so it imports only
the standard library and `binstar_client`. It reads a job (JSON) on stdin and writes one
JSON object per line on stdout: `start`, then `file` for every file, or `stop` when the
token is refused. The token comes from `BINSTAR_API_TOKEN` and the API URL from the
config folder in `BINSTAR_CONFIG_DIR`, both set by `nightly_sessions.channel.client`.

Why not `anaconda upload a.whl b.whl ...`: that command stops at the first failing file,
cannot retry, and a process costs ~1.7 s of start-up, so one process per file is slow.
Here each worker thread drives its own `Uploader` (the class behind `anaconda upload`,
with its own HTTP session), so every file takes the same calls as with the command.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import re
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

TRANSIENT = "transient"


def _emit(lock: threading.Lock, **event: Any) -> None:
    with lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def _status(error: BaseException) -> int | None:
    args: tuple[Any, ...] = error.args
    return args[1] if len(args) > 1 and isinstance(args[1], int) else None


def _sentence(error: BaseException) -> str:
    """What went wrong, as words: an exception's repr is no message for a user."""
    import requests
    from binstar_client import errors

    if isinstance(error, errors.BinstarError):
        return str(error.args[0]) if error.args else "anaconda.org answered with an error"
    failures = requests.exceptions
    sentences = (  # most specific first: a ConnectTimeout is a ConnectionError too
        (failures.Timeout, "no answer came within the timeout"),
        (failures.ConnectionError, "the connection was refused or dropped before an answer came"),
        (failures.ChunkedEncodingError, "the answer was cut off on the way"),
        (failures.ContentDecodingError, "the answer was garbled on the way"),
        (failures.JSONDecodeError, "the answer was not the JSON anaconda.org sends"),
        (failures.RequestException, "the request could not be completed"),
    )
    for kind, sentence in sentences:
        if isinstance(error, kind):
            return sentence
    return "anaconda-client could not read an answer of the server"


def _classify(error: BaseException, transferring: bool) -> tuple[str, int | None, str]:
    """(kind, HTTP status, message): kind is auth, forbidden, conflict, transient or error."""
    import requests
    from binstar_client import errors

    status = _status(error)
    message = _sentence(error)
    if isinstance(error, errors.Unauthorized):
        status = 401
    elif isinstance(error, errors.Conflict):
        status = 409
    named = {401: "auth", 403: "forbidden", 409: "conflict"}
    if status in named:
        return named[status], status, message
    transient = (
        isinstance(error, (errors.ServerError, requests.exceptions.RequestException))
        or (status is not None and status >= 500)
        or (transferring and isinstance(error, errors.NotFound))  # e.g. a commit answering 404
    )
    return (TRANSIENT if transient else "error"), status, message


class _Driver:
    """Shared state of one run: the job, the output lock, the stop flag, every uploader."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.local = threading.local()
        self.uploaders: list[Any] = []
        self.uploader_class = _uploader_class()

    def uploader(self) -> Any:
        """This thread's Uploader: anaconda-client's, with a timeout on every API call."""
        current = getattr(self.local, "uploader", None)
        if current is None:
            arguments = argparse.Namespace(
                token=None, site=self.job["site"], user=self.job["user"],
                labels=list(self.job["labels"]), mode=None, package=None, version=None,
                package_type=None, summary=None, description=None, build_id=None,
                keep_basename=False, auto_register=True, private=False,
                force_metadata_update=False, thumbnail=None,
            )  # fmt: skip
            current = self.uploader_class(arguments=arguments)
            session = current.api.session
            # anaconda-client sets no timeout: a stalled connection would hang the job.
            session.request = functools.partial(session.request, timeout=self.job["timeout"])
            self.local.uploader = current
            with self.lock:
                self.uploaders.append(current)
        return current

    def retrying(self, action: Any, what: str) -> tuple[Any, tuple[str, int | None, str] | None]:
        """Run `action` with the job's attempts and backoff; (result, None) or (None, failure)."""
        failure: tuple[str, int | None, str] | None = None
        for attempt in range(1, self.job["attempts"] + 1):
            try:
                return action(), None
            except Exception as error:  # noqa: BLE001 - classified, then reported
                failure = _classify(error, transferring=False)
            if failure[0] != TRANSIENT or attempt == self.job["attempts"]:
                break
            self.sleep(attempt)
        assert failure is not None
        return None, (failure[0], failure[1], f"{what}: {failure[2]}")

    def sleep(self, attempt: int) -> None:
        delay = min(self.job["backoff"] * 2 ** (attempt - 1), self.job["backoff_max"])
        self.stop.wait(delay)

    def on_channel(self, item: dict[str, Any]) -> bool | None:
        """None when the channel lacks the file; else whether it is this very file.

        The API's sha256 decides, or its md5 when it gives no sha256; neither means "not".
        """
        from binstar_client import errors

        api = self.uploader().api
        try:
            found = api.distribution(
                self.job["user"], item["name"], item["version"], item["basename"]
            )
        except errors.NotFound:
            return None
        if found.get("sha256"):
            return bool(str(found["sha256"]).lower() == item["sha256"])
        return bool(found.get("md5")) and str(found["md5"]).lower() == item["md5"]

    def upload(self, item: dict[str, Any]) -> None:
        """Upload one file, retrying transient failures; emit its outcome."""
        attempt = 0
        failure: tuple[str, int | None, str] = ("error", None, "not attempted")
        while attempt < self.job["attempts"] and not self.stop.is_set():
            attempt += 1
            outcome, failure = self._attempt(item, attempt)
            if outcome:
                _emit(self.lock, event="file", path=item["path"], outcome=outcome, attempts=attempt)
                return
            if failure[0] in {"auth", "forbidden"}:
                self.stop.set()
                _emit(
                    self.lock, event="stop", kind=failure[0], status=failure[1], message=failure[2]
                )
            if failure[0] != TRANSIENT:
                break
            if attempt < self.job["attempts"]:
                self.sleep(attempt)
        outcome = "failed" if attempt else "not-attempted"
        kind, status, message = failure
        _emit(
            self.lock, event="file", path=item["path"], outcome=outcome, attempts=attempt,
            kind=kind, status=status, message=message,
        )  # fmt: skip

    def _attempt(
        self, item: dict[str, Any], attempt: int
    ) -> tuple[str | None, tuple[str, int | None, str]]:
        uploader = self.uploader()
        uploader.transferring = False
        try:
            if attempt > 1 and self.on_channel(item):  # an earlier attempt went through
                return "present", ("", None, "")
            uploader.arguments.mode = "force" if item.get("replace") else None
            uploader.upload(item["path"])
            return "uploaded", ("", None, "")
        except Exception as error:  # noqa: BLE001 - classified, then reported
            failure = _classify(error, uploader.transferring)
        if failure[0] == "conflict":
            return self._after_conflict(item, failure)
        return None, failure

    def _after_conflict(
        self, item: dict[str, Any], failure: tuple[str, int | None, str]
    ) -> tuple[str | None, tuple[str, int | None, str]]:
        """A 409: the same file is fine; a different one is refused; none means a race."""
        try:
            same = self.on_channel(item)
        except Exception as error:  # noqa: BLE001 - classified, then reported
            return None, _classify(error, transferring=False)
        if same:
            return "present", ("", None, "")
        if same is None:
            return None, (TRANSIENT, 409, failure[2])
        return None, failure


def _storage_failure(status: int, body: bytes) -> Exception:
    """The error for a storage answer other than 201, whatever its body holds.

    anaconda-client parses the body as S3's XML and fails on anything else (an HTML 503
    from a proxy, an empty 502) with a parser error that would hide the status, so the
    status decides here: 5xx is a ServerError (retried), the rest a plain BinstarError.
    """
    from binstar_client import errors

    found = re.search(rb"<Code>\s*([A-Za-z]{1,64})\s*</Code>", body)
    code = found.group(1).decode() if found else ""
    because = f" ({code})" if code else ""
    if code == "InvalidDigest":
        because = " (InvalidDigest: the file changed or was damaged on the way)"
    failure: Exception = (
        errors.ServerError(f"the file storage failed{because}", status)
        if status >= 500
        else errors.BinstarError(f"the file storage refused the file{because}", status)
    )
    return failure


def _guard_storage(timeout: float) -> None:
    """Give the storage transfer the job's timeout, and judge its answer by status.

    `Binstar.upload` posts the file to storage through `multipart_files_upload`, which
    calls `requests.post` with a 10-hour default timeout: a stalled storage connection
    would hang the job and never be retried. The timeout bounds each wait for the server
    (connecting, sending a chunk, awaiting the answer), not the whole transfer.
    """
    import binstar_client

    original = getattr(binstar_client, "multipart_files_upload", None)
    if original is None:  # another layout than the pinned version's: leave it be
        return

    def guarded(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", timeout)
        response = original(*args, **kwargs)
        if response.status_code != 201:
            raise _storage_failure(response.status_code, response.content or b"")
        return response

    binstar_client.multipart_files_upload = guarded


def _guard_api_answers() -> None:
    """Judge an API error by its status when anaconda-client cannot read its body.

    The client expects a JSON object; a JSON list or string (from a proxy, say) makes it
    fail with an AttributeError that would hide the status and never be retried.
    """
    from binstar_client import Binstar, errors

    original = Binstar._check_response

    def check(self: Any, res: Any, allowed: Any = None) -> Any:
        try:
            return original(self, res, allowed)
        except errors.BinstarError:
            raise
        except Exception:  # noqa: BLE001 - the body could not be read; the status can
            status = int(res.status_code)
            failure = errors.ServerError if status >= 500 else errors.BinstarError
            raise failure(
                f"anaconda.org answered HTTP {status} with an unreadable body", status
            ) from None

    Binstar._check_response = check


def _uploader_class() -> Any:
    """anaconda-client's Uploader, noting when the transfer (stage, storage, commit) began."""
    from binstar_client.commands import upload

    class TrackingUploader(upload.Uploader):  # type: ignore[misc]
        __slots__ = ("transferring",)

        def _upload_file(self, meta: Any) -> Any:
            self.transferring = True
            return super()._upload_file(meta)

    return TrackingUploader


def _phases(files: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """First one file per package, then one per new release, then the rest.

    Files of one package or release created at the same moment would race to create it.
    """
    first_package: dict[str, dict[str, Any]] = {}
    first_release: dict[tuple[str, str], dict[str, Any]] = {}
    for item in files:
        first_package.setdefault(item["name"].lower(), item)
        first_release.setdefault((item["name"].lower(), item["version"]), item)
    one = list(first_package.values())
    two = [item for item in first_release.values() if item not in one]
    rest = [item for item in files if item not in one and item not in two]
    return [phase for phase in (one, two, rest) if phase]


def main() -> int:
    warnings.simplefilter("ignore")
    lock = threading.Lock()
    try:
        import binstar_client
        from binstar_client import errors
        from binstar_client.commands import upload  # noqa: F401 - fail here, not in a thread
        from binstar_client.commands.upload import Uploader  # noqa: F401
    except ImportError as error:
        _emit(lock, event="error", message=f"cannot import anaconda-client ({error})")
        return 3
    job = json.load(sys.stdin)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.addFilter(lambda record: record.levelno == logging.WARNING)  # errors come as events
    handler.setFormatter(logging.Formatter("anaconda-client: %(message)s"))
    logger = logging.getLogger("binstar")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False

    _guard_storage(job["timeout"])
    _guard_api_answers()
    driver = _Driver(job)
    _emit(lock, event="start", client=binstar_client.__version__)
    driver.lock = lock

    def check() -> Any:
        first = driver.uploader()
        first.api.check_server()
        try:
            return first.username
        except errors.BinstarError as error:  # it drops the 404 of a channel that does not exist
            if isinstance(error.__cause__, errors.NotFound):
                raise errors.NotFound(*error.args[:1], 404) from error
            raise

    _, failure = driver.retrying(check, f"checking the channel {job['user']}")
    if failure is not None:
        if failure[0] in {"auth", "forbidden"}:
            _emit(lock, event="stop", kind=failure[0], status=failure[1], message=failure[2])
        else:
            _emit(lock, event="error", kind=failure[0], status=failure[1], message=failure[2])
        return 0
    with ThreadPoolExecutor(max_workers=max(1, job["jobs"])) as pool:
        for phase in _phases(job["files"]):
            list(pool.map(driver.upload, phase))
    for uploader in driver.uploaders:  # remove empty packages and releases a failure left
        try:
            uploader.cleanup()
        except Exception as error:  # noqa: BLE001 - best effort, like `anaconda upload`
            logger.warning("could not remove empty records after a failed upload: %s", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
