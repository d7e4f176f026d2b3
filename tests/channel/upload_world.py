"""The channel tests' world: the loopback anaconda.org, a dist/ of nightly wheels, a token.

Shared by the tests of `upload`, `replace`, `upload_files` and `anaconda_token`, which all
run real uploads, and by `cleanup` and `client`; `conftest.py` here turns `channel`,
`make_dist` and `no_token_anywhere` into their fixtures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nightly_sessions.channel.client import Retry, find_client
from nightly_sessions.channel.upload import upload
from nightly_sessions.channel.upload_job import UploadOptions
from nightly_sessions.testing.anaconda import DEFAULT_OWNER, AnacondaServer, serve_anaconda
from nightly_sessions.testing.wheelhouse import make_sdist, make_wheel

TOKEN = "upload-token-Zq8v3Kd0"
OWNER = DEFAULT_OWNER
VERSION = "1.0.dev20261123+git5a"
TAGS = ("py3-none-any", "cp312-cp312-manylinux_2_17_x86_64", "cp313-cp313-manylinux_2_17_x86_64")
ENV = {"ANACONDA_ORG_UPLOAD_TOKEN": TOKEN}
FAST = Retry(attempts=3, backoff=0.05, backoff_max=0.2, timeout=5.0)


@contextlib.contextmanager
def channel() -> Iterator[AnacondaServer]:
    """The loopback anaconda.org, accepting TOKEN."""
    with serve_anaconda() as running:
        running.add_token(TOKEN)
        yield running


def make_dist(tmp_path: Path) -> Path:
    """A dist/ of three wheels and an sdist of one nightly version."""
    folder = tmp_path / "dist"
    for tag in TAGS:
        make_wheel(folder, "skymap", VERSION, tag=tag)
    make_sdist(folder, "skymap", VERSION)
    return folder


def no_token_anywhere(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """After every test: the token is in no output and no file written (copies included)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield
    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def own_client() -> Path:
    """The anaconda-client installed beside these tests' Python, whatever PATH holds."""
    return find_client(Path(sys.executable).with_name("anaconda"))


def output(capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    text = out + err
    assert TOKEN not in text
    return text


def options(server: AnacondaServer, dist: Path, **changes: Any) -> UploadOptions:
    base = UploadOptions(
        dist_dir=dist, channel=OWNER, api_url=server.url, retry=FAST, jobs=4,
        index_url=server.simple_url(), verify_interval=0.05, verify_timeout=5.0,
        http_timeout=5.0, http_retries=1,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def run(opts: UploadOptions, environ: dict[str, str] | None = None) -> Any:
    return upload(opts, client=own_client, environ=ENV if environ is None else environ)


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def wheels(dist: Path) -> list[Path]:
    return sorted(dist.glob("*.whl"))


def older_build(tmp_path: Path, wheel: Path) -> bytes:
    """Another build of the same file name: different bytes, same name (what --force loses)."""
    tag = wheel.name.removesuffix(".whl").split("-", 2)[2]
    modules = {"skymap/__init__.py": "# an older build\n"}
    return make_wheel(tmp_path / "older", "skymap", VERSION, tag=tag, modules=modules).read_bytes()


def seed_older_build(server: AnacondaServer, dist: Path, tmp_path: Path) -> tuple[Path, bytes]:
    """The channel already holds a different file under the first wheel's name."""
    first = wheels(dist)[0]
    old = older_build(tmp_path, first)
    server.add_file(OWNER, "skymap", VERSION, first.name, old)
    return first, old


def assert_channel_holds(server: AnacondaServer, files: list[Path]) -> None:
    stored = server.files()
    assert sorted(stored) == sorted(f.name for f in files)
    for path in files:
        assert stored[path.name].data == path.read_bytes()
