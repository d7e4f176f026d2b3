"""A small simple index on 127.0.0.1 that speaks HTML and JSON and fails on purpose.

pypiserver is the real thing for PEP 503 HTML. This server adds what a client's tests
need and pypiserver lacks: PEP 691 JSON chosen by the Accept header, anaconda.org-style
relative hrefs (`../../files/<version>/<file>`, `+` quoted as `%2B`), a path prefix such
as `/t/<token>/channel`, and injected faults (latency, 5xx answers, dropped connections).
It serves every file of one folder; files added later appear at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import select
import socket
import threading
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name

LOOPBACK = "127.0.0.1"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
FORMATS = ("json", "html")


@dataclass
class Faults:
    """What the server does wrong; tests change the fields while it runs."""

    latency: float = 0.0  # seconds to wait before answering each request
    fail_next: int = 0  # the next N requests are answered with `fail_status`
    fail_status: int = 503
    drop_next: int = 0  # the next N requests: the connection closes without an answer


@dataclass(frozen=True)
class _Entry:
    """One file as the index lists it, read once per change of the file."""

    path: Path
    display_name: str  # the name as written in the file name, e.g. `Scikit_Learn`
    version: str  # the version field of the file name, as written
    project: str
    sha256: str
    requires_python: str | None
    upload_time: str
    size: int

    @classmethod
    def read(cls, path: Path) -> _Entry | None:
        name, _, rest = path.name.partition("-")
        if path.name.startswith(".") or not rest:
            return None
        stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        return cls(
            path=path,
            display_name=name,
            version=rest.split("-")[0].removesuffix(".tar.gz").removesuffix(".zip"),
            project=canonicalize_name(name),
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            requires_python=_requires_python(path),
            upload_time=stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            size=path.stat().st_size,
        )


@dataclass
class SimpleIndexServer:
    """A running server; `url` is its simple index, `directory` the folder it serves."""

    directory: Path
    port: int
    prefix: str = ""
    formats: Collection[str] = FORMATS
    faults: Faults = field(default_factory=Faults)
    static: bool = False  # the folder never changes while served: list it once
    yanked: dict[str, str] = field(default_factory=dict)  # file name -> reason ("" for none)
    # Canned answers by path below the prefix, e.g. {"/simple/bad/": (200, b"{", JSON_TYPE)}.
    pages: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _paths: list[str] = field(default_factory=list, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)
    _in_flight: int = field(default=0, repr=False)
    _peak: int = field(default=0, repr=False)
    _cache: dict[str, tuple[tuple[int, int], _Entry | None]] = field(
        default_factory=dict, repr=False
    )
    _listed: list[_Entry] | None = field(default=None, repr=False)

    @property
    def root_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.prefix}"

    @property
    def url(self) -> str:
        return f"{self.root_url}/simple"

    @property
    def requests(self) -> int:
        """How many requests arrived (answered, failed or dropped)."""
        with self._lock:
            return len(self._paths)

    @property
    def paths(self) -> list[str]:
        """The paths of the requests that arrived, in order."""
        with self._lock:
            return list(self._paths)

    @property
    def peak_concurrency(self) -> int:
        """The most requests that were being handled at the same moment."""
        with self._lock:
            return self._peak

    def reset_counts(self) -> None:
        with self._lock:
            self._paths.clear()
            self._peak = self._in_flight

    def _admit(self, path: str) -> str | int | None:
        """Count a request; say whether to drop it ("drop"), fail it (a status) or answer it."""
        with self._lock:
            self._paths.append(path)
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            if self.faults.drop_next > 0:
                self.faults.drop_next -= 1
                return "drop"
            if self.faults.fail_next > 0:
                self.faults.fail_next -= 1
                return self.faults.fail_status
            return None

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _entries(self) -> list[_Entry]:
        """The files of the folder now; unchanged files are not read again.

        One stat per file and one lock per listing when nothing changed, and none for a
        `static` index after its first listing: the clients of a slow index then measure
        their own waiting, not this stand-in's work (benchmarks/bench_plan.py).
        """
        if self._listed is not None:
            return self._listed
        with os.scandir(self.directory) as scan:
            found = sorted((item.name, item.path, item.stat()) for item in scan if item.is_file())
        with self._lock:
            known = {path: self._cache.get(path) for _, path, _ in found}
        entries = []
        for _, path, info in found:
            key = (info.st_mtime_ns, info.st_size)
            cached = known[path]
            if cached is None or cached[0] != key:
                with self._lock:  # another request may have read it meanwhile
                    cached = self._cache.get(path)
                if cached is None or cached[0] != key:
                    try:
                        cached = (key, _Entry.read(Path(path)))
                    except OSError:  # removed or unreadable while we looked: not listed
                        continue
                    with self._lock:
                        self._cache[path] = cached
            if cached[1] is not None:
                entries.append(cached[1])
        if self.static:
            self._listed = entries
        return entries


def _requires_python(path: Path) -> str | None:
    """Requires-Python from a wheel's METADATA; None for other files or when absent."""
    if path.suffix != ".whl":
        return None
    with (
        contextlib.suppress(OSError, zipfile.BadZipFile, KeyError, StopIteration),
        zipfile.ZipFile(path) as zf,
    ):
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return HeaderParser().parsestr(zf.read(name).decode()).get("Requires-Python")
    return None


def _href(entry: _Entry) -> str:
    """A relative link from a project page, quoted like pypi.anaconda.org (`+` -> `%2B`)."""
    return f"../../files/{quote(entry.version, safe='')}/{quote(entry.path.name, safe='')}"


def _choose_format(accept: str | None, formats: Collection[str]) -> str:
    """Pick "json" or "html" by the q-values of an Accept header; HTML when nothing matches."""
    best: tuple[float, int, str] | None = None
    for rank, item in enumerate((accept or "").split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                with contextlib.suppress(ValueError):
                    quality = float(value)
        kinds = {JSON_TYPE: ["json"], "*/*": ["json", "html"]}.get(
            media.lower(), ["html"] if media.lower() in HTML_TYPES else []
        )
        for kind in kinds:
            if kind in formats and quality > 0 and (best is None or quality > best[0]):
                best = (quality, rank, kind)
    if best is not None:
        return best[2]
    return "html" if "html" in formats else "json"


def _root_page(server: SimpleIndexServer, kind: str) -> tuple[bytes, str]:
    names = sorted({entry.display_name for entry in server._entries()}, key=canonicalize_name)
    if kind == "json":
        data = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
        return json.dumps(data).encode(), JSON_TYPE
    links = "\n".join(f'<a href="{canonicalize_name(n)}/">{html.escape(n)}</a><br>' for n in names)
    return _html_page("Simple index", links), "text/html; charset=utf-8"


def _project_page(server: SimpleIndexServer, entries: list[_Entry], kind: str) -> tuple[bytes, str]:
    if kind == "json":
        files: list[dict[str, Any]] = []
        for entry in entries:
            item: dict[str, Any] = {
                "filename": entry.path.name,
                "url": _href(entry),
                "hashes": {"sha256": entry.sha256},
                "upload-time": entry.upload_time,
                "size": entry.size,
            }
            if entry.requires_python is not None:
                item["requires-python"] = entry.requires_python
            if entry.path.name in server.yanked:
                item["yanked"] = server.yanked[entry.path.name] or True
            files.append(item)
        data = {
            "meta": {"api-version": "1.1"},
            "name": entries[0].project,
            "files": files,
            "versions": sorted({entry.version for entry in entries}),
        }
        return json.dumps(data).encode(), JSON_TYPE
    anchors = []
    for entry in entries:
        attributes = f'href="{_href(entry)}#sha256={entry.sha256}"'
        if entry.requires_python is not None:
            attributes += f' data-requires-python="{html.escape(entry.requires_python)}"'
        if entry.path.name in server.yanked:
            attributes += f' data-yanked="{html.escape(server.yanked[entry.path.name])}"'
        anchors.append(f"<a {attributes}>{html.escape(entry.path.name)}</a><br>")
    return _html_page(f"Links for {entries[0].project}", "\n".join(anchors)), "text/html"


def _html_page(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html><head>"
        '<meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    ).encode()


class _IndexHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't stall 40 ms
    server: _IndexHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read `paths` instead of a log."""

    def do_GET(self) -> None:
        index = self.server.index
        action = index._admit(self.path)
        try:
            if index._stopping.wait(index.faults.latency):
                action = "drop"
            if action == "drop":
                self.close_connection = True
            elif isinstance(action, int):
                self._send(action, b"injected failure\n", "text/plain")
            else:
                self._route(index, unquote(urlsplit(self.path).path))
        finally:
            index._done()

    def _route(self, index: SimpleIndexServer, path: str) -> None:
        if not path.startswith(index.prefix + "/"):
            self._send(404, b"not found\n", "text/plain")
            return
        if (canned := index.pages.get(path[len(index.prefix) :])) is not None:
            self._send(*canned)
            return
        parts = path[len(index.prefix) + 1 :].split("/")
        kind = _choose_format(self.headers.get("Accept"), index.formats)
        if parts == ["simple"] or (parts[0] == "simple" and len(parts) == 2 and parts[1]):
            self._redirect(path + "/")
        elif parts == ["simple", ""]:
            self._send(200, *_root_page(index, kind))
        elif parts[0] == "simple" and len(parts) == 3 and parts[2] == "":
            self._project(index, parts[1], kind)
        elif parts[0] == "files" and len(parts) == 3:
            self._file(index, parts[1], parts[2])
        else:
            self._send(404, b"not found\n", "text/plain")

    def _project(self, index: SimpleIndexServer, name: str, kind: str) -> None:
        canonical = canonicalize_name(name)
        if name != canonical:
            self._redirect(f"{index.prefix}/simple/{canonical}/")
            return
        entries = [entry for entry in index._entries() if entry.project == canonical]
        if not entries:
            self._send(404, f"{canonical} does not exist\n".encode(), "text/plain")
            return
        self._send(200, *_project_page(index, entries, kind))

    def _file(self, index: SimpleIndexServer, version: str, filename: str) -> None:
        for entry in index._entries():
            if entry.path.name == filename and entry.version == version:
                self._send(200, entry.path.read_bytes(), "application/octet-stream")
                return
        self._send(404, b"no such file\n", "text/plain")

    def _redirect(self, location: str) -> None:
        self._send(301, b"", "text/plain", {"Location": location})

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _IndexHTTPServer(ThreadingHTTPServer):
    """Joins its handler threads on close, after cutting their connections."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 128  # many clients connect at once; a short backlog adds 1 s stalls

    def __init__(self, index: SimpleIndexServer) -> None:
        self.index = index
        self.connections: set[socket.socket] = set()
        super().__init__((LOOPBACK, 0), _IndexHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.index._lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.index._lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (or our own shutdown) is not an error worth printing."""

    def cut_connections(self) -> None:
        with self.index._lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def serve_simple_index(
    directory: Path,
    *,
    prefix: str = "",
    formats: Collection[str] = FORMATS,
    latency: float = 0.0,
    static: bool = False,
) -> Iterator[SimpleIndexServer]:
    """Serve `directory` as `http://127.0.0.1:<port><prefix>/simple` until the block ends.

    `prefix` puts the index under a path such as `/t/<token>/channel`; `formats` limits
    what the server speaks ("json", "html"); `latency` delays every answer (seconds);
    `static` reads the folder once, for a folder that does not change while served (a
    file that cannot be read then stays unlisted).
    """
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"formats must be some of {FORMATS}, not {sorted(formats)}")
    directory.mkdir(parents=True, exist_ok=True)
    index = SimpleIndexServer(directory=directory, port=0, prefix=prefix.rstrip("/"))
    index.formats = tuple(formats)
    index.faults.latency = latency
    index.static = static
    server = _IndexHTTPServer(index)
    index.port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="simple-index", daemon=True
    )
    thread.start()
    try:
        yield index
    finally:
        index._stopping.set()
        server.shutdown()
        server.cut_connections()
        server.server_close()
        thread.join()


class FlakyProxy:
    """A TCP relay to a simple index that drops every `drop_every`-th connection."""

    def __init__(self, upstream_url: str, drop_every: int) -> None:
        self.upstream_url = upstream_url
        self.drop_every = max(drop_every, 1)
        self.connections = 0  # accepted so far
        self.dropped = 0
        upstream = urlsplit(upstream_url)
        self._target = (upstream.hostname or LOOPBACK, upstream.port or 80)
        self._listener = socket.create_server((LOOPBACK, 0), backlog=128)
        self._listener.settimeout(0.05)  # accept() wakes to look at `_stop`
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The upstream index's URL, through the proxy."""
        return urlsplit(self.upstream_url)._replace(netloc=f"{LOOPBACK}:{self.port}").geturl()

    def serve(self) -> None:
        """Accept until stopped; each connection is dropped or relayed in a thread of its own."""
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self.connections += 1
                drop = self.connections % self.drop_every == 0
                self.dropped += drop
                self._sockets.add(client)
            worker = threading.Thread(target=self._relay, args=(client, drop), daemon=True)
            self._threads.append(worker)
            worker.start()

    def stop(self) -> None:
        """Stop accepting, cut every open connection and wait for the relays to end."""
        self._stop.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for worker in self._threads:
            worker.join()

    def _relay(self, client: socket.socket, drop: bool) -> None:
        with contextlib.ExitStack() as stack, contextlib.suppress(OSError):
            stack.enter_context(client)
            request = client.recv(65536)
            if drop or not request:
                return  # the request was read, and is never answered
            server = stack.enter_context(socket.create_connection(self._target, timeout=30))
            with self._lock:
                self._sockets.add(server)
            server.sendall(_closing(request))
            client.sendall(_closing(server.recv(65536)))  # the client must not reuse it
            _pump(client, server, self._stop)


@contextlib.contextmanager
def serve_flaky_proxy(upstream_url: str, *, drop_every: int = 2) -> Iterator[FlakyProxy]:
    """Relay TCP to the index at `upstream_url`, closing every `drop_every`-th connection.

    A dropped connection is closed once the request arrived, without an answer: what a
    crashing worker or an overloaded load balancer does. The others are relayed to the
    real index behind (pypiserver, say) with `Connection: close` added, so each carries
    one request and, at the default, half of all requests fail, whatever the client pools.
    """
    proxy = FlakyProxy(upstream_url, drop_every)
    acceptor = threading.Thread(target=proxy.serve, name="flaky-proxy", daemon=True)
    acceptor.start()
    try:
        yield proxy
    finally:
        proxy._stop.set()
        acceptor.join()
        proxy.stop()


def _closing(message: bytes) -> bytes:
    """An HTTP message with `Connection: close` added after its first line."""
    line, _, rest = message.partition(b"\r\n")
    return line + b"\r\nConnection: close\r\n" + rest if rest else message


def _pump(client: socket.socket, server: socket.socket, stop: threading.Event) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {client: server, server: client}
    while not stop.is_set():
        ready, _, _ = select.select(list(peers), [], [], 0.05)
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)
