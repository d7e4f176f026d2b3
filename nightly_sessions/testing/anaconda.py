"""A loopback stand-in for anaconda.org: the API that anaconda-client speaks, and the channel's
simple index that pip reads, with faults injected per call.

It answers the calls listed in `reference/anaconda-org-api.md` (the `anaconda upload` sequence
`HEAD /`, `GET /user`, `GET /dist`, package and release creation, `POST /stage`, the
multipart `POST` to the storage URL, `POST /commit`; the deletes of `anaconda remove`; the
read-only calls of a cleanup job; `GET /authentication`, which describes the caller's token
with its `expires` and `scopes`, and `GET /user`, its account) and keeps what was uploaded in memory, so a test sees
exactly what the channel holds. The real anaconda-client talks to it when its config file
says `url: <server.url>` (`server.client_environment(folder)` writes one).

Faults are injected by call name (see `CALLS`), optionally only for paths holding a
substring: an HTTP error status with a JSON `error` (401 "Authentication token has
expired", 403, 404, 500; S3-style XML for the storage call), what a proxy in front of
the server sends instead (an HTML 503 page, an empty 502, a plain-text 500), a dropped
connection, a call that takes effect but whose answer is lost, a slow answer, or a body
of your choosing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name

LOOPBACK = "127.0.0.1"
DEFAULT_OWNER = "scientific-python-nightly-wheels"
EXPIRED = "Authentication token has expired"
# The scopes SPEC 4 asks an upload token to have, as anaconda.org names them.
UPLOAD_SCOPES = ("pypi:upload", "api:read", "api:write")
ONE_YEAR = timedelta(days=365)  # how long anaconda.org tokens last by default

# Every call the server knows, by the name faults use.
CALLS = (
    "check", "whoami", "user", "packages", "package", "package-create", "package-delete",
    "release", "release-create", "release-delete", "dist", "dist-delete", "stage", "storage",
    "commit", "download", "file", "simple", "authentication",
)  # fmt: skip


def format_time(moment: datetime) -> str:
    """An upload time the way anaconda.org writes it: `2015-04-02 22:32:31.253000+00:00`."""
    return moment.astimezone(timezone.utc).isoformat(sep=" ", timespec="microseconds")


@dataclass(frozen=True)
class ApiFault:
    """What to do instead of answering: fail with `status`, drop, wait, or send `body`."""

    kind: str  # "status", "drop", "lost", "slow" or "body"
    status: int = 500
    message: str = "Internal Server Error (injected)"
    delay: float = 0.0
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def error(cls, status: int = 500, message: str | None = None) -> ApiFault:
        return cls("status", status, message or f"injected HTTP {status}")

    @classmethod
    def expired(cls) -> ApiFault:
        return cls("status", 401, EXPIRED)

    @classmethod
    def drop(cls) -> ApiFault:
        """Close the connection without an answer."""
        return cls("drop")

    @classmethod
    def lost(cls) -> ApiFault:
        """Do what was asked, then close the connection: the answer is lost on the way."""
        return cls("lost")

    @classmethod
    def slow(cls, seconds: float) -> ApiFault:
        """Answer normally, `seconds` late."""
        return cls("slow", delay=seconds)

    @classmethod
    def answer(
        cls, body: bytes | str, status: int = 200, content_type: str = "application/json"
    ) -> ApiFault:
        """Answer with this body (for unreadable or surprising data)."""
        data = body.encode() if isinstance(body, str) else body
        return cls("body", status, body=data, content_type=content_type)

    @classmethod
    def html(cls, status: int = 503) -> ApiFault:
        """An HTML error page, as a proxy or load balancer in front of a server sends."""
        page = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        return cls.answer(page, status, "text/html")

    @classmethod
    def empty(cls, status: int = 502) -> ApiFault:
        """An error status with an empty body."""
        return cls.answer(b"", status, "text/plain")

    @classmethod
    def text(cls, status: int = 500, body: str = "upstream failed: not XML, not JSON") -> ApiFault:
        """An error status with a plain-text body (neither the API's JSON nor S3's XML)."""
        return cls.answer(body, status, "text/plain")


@dataclass
class _Injection:
    call: str
    fault: ApiFault
    times: int | None  # None: every time
    match: str | None


@dataclass(frozen=True)
class ApiCall:
    """One request as the server saw it."""

    method: str
    path: str
    call: str
    status: int  # 0 when the connection was dropped
    token: str | None


@dataclass
class StoredFile:
    """One file on the channel."""

    owner: str
    package: str
    version: str
    basename: str
    data: bytes = field(repr=False)
    upload_time: str
    labels: tuple[str, ...] = ("main",)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    dist_id: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()  # noqa: S324 - what the API reports

    def to_json(self) -> dict[str, Any]:
        return {
            "basename": self.basename,
            "version": self.version,
            "full_name": f"{self.owner}/{self.package}/{self.version}/{self.basename}",
            "distribution_type": "pypi",
            "size": len(self.data),
            "md5": self.md5,
            "sha256": self.sha256,
            "upload_time": self.upload_time,
            "labels": list(self.labels),
            "attrs": dict(self.attrs),
            "id": self.dist_id,
        }


@dataclass
class _Release:
    version: str
    files: dict[str, StoredFile] = field(default_factory=dict)


@dataclass
class _Package:
    owner: str
    name: str
    summary: str | None
    releases: dict[str, _Release] = field(default_factory=dict)  # oldest first


@dataclass
class _Staged:
    owner: str
    package: str
    version: str
    basename: str
    sha256: str
    labels: tuple[str, ...]
    attrs: Mapping[str, Any]
    data: bytes | None = None


@dataclass(frozen=True)
class _Token:
    login: str
    owners: frozenset[str] | None  # None: may write anywhere
    expired: bool
    expires: datetime | str | None = None  # None: never; a string is sent as it is
    scopes: tuple[str, ...] = UPLOAD_SCOPES
    name: str = "nightly-uploads"

    def to_json(self, token_id: int) -> dict[str, Any]:
        """The token as `GET /authentication` describes it."""
        expires = self.expires
        return {
            "id": f"{token_id:024x}",
            "application": self.name,
            "expires": expires.isoformat() if isinstance(expires, datetime) else expires,
            "scopes": list(self.scopes),
            "remote_addr": LOOPBACK,
            "hostname": "stand-in",
        }


class ApiError(Exception):
    """An answer with an error status and a JSON `error` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class AnacondaServer:
    """A running server: `url` is the API root, `simple_url(owner)` a channel's simple index."""

    port: int = 0
    latency: float = 0.0  # seconds added to every answer
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _owners: set[str] = field(default_factory=lambda: {DEFAULT_OWNER}, repr=False)
    _tokens: dict[str, _Token] = field(default_factory=dict, repr=False)
    _packages: dict[tuple[str, str], _Package] = field(default_factory=dict, repr=False)
    _staged: dict[str, _Staged] = field(default_factory=dict, repr=False)
    _injections: list[_Injection] = field(default_factory=list, repr=False)
    _calls: list[ApiCall] = field(default_factory=list, repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def simple_url(self, owner: str = DEFAULT_OWNER, label: str = "main") -> str:
        """The channel's simple index, like `https://pypi.anaconda.org/<owner>/simple`."""
        middle = "" if label == "main" else f"/label/{quote(label, safe='')}"
        return f"{self.url}/{owner}{middle}/simple"

    # Setting the scene.

    def add_owner(self, owner: str) -> None:
        """Make a user or organisation exist."""
        with self._lock:
            self._owners.add(owner)

    def add_token(
        self,
        token: str,
        *,
        login: str = "uploader",
        owners: tuple[str, ...] | None = None,
        expired: bool = False,
        expires: datetime | timedelta | str | None = ONE_YEAR,
        scopes: tuple[str, ...] = UPLOAD_SCOPES,
        name: str = "nightly-uploads",
    ) -> None:
        """Accept `token` (for writes to `owners`, or anywhere); an expired one answers 401.

        `expires` is when it expires: a moment, a time from now (a year by default, as on
        anaconda.org; a moment already past answers 401 as `expired` does), None for never,
        or a string `GET /authentication` sends as it is. `scopes` and `name` are what that
        call describes.
        """
        moment = self.clock() + expires if isinstance(expires, timedelta) else expires
        record = _Token(
            login, frozenset(owners) if owners else None, expired, moment, tuple(scopes), name
        )
        with self._lock:
            self._owners.add(login)
            self._tokens[token] = record

    def add_file(
        self,
        owner: str,
        package: str,
        version: str,
        basename: str,
        data: bytes = b"",
        *,
        upload_time: datetime | str | None = None,
        labels: tuple[str, ...] = ("main",),
    ) -> StoredFile:
        """Put a file on the channel, as if uploaded at `upload_time` (any string is kept as is)."""
        moment = upload_time if upload_time is not None else self.clock()
        stamp = moment if isinstance(moment, str) else format_time(moment)
        with self._lock:
            self._owners.add(owner)
            record = self._packages.setdefault(
                (owner, package.lower()), _Package(owner, package, "seeded")
            )
            release = record.releases.setdefault(version, _Release(version))
            stored = StoredFile(
                owner, record.name, version, basename, data, stamp, labels, {}, self._new_id()
            )
            release.files[basename] = stored
            return stored

    def inject(
        self, call: str, fault: ApiFault, *, times: int | None = 1, match: str | None = None
    ) -> None:
        """Answer the next `times` calls named `call` (whose path holds `match`) with `fault`."""
        if call not in CALLS:
            raise ValueError(f"unknown call {call!r}; known calls: {', '.join(CALLS)}")
        with self._lock:
            self._injections.append(_Injection(call, fault, times, match))

    def clear_faults(self) -> None:
        with self._lock:
            self._injections.clear()

    # Looking at the result.

    def files(self, owner: str = DEFAULT_OWNER) -> dict[str, StoredFile]:
        """Every file `owner` holds, by basename."""
        with self._lock:
            return {
                name: stored
                for (who, _), package in sorted(self._packages.items())
                if who == owner
                for release in package.releases.values()
                for name, stored in release.files.items()
            }

    def versions(self, owner: str, package: str) -> list[str]:
        """The package's releases, oldest first; [] when the package does not exist."""
        with self._lock:
            record = self._packages.get((owner, package.lower()))
            return list(record.releases) if record else []

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def count(self, call: str) -> int:
        """How many requests named `call` arrived."""
        return sum(1 for item in self.calls if item.call == call)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def client_environment(self, folder: Path) -> dict[str, str]:
        """Write an anaconda-client config pointing at this server; return the variables to set."""
        data = folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "config.yaml").write_text(f"url: {self.url}\nssl_verify: false\n", encoding="utf-8")
        return {"BINSTAR_CONFIG_DIR": str(folder)}

    # Internals (called with or without the lock as noted).

    def _new_id(self) -> str:
        return f"{next(self._ids):08x}"

    def _fault_for(self, call: str, path: str) -> ApiFault | None:
        with self._lock:
            for injection in self._injections:
                if injection.call != call or (injection.match and injection.match not in path):
                    continue
                if injection.times is not None:
                    if injection.times <= 0:
                        continue
                    injection.times -= 1
                return injection.fault
        return None

    def _record(self, method: str, path: str, call: str, status: int, token: str | None) -> None:
        with self._lock:
            self._calls.append(ApiCall(method, path, call, status, token))


# The API, one function per call. Each takes the server, the path segments and the request,
# and returns (status, JSON) or raises ApiError. They run under the server's lock.


@dataclass(frozen=True)
class _Request:
    method: str
    segments: list[str]
    token: str | None
    body: bytes
    content_type: str


def _token(server: AnacondaServer, request: _Request) -> _Token | None:
    """The caller's token record; 401 for an unknown or expired token."""
    if request.token is None:
        return None
    record = server._tokens.get(request.token)
    if record is None:
        raise ApiError(401, "Invalid token")
    past = isinstance(record.expires, datetime) and record.expires <= server.clock()
    if record.expired or past:
        raise ApiError(401, EXPIRED)
    return record


def _writer(server: AnacondaServer, request: _Request, owner: str) -> None:
    """Writes need a valid token that may write to `owner`."""
    record = _token(server, request)
    if record is None:
        raise ApiError(401, "Authentication required")
    _owner(server, owner)
    if record.owners is not None and owner not in record.owners:
        raise ApiError(403, f"{record.login} may not write to {owner}")


def _owner(server: AnacondaServer, owner: str) -> None:
    if owner not in server._owners:
        raise ApiError(404, f'User "{owner}" does not exist')


def _package(server: AnacondaServer, owner: str, name: str) -> _Package:
    record = server._packages.get((owner, name.lower()))
    if record is None:
        raise ApiError(404, f"Package {owner}/{name} does not exist")
    return record


def _release(server: AnacondaServer, owner: str, name: str, version: str) -> _Release:
    release = _package(server, owner, name).releases.get(version)
    if release is None:
        raise ApiError(404, f"Release {owner}/{name}/{version} does not exist")
    return release


def _body(request: _Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "The body is not JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body is not a JSON object")
    return data


def _package_json(record: _Package) -> dict[str, Any]:
    files = [f.to_json() for r in record.releases.values() for f in r.files.values()]
    return {
        "name": record.name,
        "owner": {"login": record.owner},
        "summary": record.summary,
        "package_types": ["pypi"],
        "versions": list(record.releases),
        "latest_version": next(reversed(record.releases), None),
        "releases": [
            {"version": r.version, "distributions": list(r.files)} for r in record.releases.values()
        ],
        "files": files,
    }


def _release_json(record: _Package, release: _Release) -> dict[str, Any]:
    return {
        "package": record.name,
        "version": release.version,
        "distributions": [f.to_json() for f in release.files.values()],
    }


def _api(server: AnacondaServer, call: str, request: _Request) -> tuple[int, Any]:
    """Answer one API call (the lock is held)."""
    if call == "check":  # answers whatever the token, so the client goes on to GET /user
        return 200, {"ok": True}
    caller = _token(server, request)
    if call == "whoami":
        if caller is None:
            raise ApiError(401, "Authentication required")
        return 200, {"login": caller.login}
    if call == "authentication":  # the caller's own token, as anaconda-client's `auth --info`
        if caller is None or request.token is None:
            raise ApiError(401, "Authentication required")
        return 200, caller.to_json(list(server._tokens).index(request.token) + 1)
    where = request.segments[1:]
    _owner(server, where[0])
    handlers: dict[str, Callable[[AnacondaServer, str, _Request, list[str]], tuple[int, Any]]] = {
        "user": lambda *_: (200, {"login": where[0]}),
        "packages": _packages_call,
        "package": _package_call,
        "release": _release_call,
        "dist": _dist_call,
        "stage": _stage,
        "commit": _commit,
    }
    return handlers[call.split("-", maxsplit=1)[0]](server, call, request, where)


def _packages_call(
    server: AnacondaServer, call: str, request: _Request, where: list[str]
) -> tuple[int, Any]:
    del call, request
    owned = sorted((key, record) for key, record in server._packages.items() if key[0] == where[0])
    return 200, [_package_json(record) for _, record in owned]


def _package_call(
    server: AnacondaServer, call: str, request: _Request, where: list[str]
) -> tuple[int, Any]:
    owner, name = where
    if call == "package":
        return 200, _package_json(_package(server, owner, name))
    _writer(server, request, owner)
    if call == "package-create":
        if (owner, name.lower()) in server._packages:
            raise ApiError(409, f"Package {owner}/{name} already exists")
        attrs = _body(request).get("public_attrs") or {}
        summary = attrs.get("summary") if isinstance(attrs, dict) else None
        if not summary:
            raise ApiError(400, "A package needs a summary")
        record = _Package(owner, name, str(summary))
        server._packages[(owner, name.lower())] = record
        return 200, _package_json(record)
    _package(server, owner, name)
    del server._packages[(owner, name.lower())]
    return 201, {}


def _release_call(
    server: AnacondaServer, call: str, request: _Request, where: list[str]
) -> tuple[int, Any]:
    owner, name, version = where
    if call == "release":
        record = _package(server, owner, name)
        return 200, _release_json(record, _release(server, owner, name, version))
    _writer(server, request, owner)
    record = _package(server, owner, name)
    if call == "release-create":
        if version in record.releases:
            raise ApiError(409, f"Release {owner}/{name}/{version} already exists")
        record.releases[version] = _Release(version)
        return 200, _release_json(record, record.releases[version])
    _release(server, owner, name, version)
    del record.releases[version]
    return 201, {}


def _dist_call(
    server: AnacondaServer, call: str, request: _Request, where: list[str]
) -> tuple[int, Any]:
    owner, name, version, basename = where
    if call == "dist-delete":
        _writer(server, request, owner)
    release = _release(server, owner, name, version)
    stored = release.files.get(basename)
    if stored is None:
        raise ApiError(404, f"File {basename} does not exist")
    if call == "dist-delete":
        del release.files[basename]
        return 200, {}
    return 200, stored.to_json()


def _stage(
    server: AnacondaServer, call: str, request: _Request, where: list[str]
) -> tuple[int, Any]:
    del call
    owner, name, version, basename = where
    _writer(server, request, owner)
    release = _release(server, owner, name, version)
    if basename in release.files:
        raise ApiError(409, f"File {basename} already exists")
    body = _body(request)
    sha256 = body.get("sha256")
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise ApiError(400, "stage needs the file's sha256")
    labels = body.get("channels") or ["main"]
    dist_id = server._new_id()
    attrs = body.get("attrs")
    server._staged[dist_id] = _Staged(
        owner, _package(server, owner, name).name, version, basename, sha256,
        tuple(str(label) for label in labels), attrs if isinstance(attrs, dict) else {},
    )  # fmt: skip
    form = {"key": f"{owner}/{name}/{version}/{basename}", "signature": dist_id}
    url = f"{server.url}/storage/{dist_id}"
    return 200, {"post_url": url, "form_data": form, "dist_id": dist_id}


def _commit(
    server: AnacondaServer, call: str, request: _Request, where: list[str]
) -> tuple[int, Any]:
    del call
    owner, name, version, basename = where
    _writer(server, request, owner)
    dist_id = _body(request).get("dist_id")
    staged = server._staged.get(str(dist_id))
    if staged is None or (staged.owner, staged.version, staged.basename) != (
        owner,
        version,
        basename,
    ):
        raise ApiError(404, "No staged upload with this dist_id")
    if staged.data is None:
        raise ApiError(400, "The file never reached storage")
    if hashlib.sha256(staged.data).hexdigest() != staged.sha256:
        raise ApiError(400, "The stored file does not match the staged sha256")
    release = _release(server, owner, name, version)
    if basename in release.files:
        raise ApiError(409, f"File {basename} already exists")
    release.files[basename] = StoredFile(
        owner, staged.package, version, basename, staged.data,
        format_time(server.clock()), staged.labels, staged.attrs, str(dist_id),
    )  # fmt: skip
    del server._staged[str(dist_id)]
    return 200, {"url": f"https://anaconda.org/{owner}/{name}"}


def _multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    marker = "boundary="
    if marker not in content_type:
        raise ValueError("no boundary")
    boundary = (
        content_type.split(marker, 1)[1].split(";", maxsplit=1)[0].strip().strip('"').encode()
    )
    fields: dict[str, bytes] = {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("content-disposition:") and 'name="' in line:
                name = line.split('name="', 1)[1].split('"', 1)[0]
                fields[name] = data.removesuffix(b"\r\n")
    return fields


def _storage(server: AnacondaServer, dist_id: str, request: _Request) -> tuple[int, bytes]:
    """The S3-style form POST: 201, or an XML error with a `<Code>`."""

    def xml(code: str) -> bytes:
        return _xml_error(code)[0]

    staged = server._staged.get(dist_id)
    try:
        fields = _multipart(request.body, request.content_type)
    except ValueError:
        return 400, xml("MalformedPOSTRequest")
    if staged is None or fields.get("signature", b"").decode() != dist_id:
        return 403, xml("AccessDenied")
    data = fields.get("file")
    if data is None:
        return 400, xml("MissingFile")
    expected = fields.get("Content-MD5", b"").decode()
    if expected and base64.b64encode(hashlib.md5(data).digest()).decode() != expected:  # noqa: S324
        return 400, xml("InvalidDigest")
    staged.data = data
    return 201, b"<PostResponse></PostResponse>"


# The simple index (pypi.anaconda.org): /<owner>[/label/<label>]/simple/<name>/


def _simple(server: AnacondaServer, segments: list[str]) -> tuple[int, bytes, str]:
    owner, rest = segments[0], segments[1:]
    label = "main"
    if rest[:1] == ["label"] and len(rest) >= 3:
        label, rest = rest[1], rest[2:]
    rest = rest[1:]  # drop "simple"
    files = [
        f
        for (who, _), p in sorted(server._packages.items())
        if who == owner
        for r in p.releases.values()
        for f in r.files.values()
        if label in f.labels
    ]
    if not rest or rest == [""]:
        names = sorted({canonicalize_name(f.package) for f in files})
        links = "\n".join(f'<a href="{n}/">{n}</a><br>' for n in names)
        return 200, _page("Simple index", links), "text/html"
    project = canonicalize_name(rest[0])
    mine = [f for f in files if canonicalize_name(f.package) == project]
    if len(rest) == 3:  # <name>/<version>/<basename>: the file itself
        for stored in mine:
            if (stored.version, stored.basename) == (rest[1], rest[2]):
                return 200, stored.data, "application/octet-stream"
        return 404, b"no such file\n", "text/plain"
    if not mine:
        return 404, f"{project} does not exist\n".encode(), "text/plain"
    links = "\n".join(
        f'<a href="{quote(f.version, safe="")}/{quote(f.basename, safe="")}">'
        f"{html.escape(f.basename)}</a><br>"
        for f in mine
    )
    return 200, _page(f"Links for {project}", links), "text/html"


def _page(title: str, body: str) -> bytes:
    return (
        f"<!DOCTYPE html>\n<html><head><title>{html.escape(title)}</title></head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    ).encode()


_ROUTES: dict[tuple[str, str, int], str] = {
    ("GET", "user", 1): "whoami",
    ("GET", "user", 2): "user",
    ("GET", "packages", 2): "packages",
    ("GET", "package", 3): "package",
    ("POST", "package", 3): "package-create",
    ("DELETE", "package", 3): "package-delete",
    ("GET", "release", 4): "release",
    ("POST", "release", 4): "release-create",
    ("DELETE", "release", 4): "release-delete",
    ("GET", "dist", 5): "dist",
    ("DELETE", "dist", 5): "dist-delete",
    ("POST", "stage", 5): "stage",
    ("POST", "commit", 5): "commit",
    ("POST", "storage", 2): "storage",
    ("GET", "download", 5): "download",
    ("GET", "files", 2): "file",
    ("GET", "authentication", 1): "authentication",
}


def _call_name(method: str, segments: list[str]) -> str | None:
    if method == "HEAD" and segments in ([], [""]):
        return "check"
    if not segments:
        return None
    name = _ROUTES.get((method, segments[0], len(segments)))
    if name is None and method == "GET" and len(segments) >= 2 and "simple" in segments[1:4]:
        return "simple"
    return name


class _AnacondaHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _AnacondaHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read `calls` instead of a log."""

    def do_HEAD(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        segments = [unquote(part) for part in path.strip("/").split("/")] if path != "/" else []
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization") or ""
        token = auth.split(" ", 1)[1] if auth.lower().startswith("token ") else None
        call = _call_name(self.command, segments) or "unknown"
        if state._stopping.wait(state.latency):
            self._drop(call, path, token)
            return
        fault = state._fault_for(call, unquote(path))
        if fault is not None and fault.kind == "slow" and state._stopping.wait(fault.delay):
            self._drop(call, path, token)
            return
        if fault is not None and fault.kind == "drop":
            self._drop(call, path, token)
            return
        if fault is not None and fault.kind in {"status", "body"}:
            payload, kind = fault.body, fault.content_type
            if fault.kind == "status" and call == "storage":  # storage speaks S3's XML
                payload, kind = _xml_error("InternalError" if fault.status >= 500 else "Refused")
            elif fault.kind == "status":
                payload = _error_json(fault.message)
            self._send(fault.status, payload, kind, call=call, path=path, token=token)
            return
        request = _Request(
            self.command, segments, token, body, self.headers.get("Content-Type", "")
        )
        self._answer(call, path, request, lose=fault is not None and fault.kind == "lost")

    def _answer(self, call: str, path: str, request: _Request, *, lose: bool = False) -> None:
        state = self.server.state
        location = None
        with state._lock:
            if call == "storage":
                status, payload = _storage(state, request.segments[1], request)
                kind = "application/xml"
            elif call in {"simple", "download", "file"}:
                status, payload, kind = _files(state, call, request.segments)
                location = payload.decode() if status == 302 else None
            else:
                try:
                    if call == "unknown":
                        raise ApiError(404, f"Not found: {path}")
                    status, answer = _api(state, call, request)
                except ApiError as exc:
                    status, answer = exc.status, {"error": exc.message}
                payload, kind = json.dumps(answer).encode(), "application/json"
        if lose:
            self._drop(call, path, request.token)
            return
        self._send(
            status, payload, kind, call=call, path=path, token=request.token, location=location
        )

    def _drop(self, call: str, path: str, token: str | None) -> None:
        self.server.state._record(self.command, path, call, 0, token)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        call: str,
        path: str,
        token: str | None,
        location: str | None = None,
    ) -> None:
        self.server.state._record(self.command, path, call, status, token)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _xml_error(code: str) -> tuple[bytes, str]:
    return (
        f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode(),
        "application/xml",
    )


def _error_json(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


def _files(state: AnacondaServer, call: str, segments: list[str]) -> tuple[int, bytes, str]:
    """Downloads: `/download/...` redirects to `/files/<id>` like anaconda.org to its storage."""
    if call == "simple":
        return _simple(state, segments)
    if call == "download":
        owner, name, version, basename = segments[1:5]
        record = state._packages.get((owner, name.lower()))
        release = record.releases.get(version) if record else None
        stored = release.files.get(basename) if release else None
        if stored is None:
            return 404, _error_json(f"File {basename} does not exist"), "application/json"
        return 302, f"{state.url}/files/{stored.dist_id}".encode(), "text/plain"
    for record in state._packages.values():
        for release in record.releases.values():
            for stored in release.files.values():
                if stored.dist_id == segments[1]:
                    return 200, stored.data, "application/octet-stream"
    return 404, b"no such file\n", "text/plain"


class _AnacondaHTTPServer(ThreadingHTTPServer):
    """Joins its handler threads on close, after cutting their connections."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(self, state: AnacondaServer) -> None:
        self.state = state
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((LOOPBACK, 0), _AnacondaHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        with self.connections_lock:
            self.connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (or our own shutdown) is not an error worth printing."""

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def serve_anaconda(*, latency: float = 0.0) -> Iterator[AnacondaServer]:
    """Run the stand-in on a free 127.0.0.1 port until the block ends.

    `latency` delays every answer (seconds); change `server.latency` at any time.
    """
    state = AnacondaServer(latency=latency)
    server = _AnacondaHTTPServer(state)
    state.port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="anaconda-org",
        daemon=True,
    )
    thread.start()
    try:
        yield state
    finally:
        state._stopping.set()
        server.shutdown()
        server.cut_connections()
        server.server_close()
        thread.join()
