"""Run anaconda-client's uploader (the `_client_driver.py` script) under the Python that has it.

The client is the official anaconda-client at a pinned version: the nox session installs it
into its own environment from the lock shipped with this package (every dependency pinned,
every file checked against its hash: that environment holds the token); the command line
uses the `anaconda` found on PATH. The token reaches it only through `BINSTAR_API_TOKEN`,
and the API URL through a config folder made here (`BINSTAR_CONFIG_DIR`), so neither is
ever on a command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nightly_sessions.core import locks, runner
from nightly_sessions.core.commands import how_to_run
from nightly_sessions.core.errors import ConfigError, ToolError
from nightly_sessions.core.redact import add_secret, redact

if TYPE_CHECKING:
    from nightly_sessions.core.environment import Environment

ANACONDA_CLIENT_VERSION = "1.14.1"  # what scientific-python/upload-nightly-action pins
REQUIREMENT = f"anaconda-client=={ANACONDA_CLIENT_VERSION}"
# anaconda-client and every dependency, pinned with hashes (`nox -s lock` refreshes it;
# nightly_sessions.core.locks writes and reads it).
LOCK = Path(__file__).with_name("locks") / "anaconda-client.txt"
SITE = "nightly-sessions"  # a config "site": its url wins over any other config file
DRIVER = Path(__file__).with_name("_client_driver.py")
INSTALL_HINT = (
    f"install it with `python -m pip install --require-hashes -r {LOCK}` "
    f"(or run {how_to_run('upload')}, which installs it)"
)
REINSTALL_HINT = f"reinstall it with `python -m pip install --force-reinstall {REQUIREMENT}`"
_EXEC_LINE = re.compile(r"""^'''exec' +(?:"([^"]+)"|(\S+))""", re.MULTILINE)


@dataclass(frozen=True)
class ClientFile:
    """One file to upload, with what anaconda-client will call it on the channel."""

    path: Path
    name: str
    version: str
    sha256: str
    md5: str
    replace: bool = False


@dataclass(frozen=True)
class Retry:
    """Attempts per file, exponential backoff between them, and the timeout of each API call."""

    attempts: int = 4
    backoff: float = 2.0
    backoff_max: float = 60.0
    timeout: float = 60.0


@dataclass(frozen=True)
class FileOutcome:
    """How one file ended: uploaded, present (already there, same content), failed, not-attempted."""

    path: Path
    outcome: str
    attempts: int
    kind: str | None = None  # transient, auth, forbidden, conflict or error
    status: int | None = None
    message: str = ""


@dataclass(frozen=True)
class Refusal:
    """The API refused the token (401 or 403): the run stopped."""

    status: int
    message: str


@dataclass(frozen=True)
class ClientRun:
    """What one run of the client did."""

    version: str | None
    outcomes: dict[Path, FileOutcome]
    refusal: Refusal | None
    error: str | None  # the client could not start or reach the API at all
    warnings: str
    error_status: int | None = None  # the HTTP status behind `error`, when there was one


def install_arguments(lock: Path = LOCK) -> list[str]:
    """Installer arguments for the client from the lock, every file checked against its hash.

    The environment they fill holds the upload token, so no dependency may float to a
    version, or a file, that nobody reviewed.
    """
    return ["--require-hashes", "--requirement", str(lock)]


def install_client(env: Environment, index_url: str) -> None:
    """Install anaconda-client and its dependencies from the lock into `env`, hash-checked."""
    from nightly_sessions.core.environment import index_environment

    runner.run(
        env.install(*install_arguments()),
        what=f"install {REQUIREMENT} from {LOCK.name} (hash-checked) from {index_url}",
        env=index_environment(index_url),
    )


def locked_requirements(lock: Path = LOCK) -> list[str]:
    """The lock's pins without their hashes (`name==version ; marker`), e.g. to download them."""
    return locks.locked_requirements(lock)


def refresh_lock(uv: str | None = None, lock: Path = LOCK) -> None:
    """Resolve REQUIREMENT again from PyPI and rewrite the lock (`nox -s lock`; network)."""
    locks.compile_lock([REQUIREMENT], lock, uv=uv)


_SHELLS = frozenset({"sh", "bash", "dash", "zsh"})


def _imports_client(python: str) -> bool:
    """Whether `python` is a Python that can import anaconda-client (not a shim or a shell)."""
    try:
        result = subprocess.run(
            [python, "-c", "import binstar_client"], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def interpreter_for(anaconda: Path) -> Path:
    """The Python behind an `anaconda` script: from its shebang, else the python beside it.

    Each candidate must import anaconda-client: a pyenv or asdf shim is a shell script,
    and the python beside it is another shim that may run a Python without the client.
    """
    try:
        head = anaconda.read_bytes()[:2048].decode("utf-8", errors="replace")
    except OSError:
        head = ""
    candidates: list[str] = []
    first = head.splitlines()[0] if head else ""
    if first.startswith("#!"):
        words = first[2:].split()
        if words and Path(words[0]).name == "env" and len(words) > 1:
            if words[1] not in _SHELLS:
                candidates.append(shutil.which(words[1]) or "")
        elif words and Path(words[0]).name not in _SHELLS:
            candidates.append(words[0])
        exec_line = _EXEC_LINE.search(head)  # pip's form for long paths: /bin/sh, then exec
        if exec_line:
            candidates.append(exec_line.group(1) or exec_line.group(2))
    candidates += [str(anaconda.parent / name) for name in ("python", "python3", "python.exe")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _imports_client(candidate):
            return Path(candidate)
    raise ConfigError(
        f"Cannot find the Python with anaconda-client behind {anaconda} (a shim or a script "
        f"of another tool?); {REINSTALL_HINT}, or pass --anaconda with the path of the "
        "`anaconda` in the environment where it is installed."
    )


def find_client(anaconda: str | Path | None = None) -> Path:
    """The Python of the given `anaconda`, or of the one on PATH; ConfigError if there is none."""
    found = shutil.which(str(anaconda)) if anaconda else shutil.which("anaconda")
    if not found:
        where = f"{anaconda} does not exist" if anaconda else "`anaconda` is not on PATH"
        raise ConfigError(f"anaconda-client is needed to upload, but {where}; {INSTALL_HINT}.")
    return interpreter_for(Path(found))


def _config_folder(folder: Path, api_url: str) -> None:
    data = folder / "data"
    data.mkdir(parents=True)
    text = f"sites:\n  {SITE}:\n    url: {json.dumps(api_url)}\n"
    (data / "config.yaml").write_text(text, encoding="utf-8")


def _environment(folder: Path, token: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"BINSTAR_API_TOKEN", "ANACONDA_API_TOKEN", "BINSTAR_CONFIG_DIR"}
    }
    env.update(
        BINSTAR_API_TOKEN=token,
        BINSTAR_CONFIG_DIR=str(folder),
        TQDM_DISABLE="1",
        PYTHONIOENCODING="utf-8",
        PYTHONUNBUFFERED="1",
    )
    return env


class ClientStopped(ToolError):
    """The client's process ended with an error without saying why (a crash, a signal)."""

    def __init__(self, python: Path, returncode: int, detail: str) -> None:
        how = f"exit code {returncode}" if returncode >= 0 else f"signal {-returncode}"
        super().__init__(
            f"anaconda-client ({python}) stopped with {how}; if it happens again, {REINSTALL_HINT}.",
            detail=detail,
        )
        self.how = how


def _job(
    files: Sequence[ClientFile], *, channel: str, labels: Sequence[str], jobs: int, retry: Retry
) -> dict[str, object]:
    """What the driver reads on stdin."""
    return {
        "site": SITE, "user": channel, "labels": list(labels), "jobs": jobs,
        "attempts": retry.attempts, "backoff": retry.backoff,
        "backoff_max": retry.backoff_max, "timeout": retry.timeout,
        "files": [
            {"path": str(f.path), "name": f.name, "version": f.version, "sha256": f.sha256,
             "md5": f.md5, "basename": f.path.name, "replace": f.replace}
            for f in files
        ],
    }  # fmt: skip


def _start(python: Path, folder: Path, token: str, stderr: IO[str]) -> subprocess.Popen[str]:
    """Start the driver under `python`, from its own folder (not ours) on sys.path."""
    script = folder / "nightly_sessions_upload.py"
    shutil.copyfile(DRIVER, script)
    try:
        return subprocess.Popen(
            [str(python), str(script)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            env=_environment(folder, token), cwd=folder, text=True, encoding="utf-8",
        )  # fmt: skip
    except OSError as exc:
        raise ToolError(
            f"Could not start {python} to run anaconda-client ({exc.strerror or exc}); "
            f"check the path, or {INSTALL_HINT}."
        ) from None


def _send(stdin: IO[str], job: Mapping[str, object]) -> None:
    """Hand the job over; a driver that ended without reading it is judged by its exit code."""
    try:
        stdin.write(json.dumps(job))
        stdin.close()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            stdin.close()


def _outcome(event: Mapping[str, object], paths: Mapping[str, Path]) -> FileOutcome | None:
    path = paths.get(str(event.get("path")))
    if path is None:
        return None
    status = event.get("status")
    attempts = event.get("attempts")
    return FileOutcome(
        path=path,
        outcome=str(event.get("outcome")),
        attempts=attempts if isinstance(attempts, int) else 0,
        kind=str(event["kind"]) if event.get("kind") else None,
        status=status if isinstance(status, int) else None,
        message=redact(str(event.get("message") or "")),
    )


@dataclass
class _Events:
    """What the driver has reported so far, one JSON line at a time; other lines are ignored."""

    paths: Mapping[str, Path]
    on_outcome: Callable[[FileOutcome], None] | None
    version: str | None = None
    outcomes: dict[Path, FileOutcome] = field(default_factory=dict)
    refusal: Refusal | None = None
    error: str | None = None
    error_status: int | None = None

    def read(self, line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "start":
            self.version = str(event.get("client"))
        elif kind == "stop" and self.refusal is None:
            status = event.get("status")
            self.refusal = Refusal(
                status if isinstance(status, int) else 401, redact(str(event.get("message")))
            )
        elif kind == "error":
            self.error = redact(str(event.get("message")))
            status = event.get("status")
            self.error_status = status if isinstance(status, int) else None
        elif kind == "file" and (outcome := _outcome(event, self.paths)):
            self.outcomes[outcome.path] = outcome
            if self.on_outcome:
                self.on_outcome(outcome)


def run_client(
    python: Path,
    files: Sequence[ClientFile],
    *,
    api_url: str,
    channel: str,
    labels: Sequence[str],
    token: str,
    jobs: int = 4,
    retry: Retry = Retry(),
    on_outcome: Callable[[FileOutcome], None] | None = None,
) -> ClientRun:
    """Upload `files` with anaconda-client; each file's outcome also goes to `on_outcome` live.

    Raises ClientStopped when the process fails without an `error` event; if this call is
    interrupted (Ctrl-C, an exception in `on_outcome`), the process is killed first.
    """
    add_secret(token)
    events = _Events({str(f.path): f.path for f in files}, on_outcome)
    job = _job(files, channel=channel, labels=labels, jobs=jobs, retry=retry)
    with tempfile.TemporaryDirectory(prefix="nightly-anaconda-") as temporary:
        folder = Path(temporary)
        _config_folder(folder, api_url)
        with (folder / "stderr.txt").open("w+", encoding="utf-8", errors="replace") as stderr:
            process = _start(python, folder, token, stderr)
            assert process.stdin is not None
            assert process.stdout is not None
            with process:
                try:
                    _send(process.stdin, job)
                    for line in process.stdout:
                        events.read(line)
                except BaseException:
                    process.kill()
                    raise
            stderr.seek(0)
            warnings = redact(stderr.read())
    if process.returncode != 0 and events.error is None:
        raise ClientStopped(
            python, process.returncode, "\n".join(warnings.strip().splitlines()[-5:])
        )
    return ClientRun(
        events.version, events.outcomes, events.refusal, events.error, warnings,
        events.error_status,
    )  # fmt: skip
