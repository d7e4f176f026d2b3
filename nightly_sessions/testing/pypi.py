"""A real pypiserver process on 127.0.0.1, serving one folder as a simple index."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Ask the kernel for a free loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll `url` until it answers (any HTTP status), or raise RuntimeError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"The server for {url} exited with code {process.returncode}.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"The server for {url} did not answer within {timeout:.0f} s.")


@dataclass(frozen=True)
class PypiServer:
    """A running pypiserver; `url` is its simple index, `directory` the folder it serves."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/simple"

    @property
    def root_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"


@contextlib.contextmanager
def serve_directory(directory: Path, *, log: Path | None = None) -> Iterator[PypiServer]:
    """Serve `directory` with pypiserver until the block ends; files added later appear at once."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        sys.executable, "-m", "pypiserver", "run",
        "--host", LOOPBACK, "--port", str(port),
        "--backend", "simple-dir", "--disable-fallback",
        "--authenticate", ".", "--passwords", ".",
        str(directory),
    ]  # fmt: skip
    output = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        server = PypiServer(directory=directory, port=port)
        wait_until_up(f"{server.root_url}/health", process=process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log and not isinstance(output, int):
            output.close()
