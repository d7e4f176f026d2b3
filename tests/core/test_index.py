"""The simple-index client against pypiserver (HTML) and the fault-injecting test server (JSON)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from packaging.tags import Tag
from packaging.version import Version

from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.http import HttpClient
from nightly_sessions.core.index import DistFile, IndexClient, newest_compatible
from nightly_sessions.testing.pypi import PypiServer, free_port
from nightly_sessions.testing.simple_index import (
    JSON_TYPE,
    SimpleIndexServer,
    serve_simple_index,
)
from nightly_sessions.testing.wheelhouse import make_sdist, make_wheel

TOKEN = "sp-0123456789abcdef-secret"
LINUX = "cp311-cp311-manylinux_2_17_x86_64"
NUMPY_NIGHTLY = "2.5.0.dev0+git20261120.abc"


def _fast_http(retries: int = 3, timeout: float = 5.0) -> HttpClient:
    return HttpClient(timeout=timeout, retries=retries, backoff=0)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nightly-looking files for two projects, plus files a client must skip."""
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "numpy", NUMPY_NIGHTLY, tag=LINUX, requires_python=">=3.11")
    make_wheel(folder, "numpy", "2.4.0.dev0", tag="py3-none-any")
    make_sdist(folder, "numpy", "2.5.0.dev0")
    make_wheel(folder, "Scikit_Learn", "1.8.dev0", requires_python=">=3.10")
    make_wheel(folder, "scikit_learn", "1.9.dev0")
    (folder / "numpy-2.5.0.dev0.tar.gz.asc").write_text("signature")
    (folder / "numpy-not~a~version-py3-none-any.whl").write_text("junk")
    return folder


@pytest.fixture
def index(wheels: Path) -> Iterator[SimpleIndexServer]:
    with serve_simple_index(wheels) as server:
        yield server


@pytest.fixture
def token_index(wheels: Path) -> Iterator[SimpleIndexServer]:
    """The same files behind an anaconda.org-style `/t/<token>/` path."""
    with serve_simple_index(wheels, prefix=f"/t/{TOKEN}/nightly") as server:
        yield server


# --- Reading pages -------------------------------------------------------------------


def test_projects_are_canonical(index: SimpleIndexServer) -> None:
    assert IndexClient(index.url).projects() == ["numpy", "scikit-learn"]


def test_files_from_json(index: SimpleIndexServer, wheels: Path) -> None:
    files = IndexClient(index.url).files("NumPy")
    by_name = {dist.filename: dist for dist in files}
    assert sorted(by_name) == [
        "numpy-2.4.0.dev0-py3-none-any.whl",
        f"numpy-{NUMPY_NIGHTLY}-{LINUX}.whl",
        "numpy-2.5.0.dev0.tar.gz",
    ]
    nightly = by_name[f"numpy-{NUMPY_NIGHTLY}-{LINUX}.whl"]
    assert nightly.url == (
        f"{index.root_url}/files/2.5.0.dev0%2Bgit20261120.abc/"
        f"numpy-2.5.0.dev0%2Bgit20261120.abc-{LINUX}.whl"
    )
    assert nightly.project == "numpy"
    assert nightly.version == Version(NUMPY_NIGHTLY)
    assert nightly.tags == frozenset({Tag("cp311", "cp311", "manylinux_2_17_x86_64")})
    assert nightly.is_wheel
    assert nightly.requires_python == ">=3.11"
    assert not nightly.yanked
    assert nightly.sha256 == hashlib.sha256((wheels / nightly.filename).read_bytes()).hexdigest()
    assert nightly.upload_time is not None  # only the JSON form carries PEP 700 times
    assert nightly.upload_time.tzinfo is not None
    sdist = by_name["numpy-2.5.0.dev0.tar.gz"]
    assert (sdist.is_wheel, sdist.tags, sdist.requires_python) == (False, frozenset(), None)


def test_html_gives_the_same_files_as_json(wheels: Path) -> None:
    with serve_simple_index(wheels, formats=("html",)) as html_index:
        from_html = IndexClient(html_index.url).files("numpy")
    with serve_simple_index(wheels, formats=("json",)) as json_index:
        from_json = IndexClient(json_index.url).files("numpy")

    def shape(files: list[DistFile]) -> list[tuple[object, ...]]:
        return sorted(
            (d.filename, d.url.split("/files/")[1], d.version, d.tags, d.requires_python, d.sha256)
            for d in files
        )

    assert shape(from_html) == shape(from_json)
    assert all(dist.upload_time is None for dist in from_html)


def test_missing_project_is_empty(index: SimpleIndexServer) -> None:
    assert IndexClient(index.url).files("not-on-this-index") == []


def test_yanked_files(index: SimpleIndexServer) -> None:
    index.yanked["scikit_learn-1.9.dev0-py3-none-any.whl"] = "broken build"
    client = IndexClient(index.url)
    yanked = {dist.filename: dist.yanked for dist in client.files("scikit-learn")}
    assert yanked == {
        "scikit_learn-1.8.dev0-py3-none-any.whl": False,
        "scikit_learn-1.9.dev0-py3-none-any.whl": True,
    }
    assert client.versions("scikit-learn") == [Version("1.8.dev0")]


def test_yanked_without_reason_in_html(wheels: Path) -> None:
    with serve_simple_index(wheels, formats=("html",)) as server:
        server.yanked["numpy-2.4.0.dev0-py3-none-any.whl"] = ""
        files = IndexClient(server.url).files("numpy")
    assert [dist.filename for dist in files if dist.yanked] == ["numpy-2.4.0.dev0-py3-none-any.whl"]


def test_versions_sorted_and_unique(index: SimpleIndexServer) -> None:
    assert IndexClient(index.url).versions("numpy") == [
        Version("2.4.0.dev0"),
        Version("2.5.0.dev0"),
        Version(NUMPY_NIGHTLY),
    ]


def test_files_of_another_project_on_the_page_are_skipped(index: SimpleIndexServer) -> None:
    body = (
        b'<a href="/f/numpy-1.0-py3-none-any.whl">numpy-1.0-py3-none-any.whl</a>'
        b'<a href="/f/numpy_extra-9.0-py3-none-any.whl">numpy_extra-9.0-py3-none-any.whl</a>'
        b'<a href="/f/numpy-1.0.whl.metadata">numpy-1.0.whl.metadata</a>'
        b'<a href="/f/">empty</a><a>no link</a>'
    )
    index.pages["/simple/numpy/"] = (200, body, "text/html; charset=utf-8")
    files = IndexClient(index.url).files("numpy")
    assert [(dist.filename, dist.url) for dist in files] == [
        (
            "numpy-1.0-py3-none-any.whl",
            f"http://127.0.0.1:{index.port}/f/numpy-1.0-py3-none-any.whl",
        )
    ]


def test_json_with_absolute_urls_and_newer_minor_version(index: SimpleIndexServer) -> None:
    body = (
        b'{"meta": {"api-version": "1.4"}, "name": "numpy", "files": [{"filename": '
        b'"numpy-1.0-py3-none-any.whl", "url": "https://files.example/numpy-1.0-py3-none-any.whl",'
        b' "hashes": {}, "yanked": false, "upload-time": "2026-01-02T03:04:05Z"}]}'
    )
    index.pages["/simple/numpy/"] = (200, body, f"{JSON_TYPE}; charset=utf-8")
    (dist,) = IndexClient(index.url).files("numpy")
    assert dist.url == "https://files.example/numpy-1.0-py3-none-any.whl"
    assert dist.sha256 is None
    assert dist.upload_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_html_with_a_newer_minor_version_is_read_without_a_warning(
    index: SimpleIndexServer,
) -> None:
    body = (
        b'<meta name="pypi:repository-version" content="1.4">'
        b'<a href="numpy-1.0-py3-none-any.whl#sha256=ab">numpy-1.0-py3-none-any.whl</a>'
    )
    index.pages["/simple/numpy/"] = (200, body, "text/html")
    (dist,) = IndexClient(index.url).files("numpy")
    assert (dist.url, dist.sha256) == (f"{index.url}/numpy/numpy-1.0-py3-none-any.whl", "ab")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"{not json", JSON_TYPE, id="bad-json"),
        pytest.param(b'{"meta": {"api-version": "2.0"}, "files": []}', JSON_TYPE, id="api-v2"),
        pytest.param(b'{"meta": {"api-version": "1.0"}}', JSON_TYPE, id="no-files"),
        pytest.param(b'{"meta": {}, "files": {"a": 1}}', JSON_TYPE, id="files-not-list"),
        pytest.param(b'{"files": [{"url": "x"}]}', JSON_TYPE, id="entry-without-name"),
        pytest.param(b"[1, 2]", JSON_TYPE, id="json-list"),
        pytest.param(b"<html></html>", "application/json", id="unknown-type"),
        pytest.param(
            b'<meta name="pypi:repository-version" content="2.0">', "text/html", id="html-v2"
        ),
    ],
)
def test_unreadable_project_page(
    token_index: SimpleIndexServer, body: bytes, content_type: str
) -> None:
    token_index.pages["/simple/numpy/"] = (200, body, content_type)
    with pytest.raises(NetworkError, match="did not answer with a simple index page") as error:
        IndexClient(token_index.url).files("numpy")
    assert "/t/***/nightly/simple/numpy/" in str(error.value)
    assert TOKEN not in str(error.value)


def test_unreadable_root_page(token_index: SimpleIndexServer) -> None:
    token_index.pages["/simple/"] = (200, b'{"projects": 3}', JSON_TYPE)
    with pytest.raises(NetworkError, match="did not answer with a simple index page") as error:
        IndexClient(token_index.url).projects()
    assert TOKEN not in str(error.value)


def test_root_that_is_not_an_index(token_index: SimpleIndexServer) -> None:
    with pytest.raises(ConfigError, match=r"HTTP 404, so it is not a simple index") as error:
        IndexClient(f"{token_index.root_url}/wrong").projects()
    assert "/t/***/nightly/wrong/" in str(error.value)
    assert TOKEN not in str(error.value)


# --- Concurrency ---------------------------------------------------------------------


def test_files_many_is_concurrent_and_canonical(wheels: Path) -> None:
    with serve_simple_index(wheels, latency=0.5) as server:
        client = IndexClient(server.url, max_workers=4)
        result = client.files_many(["NumPy", "numpy", "Scikit_Learn", "absent-1", "absent-2"])
        assert server.requests == 4  # duplicates by canonical name are asked once
        assert server.peak_concurrency == 4
    assert list(result) == ["numpy", "scikit-learn", "absent-1", "absent-2"]
    assert len(result["numpy"]) == 3
    assert result["absent-1"] == []


def test_files_many_of_nothing_asks_nothing(index: SimpleIndexServer) -> None:
    assert IndexClient(index.url).files_many([]) == {}
    assert index.requests == 0


def test_files_many_raises_when_one_project_fails(index: SimpleIndexServer) -> None:
    index.pages["/simple/scikit-learn/"] = (403, b"no", "text/plain")
    with pytest.raises(NetworkError, match="refused access"):
        IndexClient(index.url).files_many(["numpy", "scikit-learn"])


# --- Faults: retries, timeouts, status codes ---------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_retried(index: SimpleIndexServer, status: int) -> None:
    index.faults.fail_status = status
    index.faults.fail_next = 2
    files = IndexClient(index.url, http=_fast_http(retries=3)).files("numpy")
    assert len(files) == 3
    assert index.requests == 3


def test_5xx_retries_are_bounded(token_index: SimpleIndexServer) -> None:
    token_index.faults.fail_next = 100
    client = IndexClient(token_index.url, http=_fast_http(retries=2))
    with pytest.raises(NetworkError, match="HTTP 503 after 3 attempts") as error:
        client.files("numpy")
    assert token_index.requests == 3
    assert TOKEN not in str(error.value)


def test_dropped_connection_is_retried(index: SimpleIndexServer) -> None:
    index.faults.drop_next = 2
    assert len(IndexClient(index.url, http=_fast_http(retries=3)).files("numpy")) == 3
    assert index.requests == 3


def test_dropped_connections_give_up(token_index: SimpleIndexServer) -> None:
    token_index.faults.drop_next = 100
    with pytest.raises(NetworkError, match="failed after 2 attempts") as error:
        IndexClient(token_index.url, http=_fast_http(retries=1)).projects()
    assert token_index.requests == 2
    assert TOKEN not in str(error.value)


def test_timeout(token_index: SimpleIndexServer) -> None:
    token_index.faults.latency = 5.0
    client = IndexClient(token_index.url, timeout=0.2, retries=0)
    with pytest.raises(NetworkError, match="timed out") as error:
        client.files("numpy")
    assert TOKEN not in str(error.value)


def test_unreachable_index() -> None:
    url = f"http://127.0.0.1:{free_port()}/t/{TOKEN}/nightly/simple"
    with pytest.raises(NetworkError, match=r"127\.0\.0\.1.*/t/\*\*\*/nightly/simple/") as error:
        IndexClient(url, http=_fast_http(retries=1)).projects()
    assert TOKEN not in str(error.value)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "refused access .HTTP 401.; check the token"),
        (403, "refused access .HTTP 403."),
        (400, "answered HTTP 400; check that the index URL is right"),
        (410, "answered HTTP 410"),
    ],
)
def test_client_errors_are_not_retried(
    token_index: SimpleIndexServer, status: int, message: str
) -> None:
    token_index.faults.fail_status = status
    token_index.faults.fail_next = 1
    with pytest.raises(NetworkError, match=message) as error:
        IndexClient(token_index.url, http=_fast_http()).files("numpy")
    assert token_index.requests == 1
    assert TOKEN not in str(error.value)


# --- Redaction -----------------------------------------------------------------------


def test_token_never_reaches_logs_or_reprs(
    token_index: SimpleIndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # urllib3 is quiet below ERROR by default; whoever turns it back on still sees no token.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    token_index.faults.drop_next = 1
    token_index.faults.fail_next = 1
    client = IndexClient(f"{token_index.url}/", http=_fast_http())
    files = client.files("numpy")
    assert TOKEN in files[0].url  # the installer needs the real URL ...
    assert TOKEN not in repr(files) + repr(client)  # ... but no message shows it
    assert '"GET /t/***/nightly/simple/numpy/ HTTP/1.1" 503' in caplog.text  # logged, redacted
    assert TOKEN not in caplog.text


def test_token_without_trailing_path_is_still_redacted() -> None:
    url = f"http://127.0.0.1:{free_port()}/t/{TOKEN}"
    with pytest.raises(NetworkError) as error:
        IndexClient(url, http=_fast_http(retries=0)).projects()
    assert TOKEN not in str(error.value)


# --- Bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["pypi.org/simple", "ftp://host/simple", "https:///simple", ""])
def test_bad_index_url(url: str) -> None:
    with pytest.raises(ConfigError, match=r"is not an http\(s\) or file URL"):
        IndexClient(url)


def test_bad_index_url_hides_token() -> None:
    with pytest.raises(ConfigError) as error:
        IndexClient(f"ftp://host/t/{TOKEN}/simple")
    assert TOKEN not in str(error.value)


@pytest.mark.parametrize("name", ["../etc", "num py", "-numpy", ""])
def test_bad_project_name(index: SimpleIndexServer, name: str) -> None:
    client = IndexClient(index.url)
    with pytest.raises(ConfigError, match="is not a valid project name"):
        client.files(name)
    with pytest.raises(ConfigError, match="is not a valid project name"):
        client.files_many(["numpy", name])
    assert index.requests == 0


def test_url_keeps_no_trailing_slash() -> None:
    assert IndexClient("https://pypi.org/simple/").url == "https://pypi.org/simple"


# --- A static index on disk ----------------------------------------------------------


def test_file_url_index(tmp_path: Path) -> None:
    (tmp_path / "simple" / "numpy").mkdir(parents=True)
    (tmp_path / "simple" / "index.html").write_text('<a href="numpy/">NumPy</a>')
    (tmp_path / "simple" / "numpy" / "index.html").write_text(
        '<a href="../../files/numpy-2.0.dev0-py3-none-any.whl#sha256=00">'
        "numpy-2.0.dev0-py3-none-any.whl</a>"
    )
    client = IndexClient((tmp_path / "simple").as_uri())
    assert client.projects() == ["numpy"]
    (dist,) = client.files("numpy")
    assert dist.url == (tmp_path / "files" / "numpy-2.0.dev0-py3-none-any.whl").as_uri()
    assert client.files("scipy") == []


def test_file_url_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "simple" / "numpy").mkdir(parents=True)
    (tmp_path / "simple" / "numpy" / "index.html").mkdir()
    with pytest.raises(NetworkError, match="Could not read"):
        IndexClient((tmp_path / "simple").as_uri()).files("numpy")


# --- The real pypiserver (PEP 503 HTML) ----------------------------------------------


@pytest.mark.integration
def test_pypiserver_html(nightly_index: PypiServer) -> None:
    folder = nightly_index.directory
    nightly = make_wheel(folder, "numpy", NUMPY_NIGHTLY, tag=LINUX)
    make_wheel(folder, "numpy", "2.4.0.dev0")
    make_sdist(folder, "numpy", "2.5.0.dev0")
    make_wheel(folder, "Scikit_Learn", "1.8.dev0")
    client = IndexClient(nightly_index.url)

    assert client.projects() == ["numpy", "scikit-learn"]
    files = client.files_many(["numpy", "scikit-learn", "scipy"])
    assert sorted(files) == ["numpy", "scikit-learn", "scipy"]
    assert files["scipy"] == []
    (newest,) = [dist for dist in files["numpy"] if dist.filename == nightly.name]
    assert newest.url.startswith(f"{nightly_index.root_url}/packages/")
    assert newest.sha256 == hashlib.sha256(nightly.read_bytes()).hexdigest()
    assert newest.version == Version(NUMPY_NIGHTLY)
    assert client.versions("numpy") == [
        Version("2.4.0.dev0"),
        Version("2.5.0.dev0"),
        Version(NUMPY_NIGHTLY),
    ]
    linux = [Tag("cp311", "cp311", "manylinux_2_17_x86_64"), Tag("py3", "none", "any")]
    assert newest_compatible(files["numpy"], linux, "3.11") == newest
    macos = [Tag("cp311", "cp311", "macosx_11_0_arm64"), Tag("py3", "none", "any")]
    chosen = newest_compatible(files["numpy"], macos, "3.11")
    assert chosen is not None
    assert chosen.version == Version("2.4.0.dev0")


# --- newest_compatible and helpers (no server) -------------------------------------


def _dist(
    version: str,
    tag: str = "py3-none-any",
    *,
    yanked: bool = False,
    requires_python: str | None = None,
    uploaded: datetime | None = None,
) -> DistFile:
    name = f"demo-{version}-{tag}.whl" if tag else f"demo-{version}.tar.gz"
    interpreter, abi, platform = tag.split("-") if tag else ("", "", "")
    return DistFile(
        filename=name,
        url=f"https://example.invalid/{name}",
        project="demo",  # type: ignore[arg-type]
        version=Version(version),
        tags=frozenset({Tag(interpreter, abi, platform)}) if tag else frozenset(),
        is_wheel=bool(tag),
        requires_python=requires_python,
        yanked=yanked,
        upload_time=uploaded,
        sha256=None,
    )


ANY = [Tag("cp312", "cp312", "manylinux_2_17_x86_64"), Tag("py3", "none", "any")]


def test_newest_compatible_prefers_newest_prerelease() -> None:
    files = [_dist("1.0"), _dist("2.0.dev1"), _dist("1.5")]
    chosen = newest_compatible(files, ANY)
    assert chosen is not None
    assert chosen.version == Version("2.0.dev1")


def test_newest_compatible_skips_yanked_sdists_and_foreign_tags() -> None:
    files = [
        _dist("3.0", yanked=True),
        _dist("4.0", tag=""),
        _dist("5.0", tag="cp311-cp311-win_amd64"),
        _dist("2.0"),
    ]
    chosen = newest_compatible(files, ANY)
    assert chosen is not None
    assert chosen.version == Version("2.0")


def test_newest_compatible_checks_requires_python() -> None:
    files = [_dist("2.0", requires_python=">=3.13"), _dist("1.0", requires_python=">=3.10")]
    assert newest_compatible(files, ANY, "3.12") == files[1]
    assert newest_compatible(files, ANY, "3.13") == files[0]
    assert newest_compatible(files, ANY) == files[0]  # no Python given: no check
    odd = [_dist("3.0", requires_python="not a specifier")]
    assert newest_compatible(odd, ANY, "3.12") == odd[0]  # like pip: unreadable admits


def test_newest_compatible_prefers_the_more_specific_tag_then_newer_upload() -> None:
    early = datetime(2026, 1, 1, tzinfo=timezone.utc)
    late = datetime(2026, 1, 2, tzinfo=timezone.utc)
    generic = _dist("2.0", uploaded=late)
    specific = _dist("2.0", tag="cp312-cp312-manylinux_2_17_x86_64", uploaded=early)
    assert newest_compatible([generic, specific], ANY) == specific
    rebuilt = _dist("2.0", tag="cp312-cp312-manylinux_2_17_x86_64", uploaded=late)
    assert newest_compatible([specific, rebuilt], ANY) == rebuilt


def test_newest_compatible_none() -> None:
    assert newest_compatible([], ANY) is None
    assert newest_compatible([_dist("1.0")], []) is None
    assert newest_compatible([_dist("1.0", requires_python="<3")], ANY, "3.12") is None


def test_newest_compatible_bad_python_version() -> None:
    with pytest.raises(ConfigError, match="is not a Python version"):
        newest_compatible([_dist("1.0")], ANY, "three")


def test_malformed_url_is_a_sentence() -> None:
    with pytest.raises(ConfigError, match="is not an http"):
        IndexClient("http://[::1")
