"""Read simple indexes (PEP 503 HTML, PEP 691 JSON): projects, their files and versions.

One `HttpClient` carries every request (timeouts, bounded retries, redaction), and
`files_many` asks for many projects at once, so a plan over 40 packages costs a few
round trips instead of 40. Pages are parsed by `mousebender.simple`; what it cannot
read, or a file name that is not a wheel or sdist, never crashes the caller.
"""

from __future__ import annotations

import html.parser
import itertools
import json
import threading
import urllib.parse
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

from mousebender import simple
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidName,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.http import HttpClient, RetryBudget
from nightly_sessions.core.redact import add_secret, redact
from nightly_sessions.core.timestamps import parse_time

ACCEPT = simple.ACCEPT_SUPPORTED  # PEP 691 JSON first, then the HTML forms
_SDIST_SUFFIXES = (".tar.gz", ".zip")
_mousebender_lock = threading.Lock()  # warnings.catch_warnings is process-wide state
_T = TypeVar("_T")


@dataclass(frozen=True)
class DistFile:
    """One wheel or sdist of a project, as an index lists it."""

    filename: str
    url: str = field(repr=False)  # may hold a `/t/<token>/`; kept out of repr
    project: NormalizedName
    version: Version
    tags: frozenset[Tag]
    is_wheel: bool
    requires_python: str | None
    yanked: bool
    upload_time: datetime | None
    sha256: str | None


@dataclass(frozen=True)
class _Page:
    url: str
    media_type: str
    text: str


class IndexClient:
    """A client for one simple index; thread-safe, so one client serves a whole plan.

    `timeout` and `retries` configure the HttpClient made here; pass `http` to share one.
    """

    def __init__(
        self,
        url: str,
        *,
        http: HttpClient | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        max_workers: int = 50,  # as uv, which fetches up to 50 at once (UV_CONCURRENT_DOWNLOADS)
    ) -> None:
        self.url = _check_url(url)
        self.max_workers = max(1, max_workers)
        self.http = http or HttpClient(
            timeout=timeout, retries=retries, max_connections=self.max_workers
        )
        # The pages of a plan share one budget: the index's answers pay for the extra
        # retries a flaky index needs, and a dead index earns none (see nightly_sessions.core.http).
        self._budget = RetryBudget()

    def __repr__(self) -> str:
        return f"IndexClient({redact(self.url)!r})"

    def projects(self) -> list[str]:
        """The canonical names of all projects on the index's root page, sorted."""
        page = self._get(_page_url(self.url))
        if page is None:
            raise ConfigError(
                f"{redact(_page_url(self.url))} answered HTTP 404, so it is not a simple index; "
                "check the index URL (it usually ends in /simple)."
            )
        _require_simple_page(page, "root")
        try:
            data = _parse(lambda: simple.parse_project_index(page.text, page.media_type))
            names = {canonicalize_name(item["name"]) for item in data["projects"]}
        except _UnsupportedVersion as exc:
            raise _unreadable(page.url, str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _unreadable(page.url, "a project entry could not be read") from None
        return sorted(names)

    def files(self, project: str) -> list[DistFile]:
        """The wheels and sdists of `project`; [] when the index does not have it (404)."""
        name = _canonical(project)
        page = self._get(_page_url(self.url, name))
        if page is None:
            return []
        _require_simple_page(page, "project")
        try:
            details = _parse(lambda: simple.parse_project_details(page.text, page.media_type, name))
            _check_api_version(details)
            entries = details["files"]
            if not isinstance(entries, list):
                raise TypeError("'files' is not a list")
            found = (_dist_file(entry, page.url, name) for entry in entries)
            return [dist for dist in found if dist is not None]
        except _UnsupportedVersion as exc:
            raise _unreadable(page.url, str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _unreadable(page.url, "a file entry could not be read") from None

    def files_many(self, projects: Iterable[str]) -> dict[str, list[DistFile]]:
        """`files` for each project, asked concurrently; keys are canonical names."""
        names = list(dict.fromkeys(_canonical(project) for project in projects))
        if not names:
            return {}
        workers = min(self.max_workers, len(names))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="index") as pool:
            return dict(zip(names, pool.map(self.files, names), strict=True))

    def versions(self, project: str) -> list[Version]:
        """The versions of `project` that have a file not yanked, ascending and unique."""
        return sorted({dist.version for dist in self.files(project) if not dist.yanked})

    def _get(self, url: str) -> _Page | None:
        """Fetch a page; None for 404; NetworkError for every other failure."""
        if url.startswith("file:"):
            return _read_local(url)
        response = self.http.get(url, headers={"Accept": ACCEPT}, budget=self._budget)
        status = response.status
        if status == 404:
            return None
        if status in (401, 403):
            raise NetworkError(
                f"{redact(url)} refused access (HTTP {status}); "
                "check the token in the index URL and that the channel is readable."
            )
        if status >= 500:
            raise NetworkError(
                f"{redact(url)} answered HTTP {status} after {response.attempts} "
                f"attempt{'' if response.attempts == 1 else 's'}; "
                "the index is having trouble, retry later."
            )
        if status != 200:
            raise NetworkError(
                f"{redact(url)} answered HTTP {status}; check that the index URL is right."
            )
        media_type = response.headers.get("content-type", "text/html").split(";")[0]
        return _Page(url, media_type.strip().lower(), response.text)


def newest_compatible(
    files: Iterable[DistFile], tags: Sequence[Tag], python_version: str | None = None
) -> DistFile | None:
    """The newest wheel that is not yanked, fits one of `tags` and admits `python_version`.

    Pre-releases count like any version (nightlies are `.dev`). Among wheels of the same
    version, the one whose tag comes first in `tags` (most specific) wins.
    """
    rank = {tag: position for position, tag in reversed(list(enumerate(tags)))}
    python = _python(python_version)
    best: DistFile | None = None
    best_key: tuple[Version, int, float] | None = None
    for dist in files:
        if not dist.is_wheel or dist.yanked or not _admits(dist.requires_python, python):
            continue
        positions = [rank[tag] for tag in dist.tags if tag in rank]
        if not positions:
            continue
        uploaded = dist.upload_time.timestamp() if dist.upload_time else float("-inf")
        key = (dist.version, -min(positions), uploaded)
        if best_key is None or key > best_key:
            best, best_key = dist, key
    return best


def _check_url(url: str) -> str:
    """The index URL without a trailing slash; the secrets in it are registered.

    A `/t/<token>/` segment (anaconda.org) and every query value (a private index's
    `?token=`) are secrets: no message may show them.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6] bracket
        parts, host = urlsplit(""), None
    for before, token in itertools.pairwise(parts.path.split("/")):
        if before == "t":
            add_secret(token)
    for _key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        add_secret(value)
        add_secret(urllib.parse.quote(value, safe=""))
    if (parts.scheme in ("http", "https") and host) or (parts.scheme == "file" and parts.path):
        return urlunsplit(parts._replace(path=parts.path.rstrip("/"), fragment=""))
    raise ConfigError(
        f"The index URL {redact(url)!r} is not an http(s) or file URL; "
        "set it to a simple index such as https://pypi.org/simple."
    )


def _page_url(index_url: str, project: str | None = None) -> str:
    """The index's root page, or `project`'s page; a query string stays at the end."""
    parts = urlsplit(index_url)
    path = f"{parts.path.rstrip('/')}/{project}/" if project else f"{parts.path.rstrip('/')}/"
    return urlunsplit(parts._replace(path=path))


def _canonical(project: str) -> NormalizedName:
    try:
        return canonicalize_name(project, validate=True)
    except InvalidName:
        raise ConfigError(
            f"{redact(project)!r} is not a valid project name; use the name as it is on PyPI."
        ) from None


def _read_local(url: str) -> _Page | None:
    """A page of a static index on disk (PEP 503 allows plain folders of index.html)."""
    import urllib.request  # only a file: URL needs it, so a run does not load it

    path = Path(urllib.request.url2pathname(urlsplit(url).path))
    if path.is_dir():
        path = path / "index.html"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NetworkError(
            f"Could not read {redact(url)} ({exc.strerror}); check the index URL."
        ) from None
    return _Page(url, "text/html", text)


def _parse(parse: Callable[[], _T]) -> _T:
    """Run a mousebender parser; a newer minor API version is fine, not a warning."""
    try:
        with _mousebender_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore", simple.APIVersionWarning)
            return parse()
    except simple.UnsupportedAPIVersion as exc:
        # Its message is "Unsupported API major version: '2.0'"; the sentence names the version.
        raise _UnsupportedVersion(str(exc).rpartition(": ")[2].strip("'\"")) from None
    except simple.UnsupportedMIMEType:
        raise ValueError("unsupported content type") from None


class _UnsupportedVersion(ValueError):
    """A page of a simple API major version this client cannot read."""

    def __init__(self, version: object) -> None:
        super().__init__(
            f"it speaks API version {version}, which this version of nightly-sessions cannot "
            "read (update it)"
        )


def _check_api_version(details: Mapping[str, Any]) -> None:
    version = str(details.get("meta", {}).get("api-version", "1.0"))
    if version.split(".", maxsplit=1)[0] != "1":
        raise _UnsupportedVersion(version)


def _require_simple_page(page: _Page, kind: str) -> None:
    """Raise NetworkError naming the URL when `page` is not a simple index page."""
    problem = _page_problem(page, kind)
    if problem is not None:
        raise _unreadable(page.url, problem)


def _unreadable(url: str, why: str) -> NetworkError:
    return NetworkError(
        f"{redact(url)} did not answer with a simple index page: {why}; check that the "
        "index URL points at a PEP 503 or PEP 691 index (it usually ends in /simple)."
    )


def _dist_file(entry: Mapping[str, Any], page_url: str, project: NormalizedName) -> DistFile | None:
    """A DistFile for one listed file; None for other files and names that do not parse."""
    filename, href = entry["filename"], entry["url"]
    if not isinstance(filename, str) or not isinstance(href, str):
        raise TypeError("a file entry lacks a filename or url")
    parsed = _parse_filename(filename)
    if parsed is None or parsed[0] != project:
        return None
    _, version, tags, is_wheel = parsed
    hashes = entry.get("hashes") or {}
    sha256 = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    requires_python = entry.get("requires-python")
    yanked = entry.get("yanked", False)
    return DistFile(
        filename=filename,
        url=urljoin(page_url, href),
        project=project,
        version=version,
        tags=tags,
        is_wheel=is_wheel,
        requires_python=requires_python
        if isinstance(requires_python, str) and requires_python
        else None,
        yanked=yanked is True or isinstance(yanked, str),
        upload_time=parse_time(entry.get("upload-time")),
        sha256=sha256 if isinstance(sha256, str) else None,
    )


def _parse_filename(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag], bool] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return name, version, tags, True
        if filename.endswith(_SDIST_SUFFIXES):
            name, version = parse_sdist_filename(filename)
            return name, version, frozenset(), False
    except ValueError:  # InvalidWheelFilename, InvalidSdistFilename, InvalidVersion
        return None
    return None


def _python(python_version: str | None) -> Version | None:
    if python_version is None:
        return None
    try:
        return Version(python_version)
    except InvalidVersion:
        raise ConfigError(
            f"{python_version!r} is not a Python version; use a version such as 3.12."
        ) from None


def _admits(requires_python: str | None, python: Version | None) -> bool:
    """Whether Requires-Python admits `python`; an unreadable specifier admits all, as in pip."""
    if python is None or not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True


# --- Is this a simple index page? (pure: text in, a reason or None out) ---------------

_JSON_TYPE = simple.ACCEPT_JSON_V1
_HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")


class _HtmlShape(html.parser.HTMLParser):
    """What tells a PEP 503 page from any other HTML: its links, title and version meta."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, text) of anchors that have an href
        self.declared = False  # <meta name="pypi:repository-version">
        self.title = ""
        self._href: str | None = None
        self._text: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name") == "pypi:repository-version":
            self.declared = True
        elif tag == "title":
            self._in_title = True
        elif tag == "a" and values.get("href") is not None:
            self._href, self._text = values["href"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._href is not None:
            self._text.append(data)


def _page_problem(page: _Page, kind: str) -> str | None:
    """Why `page` is no simple index page of `kind` ("root" or "project"); None if it is one.

    An HTML answer alone proves nothing (a portal or a web app answers every path with
    200), so a page must show a sign of PEP 503 or PEP 691, else the channel would look
    empty and a run would pass having tested nothing.
    """
    if page.media_type == _JSON_TYPE:
        return _json_problem(page.text, "projects" if kind == "root" else "files")
    if page.media_type not in _HTML_TYPES:
        return f"its content type is {page.media_type or 'missing'}, not HTML or PEP 691 JSON"
    return _html_problem(page.text, kind)


def _html_problem(text: str, kind: str) -> str | None:
    """Why an HTML body is no PEP 503 page of `kind`; None if it is one."""
    shape = _HtmlShape()
    shape.feed(text)
    shape.close()
    if shape.declared or _conventional_title(shape.title, kind):
        return None
    if kind == "root":
        if shape.links and all(_is_project_link(href, text) for href, text in shape.links):
            return None
        return "it is an HTML page whose links are not one per project"
    if any(_is_file_link(href, text) for href, text in shape.links):
        return None
    return "it is an HTML page with no link to a file (PEP 503 names each file in its link)"


def _json_problem(text: str, listing: str) -> str | None:
    """Why a JSON body is no PEP 691 page with a `listing` list; None if it is one."""
    try:
        data = json.loads(text)
    except ValueError:
        return "its body is not JSON"
    meta = data.get("meta") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("api-version"), str):
        return "it has no meta.api-version (PEP 691)"
    if not isinstance(data.get(listing), list):
        return f"it has no {listing!r} list (PEP 691)"
    return None


def _conventional_title(title: str, kind: str) -> bool:
    """Whether the title is the one PyPI, pypiserver and anaconda.org give such a page."""
    words = " ".join(title.split()).lower()
    return words == "simple index" if kind == "root" else words.startswith("links for ")


def _is_file_link(href: str, text: str) -> bool:
    """PEP 503: a file's anchor text is the last part of its URL, a file name."""
    name = urllib.parse.unquote(urlsplit(href).path.rpartition("/")[2])
    return bool(text) and name == text and "." in name


def _is_project_link(href: str, text: str) -> bool:
    """PEP 503: a project's anchor text is its name and its URL ends in that name and `/`."""
    path = urlsplit(href).path
    if not text or not path.endswith("/"):
        return False
    last = urllib.parse.unquote(path.rstrip("/").rpartition("/")[2])
    return canonicalize_name(last) == canonicalize_name(text)
