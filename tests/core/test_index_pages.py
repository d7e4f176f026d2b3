"""What counts as a simple index page, and index URLs with a query string.

An index that answers 200 with some other page (a portal, a web app's catch-all) must
be an error naming the URL, never an empty channel; a `?token=` stays at the end of
every URL the client asks for and never shows in a message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nightly_sessions.cli import main
from nightly_sessions.core.errors import NetworkError
from nightly_sessions.core.http import HttpClient
from nightly_sessions.core.index import IndexClient
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.simple_index import (
    JSON_TYPE,
    SimpleIndexServer,
    serve_simple_index,
)
from nightly_sessions.testing.wheelhouse import make_wheel

QUERY_TOKEN = "PWs3cr3tQ8"

WEB_APP = (
    b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>"
    b'<a href="/">Home</a> <a href="/about">about</a> <a href="/docs/">Docs</a>'
    b"<p>Nothing to see here.</p></body></html>"
)
SINGLE_PAGE_APP = b'<!DOCTYPE html><html><body><div id="root"></div><script src="/a.js"></script>'


class _OnePage(BaseHTTPRequestHandler):
    """Answers every path with 200 and the server's `body`."""

    server: _OnePageServer

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _OnePageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, body: bytes) -> None:
        self.body = body
        super().__init__(("127.0.0.1", 0), _OnePage)


@pytest.fixture(params=[WEB_APP, SINGLE_PAGE_APP], ids=["web-page", "single-page-app"])
def web_page(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a loopback server answering every path with an ordinary HTML page."""
    server = _OnePageServer(request.param)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/t/tok-4242-x/chan/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SimpleIndexServer]:
    make_wheel(tmp_path / "wheels", "upstreamlib", "2.0.dev0")
    with serve_simple_index(tmp_path / "wheels") as server:
        yield server


# --- A page that is not an index is an error, not an empty channel ---------------------


def test_a_web_page_is_not_a_project_page(web_page: str) -> None:
    with pytest.raises(NetworkError, match="did not answer with a simple index page") as error:
        IndexClient(web_page, retries=0).files_many(["upstreamlib", "numpy"])
    message = str(error.value)
    assert "/t/***/chan/simple/" in message
    assert "tok-4242-x" not in message


def test_a_web_page_is_not_a_root_page(web_page: str) -> None:
    with pytest.raises(NetworkError, match=r"/t/\*\*\*/chan/simple/ did not answer with a simple"):
        IndexClient(web_page, retries=0).projects()


def test_plan_on_a_web_page_exits_3_naming_the_url(
    web_page: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1"\ndependencies = ["upstreamlib"]\n'
    )
    monkeypatch.setenv("NIGHTLY_INDEX_URL", web_page)
    monkeypatch.setenv("NIGHTLY_RETRIES", "0")
    assert main(["--project", str(tmp_path), "plan"]) == 3
    captured = capsys.readouterr()
    assert "/t/***/chan/simple/upstreamlib/ did not answer with a simple index page" in (
        captured.err
    )
    assert "no package of this project is on the nightly channel" not in captured.out


@pytest.mark.parametrize(
    ("body", "files"),
    [
        pytest.param(b"<html><title>Links for upstreamlib</title></html>", 0, id="title"),
        pytest.param(b'<meta name="pypi:repository-version" content="1.0">', 0, id="declared"),
        pytest.param(
            b'<a href="f/upstreamlib-1.0.zip#sha256=0">upstreamlib-1.0.zip</a>', 1, id="a"
        ),
    ],
)
def test_pages_that_show_pep_503_are_read(
    index: SimpleIndexServer, body: bytes, files: int
) -> None:
    index.pages["/simple/upstreamlib/"] = (200, body, "text/html")
    assert len(IndexClient(index.url).files("upstreamlib")) == files


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (b'{"files": []}', JSON_TYPE, "no meta.api-version"),
        (b'{"meta": {"api-version": "1.1"}, "projects": []}', JSON_TYPE, "no 'files' list"),
        (b'{"meta": {"api-version": "1.1"}, "files": []}', "application/json", "content type"),
        (b"upstreamlib-1.0.zip", "text/plain", "its content type is text/plain"),
    ],
)
def test_answers_without_a_sign_of_the_simple_api_are_errors(
    index: SimpleIndexServer, body: bytes, content_type: str, why: str
) -> None:
    index.pages["/simple/upstreamlib/"] = (200, body, content_type)
    with pytest.raises(NetworkError, match=why) as error:
        IndexClient(index.url).files("upstreamlib")
    assert "Error" not in str(error.value)  # a sentence, not an exception's name


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'<meta name="pypi:repository-version" content="2.0"><a href="a.zip">a.zip</a>',
            "text/html",
        ),
        (b'{"meta": {"api-version": "2.0"}, "files": []}', JSON_TYPE),
    ],
    ids=["html", "json"],
)
def test_a_newer_major_version_is_named_in_the_sentence(
    index: SimpleIndexServer, body: bytes, content_type: str
) -> None:
    index.pages["/simple/upstreamlib/"] = (200, body, content_type)
    with pytest.raises(NetworkError) as error:
        IndexClient(index.url).files("upstreamlib")
    assert "it speaks API version 2.0, which this version of nightly-sessions" in str(error.value)
    assert "Unsupported" not in str(error.value)


@pytest.mark.integration
def test_pypiserver_pages_stay_readable_when_empty_and_full(nightly_index: PypiServer) -> None:
    client = IndexClient(nightly_index.url)
    assert client.projects() == []  # an empty channel's root: no links, title only
    make_wheel(nightly_index.directory, "upstreamlib", "2.0.dev0")
    assert client.projects() == ["upstreamlib"]
    assert [dist.filename for dist in client.files("upstreamlib")] == [
        "upstreamlib-2.0.dev0-py3-none-any.whl"
    ]


# --- A query string stays at the end and is never shown --------------------------------


def test_a_query_string_stays_at_the_end_of_every_page_url(index: SimpleIndexServer) -> None:
    client = IndexClient(f"{index.url}/?token={QUERY_TOKEN}")
    assert [dist.version.public for dist in client.files("upstreamlib")] == ["2.0.dev0"]
    assert client.projects() == ["upstreamlib"]
    assert index.paths == [
        f"/simple/upstreamlib/?token={QUERY_TOKEN}",
        f"/simple/?token={QUERY_TOKEN}",
    ]


def test_a_query_token_is_redacted_in_an_error(index: SimpleIndexServer) -> None:
    index.faults.fail_status = 500
    index.faults.fail_next = 100
    http = HttpClient(retries=1, backoff=0)
    with pytest.raises(NetworkError) as error:
        IndexClient(f"{index.url}/?token={QUERY_TOKEN}", http=http).files("upstreamlib")
    message = str(error.value)
    assert "/simple/upstreamlib/?token=*** answered HTTP 500" in message
    assert QUERY_TOKEN not in message + repr(IndexClient(f"{index.url}?token={QUERY_TOKEN}"))


def test_a_query_value_of_any_name_is_a_secret_of_the_index_url(index: SimpleIndexServer) -> None:
    index.faults.fail_status = 502
    index.faults.fail_next = 100
    with pytest.raises(NetworkError) as error:
        IndexClient(f"{index.url}?t=Zq9-odd-name", http=HttpClient(retries=0)).files("upstreamlib")
    assert "Zq9-odd-name" not in str(error.value)
