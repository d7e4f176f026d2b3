"""A flaky index, a dead one, and 5xx answers, through real loopback servers.

The flaky index is a real simple index behind `serve_flaky_proxy`, which closes every
other connection without an answer (and lets each carry one request), so half of all
requests fail; the dead one closes them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nightly_sessions.cli import main
from nightly_sessions.core.errors import NetworkError
from nightly_sessions.core.http import HttpClient, max_total_wait
from nightly_sessions.core.index import IndexClient
from nightly_sessions.testing.simple_index import (
    FlakyProxy,
    SimpleIndexServer,
    serve_flaky_proxy,
    serve_simple_index,
)
from nightly_sessions.testing.wheelhouse import make_wheel

PACKAGES = [f"upstream-{number:02d}" for number in range(40)]


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A nightly channel with one wheel of each of 40 packages."""
    folder = tmp_path_factory.mktemp("channel")
    for name in PACKAGES:
        make_wheel(folder, name, "1.0.dev0")
    return folder


@pytest.fixture
def index(channel: Path) -> Iterator[SimpleIndexServer]:
    with serve_simple_index(channel) as server:
        yield server


@pytest.fixture
def flaky(index: SimpleIndexServer) -> Iterator[FlakyProxy]:
    """The index behind a proxy that drops every other connection."""
    with serve_flaky_proxy(index.url, drop_every=2) as proxy:
        yield proxy


@pytest.fixture
def dead(index: SimpleIndexServer) -> Iterator[FlakyProxy]:
    """The index behind a proxy that drops every connection."""
    with serve_flaky_proxy(index.url, drop_every=1) as proxy:
        yield proxy


def test_plans_of_40_packages_survive_an_index_dropping_half_its_connections(
    flaky: FlakyProxy,
) -> None:
    for _ in range(5):  # default retries; short waits keep the test quick
        client = IndexClient(flaky.url, http=HttpClient(backoff=0.02, max_connections=32))
        found = client.files_many(PACKAGES)
        assert [len(found[name]) for name in PACKAGES] == [1] * 40
    assert flaky.dropped >= 5 * 39  # every other connection was in fact dropped


def test_the_plan_command_survives_it_at_the_default_settings(
    flaky: FlakyProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dependencies = ", ".join(f'"{name}"' for name in PACKAGES)
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "0.1"\ndependencies = [{dependencies}]\n'
    )
    monkeypatch.setenv("NIGHTLY_INDEX_URL", flaky.url)
    assert main(["--project", str(tmp_path), "plan"]) == 0
    assert flaky.dropped >= 39


def test_a_dead_index_gives_up_after_retries_plus_one_attempts(dead: FlakyProxy) -> None:
    started = time.monotonic()
    with pytest.raises(NetworkError) as error:
        IndexClient(dead.url).files_many(PACKAGES)  # the default 3 retries and waits
    elapsed = time.monotonic() - started
    # No answer ever came, so no extra retry was earned: at most 4 attempts a package. The
    # proxy counts only the connections it accepted; on a loaded machine an attempt can
    # time out before that, so the count may fall short of 160, never exceed it.
    assert 40 < dead.connections <= 40 * 4
    assert elapsed < 10 * max_total_wait(3)  # loose: the waits are bounded (1.4 s)
    message = str(error.value)
    assert "failed after 4 attempts in " in message
    assert "(the connection closed without an answer); check the URL" in message
    for repr_text in ("Error", "RemoteDisconnected", "Connection aborted", "('"):
        assert repr_text not in message


class _Failing(BaseHTTPRequestHandler):
    """Answers the first `server.failures` requests with `server.answer`, then 200."""

    server: _FailingServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen += 1
            failing = self.server.seen <= self.server.failures
        status, body, content_type = self.server.answer if failing else (200, b"ok", "text/plain")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _FailingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: tuple[int, bytes, str], failures: int) -> None:
        self.answer, self.failures, self.seen = answer, failures, 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Failing)


@pytest.fixture
def failing() -> Iterator[type[_FailingServer]]:
    """Start `_FailingServer`s; each is stopped when the test ends."""
    started: list[tuple[_FailingServer, threading.Thread]] = []

    class Started(_FailingServer):
        def __init__(self, answer: tuple[int, bytes, str], failures: int) -> None:
            super().__init__(answer, failures)
            thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
            started.append((self, thread))
            thread.start()

    yield Started
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("status", [500, 501, 502, 503, 504, 505, 507, 520, 599])
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/plain"),
        (b"<html><title>Maintenance</title><a href='/'>home</a></html>", "text/html"),
        (b'{"error": "database down", "retry": false}', "application/json"),
    ],
    ids=["empty", "html", "json"],
)
def test_every_5xx_is_retried_whatever_the_body(
    failing: type[_FailingServer], status: int, body: bytes, content_type: str
) -> None:
    server = failing((status, body, content_type), failures=2)
    url = f"http://127.0.0.1:{server.server_address[1]}/simple/x/"
    response = HttpClient(retries=3, backoff=0).get(url)
    assert (response.status, response.attempts, server.seen) == (200, 3, 3)
