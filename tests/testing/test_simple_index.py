"""The loopback simple index itself: negotiation, links, redirects, faults, clean stop."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nightly_sessions.testing.simple_index import (
    JSON_TYPE,
    SimpleIndexServer,
    _choose_format,
    serve_flaky_proxy,
    serve_simple_index,
)
from nightly_sessions.testing.wheelhouse import make_wheel

VERSION = "1.0.dev0+g1234"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SimpleIndexServer]:
    make_wheel(tmp_path, "Demo_Pkg", VERSION, requires_python=">=3.10")
    with serve_simple_index(tmp_path, prefix="/t/tok/chan") as running:
        yield running


def _get(
    server: SimpleIndexServer, path: str, accept: str | None = None
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", path, headers={"Accept": accept} if accept else {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _body(server: SimpleIndexServer, path: str, accept: str | None = None) -> tuple[str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", path, headers={"Accept": accept} if accept else {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200
    return response.headers["Content-Type"], body


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "html"),
        ("text/html", "html"),
        (JSON_TYPE, "json"),
        (f"{JSON_TYPE}, text/html;q=0.01", "json"),
        (f"{JSON_TYPE};q=0.1, text/html", "html"),
        ("*/*", "json"),
        ("image/png", "html"),
        (f"{JSON_TYPE};q=0", "html"),
        ("application/vnd.pypi.simple.v1+html;q=0.5, */*;q=0.1", "html"),
    ],
)
def test_choose_format(accept: str | None, expected: str) -> None:
    assert _choose_format(accept, ("json", "html")) == expected


def test_choose_format_respects_what_the_server_speaks() -> None:
    assert _choose_format(JSON_TYPE, ("html",)) == "html"
    assert _choose_format("text/html", ("json",)) == "json"


def test_project_page_json(server: SimpleIndexServer, tmp_path: Path) -> None:
    content_type, body = _body(server, "/t/tok/chan/simple/demo-pkg/", JSON_TYPE)
    assert content_type == JSON_TYPE
    page = json.loads(body)
    assert page["name"] == "demo-pkg"
    (entry,) = page["files"]
    wheel = tmp_path / f"demo_pkg-{VERSION}-py3-none-any.whl"
    assert entry["filename"] == wheel.name
    assert entry["url"] == "../../files/1.0.dev0%2Bg1234/demo_pkg-1.0.dev0%2Bg1234-py3-none-any.whl"
    assert entry["hashes"] == {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}
    assert entry["requires-python"] == ">=3.10"
    assert entry["upload-time"].endswith("Z")


def test_project_page_html(server: SimpleIndexServer) -> None:
    content_type, body = _body(server, "/t/tok/chan/simple/demo-pkg/", "text/html")
    assert content_type == "text/html"
    assert (
        b'href="../../files/1.0.dev0%2Bg1234/demo_pkg-1.0.dev0%2Bg1234-py3-none-any.whl#sha256='
        in body
    )
    assert b'data-requires-python="&gt;=3.10"' in body


def test_root_page(server: SimpleIndexServer) -> None:
    _, body = _body(server, "/t/tok/chan/simple/", JSON_TYPE)
    assert json.loads(body)["projects"] == [{"name": "demo_pkg"}]
    _, html = _body(server, "/t/tok/chan/simple/")
    assert b'<a href="demo-pkg/">demo_pkg</a>' in html


def test_download_matches_the_file(server: SimpleIndexServer, tmp_path: Path) -> None:
    wheel = tmp_path / f"demo_pkg-{VERSION}-py3-none-any.whl"
    _, body = _body(
        server, "/t/tok/chan/files/1.0.dev0%2Bg1234/demo_pkg-1.0.dev0%2Bg1234-py3-none-any.whl"
    )
    assert body == wheel.read_bytes()
    assert (
        _get(server, "/t/tok/chan/files/9.9/demo_pkg-1.0.dev0%2Bg1234-py3-none-any.whl").status
        == 404
    )


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/t/tok/chan/simple", "/t/tok/chan/simple/"),
        ("/t/tok/chan/simple/demo-pkg", "/t/tok/chan/simple/demo-pkg/"),
        ("/t/tok/chan/simple/Demo_Pkg/", "/t/tok/chan/simple/demo-pkg/"),
    ],
)
def test_redirects(server: SimpleIndexServer, path: str, location: str) -> None:
    response = _get(server, path)
    assert (response.status, response.headers["Location"]) == (301, location)


@pytest.mark.parametrize(
    "path", ["/simple/", "/t/other/chan/simple/", "/t/tok/chan/simple/absent/", "/t/tok/chan/x"]
)
def test_not_found(server: SimpleIndexServer, path: str) -> None:
    assert _get(server, path).status == 404


def test_files_added_later_appear(server: SimpleIndexServer) -> None:
    make_wheel(server.directory, "late", "2.0")
    _, body = _body(server, "/t/tok/chan/simple/", JSON_TYPE)
    assert {"name": "late"} in json.loads(body)["projects"]


def test_files_replaced_in_place_are_read_again(server: SimpleIndexServer) -> None:
    wheel = next(server.directory.glob("*.whl"))
    _, before = _body(server, "/t/tok/chan/simple/demo-pkg/", JSON_TYPE)
    wheel.write_bytes(wheel.read_bytes() + b"\0")  # same name, new size and hash
    _, after = _body(server, "/t/tok/chan/simple/demo-pkg/", JSON_TYPE)
    (old,), (new,) = json.loads(before)["files"], json.loads(after)["files"]
    assert new["size"] == old["size"] + 1
    assert new["hashes"] != old["hashes"]


def test_a_static_index_lists_its_folder_once(tmp_path: Path) -> None:
    make_wheel(tmp_path, "early", "1.0")
    with serve_simple_index(tmp_path, static=True) as running:
        _, first = _body(running, "/simple/", JSON_TYPE)
        make_wheel(tmp_path, "late", "2.0")
        _, second = _body(running, "/simple/", JSON_TYPE)
    assert first == second
    assert json.loads(second)["projects"] == [{"name": "early"}]


def test_faults_and_counters(server: SimpleIndexServer) -> None:
    server.faults.fail_next = 1
    server.faults.fail_status = 500
    assert _get(server, "/t/tok/chan/simple/").status == 500
    assert _get(server, "/t/tok/chan/simple/").status == 200
    server.faults.drop_next = 1
    with pytest.raises(http.client.RemoteDisconnected):
        _get(server, "/t/tok/chan/simple/")
    assert server.requests == 3
    assert server.paths == ["/t/tok/chan/simple/"] * 3
    server.reset_counts()
    assert server.requests == 0


def test_canned_pages(server: SimpleIndexServer) -> None:
    server.pages["/simple/demo-pkg/"] = (418, b"teapot", "text/plain")
    assert _get(server, "/t/tok/chan/simple/demo-pkg/").status == 418


def test_stops_with_a_slow_request_and_an_idle_connection_open(tmp_path: Path) -> None:
    before = threading.active_count()
    with serve_simple_index(tmp_path, latency=30) as slow:
        idle = http.client.HTTPConnection("127.0.0.1", slow.port, timeout=60)
        idle.connect()
        waiting = http.client.HTTPConnection("127.0.0.1", slow.port, timeout=60)
        waiting.request("GET", "/simple/")
        errors: list[BaseException] = []

        def read() -> None:
            try:
                waiting.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + 10
        while slow.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slow.requests == 1
    reader.join(timeout=5)
    idle.close()
    waiting.close()
    assert not reader.is_alive()
    assert errors  # the slow request was cut, not answered after 30 s
    assert threading.active_count() == before


def test_bad_formats(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="formats must be some of"),
        serve_simple_index(tmp_path, formats=("xml",)),
    ):
        pass


def test_flaky_proxy_drops_every_other_connection_and_relays_the_rest(
    server: SimpleIndexServer,
) -> None:
    with serve_flaky_proxy(server.url, drop_every=2) as proxy:
        port = proxy.port
        outcomes = []
        for _ in range(4):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/t/tok/chan/simple/demo-pkg/")
                outcomes.append(connection.getresponse().status)
            except (http.client.RemoteDisconnected, ConnectionError):
                outcomes.append(0)
            finally:
                connection.close()
        assert outcomes == [200, 0, 200, 0]
        assert (proxy.connections, proxy.dropped) == (4, 2)
        assert proxy.url == f"http://127.0.0.1:{port}/t/tok/chan/simple"
    assert server.requests == 2  # the dropped ones never reached the index
