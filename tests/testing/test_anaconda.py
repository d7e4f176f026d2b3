"""The anaconda.org stand-in: the real anaconda-client against it, its API, faults and index."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from nightly_sessions.core.timestamps import parse_time
from nightly_sessions.testing.anaconda import (
    DEFAULT_OWNER,
    EXPIRED,
    AnacondaServer,
    ApiFault,
    serve_anaconda,
)
from nightly_sessions.testing.wheelhouse import make_wheel

TOKEN = "test-token-Qm7rX2"
OWNER = DEFAULT_OWNER


@pytest.fixture
def server() -> Iterator[AnacondaServer]:
    with serve_anaconda() as running:
        running.add_token(TOKEN)
        yield running


def call(
    server: AnacondaServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One request with http.client: (status, JSON or bytes, headers)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"token {token}"
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    if answer_headers.get("content-type") == "application/json" and data:
        try:
            return response.status, json.loads(data), answer_headers
        except ValueError:
            pass
    return response.status, data, answer_headers


def upload_by_api(
    server: AnacondaServer, name: str, version: str, basename: str, data: bytes
) -> None:
    """The stage / storage / commit sequence, as anaconda-client sends it."""
    call(server, "POST", f"/package/{OWNER}/{name}", {"public_attrs": {"summary": "s"}})
    call(server, "POST", f"/release/{OWNER}/{name}/{version}", {"requirements": []})
    digest = hashlib.sha256(data).hexdigest()
    status, staged, _ = call(
        server, "POST", f"/stage/{OWNER}/{name}/{version}/{basename}", {"sha256": digest}
    )
    assert status == 200
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    fields = {**staged["form_data"], "Content-MD5": md5}
    boundary = "xyzBOUNDARY"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{basename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    storage_path = staged["post_url"].split(str(server.port), 1)[1]
    status, _, _ = call(
        server, "POST", storage_path, raw=b"".join(parts), token=None,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert status == 201
    status, _, _ = call(
        server,
        "POST",
        f"/commit/{OWNER}/{name}/{version}/{basename}",
        {"dist_id": staged["dist_id"]},
    )
    assert status == 200


def client_env(server: AnacondaServer, tmp_path: Path, token: str = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("API_TOKEN")}
    return {**env, **server.client_environment(tmp_path / "binstar"), "BINSTAR_API_TOKEN": token}


def anaconda(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["anaconda", *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.integration
def test_real_anaconda_client_uploads_and_removes(server: AnacondaServer, tmp_path: Path) -> None:
    first = make_wheel(tmp_path, "skymap", "1.0.dev1+git5", tag="py3-none-any")
    second = make_wheel(
        tmp_path, "skymap", "1.0.dev1+git5", tag="cp312-cp312-manylinux_2_17_x86_64"
    )
    env = client_env(server, tmp_path)
    upload = anaconda(env, "upload", "--user", OWNER, "--label", "main", str(first), str(second))
    assert upload.returncode == 0, upload.stderr
    stored = server.files()
    assert set(stored) == {first.name, second.name}
    assert stored[first.name].data == first.read_bytes()
    assert stored[first.name].labels == ("main",)
    assert parse_time(stored[first.name].upload_time) is not None
    sequence = [c.call for c in server.calls]
    assert sequence[:7] == [
        "check", "user", "dist", "package", "package-create", "release", "release-create",
    ]  # fmt: skip
    assert sequence.count("stage") == sequence.count("storage") == sequence.count("commit") == 2
    assert all(c.token == TOKEN for c in server.calls if c.call != "storage")
    # The simple index lists both files, `+` quoted as %2B, and serves them.
    status, page, _ = call(server, "GET", f"/{OWNER}/simple/skymap/", token=None)
    assert status == 200
    assert f'href="1.0.dev1%2Bgit5/{first.name.replace("+", "%2B")}"' in page.decode()
    status, data, _ = call(server, "GET", f"/{OWNER}/simple/skymap/1.0.dev1%2Bgit5/{first.name}")
    assert (status, data) == (200, first.read_bytes())
    # `anaconda remove` deletes one file, then the release.
    remove = anaconda(env, "remove", "--force", f"{OWNER}/skymap/1.0.dev1+git5/{first.name}")
    assert remove.returncode == 0, remove.stderr
    assert set(server.files()) == {second.name}
    remove = anaconda(env, "remove", "--force", f"{OWNER}/skymap/1.0.dev1+git5")
    assert remove.returncode == 0, remove.stderr
    assert server.versions(OWNER, "skymap") == []


@pytest.mark.integration
def test_real_client_sees_expired_token_and_injected_commit_failure(
    server: AnacondaServer, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "skymap", "1.0.dev2")
    server.add_token("old-token-abcd", expired=True)
    expired = anaconda(
        client_env(server, tmp_path, "old-token-abcd"), "upload", "-u", OWNER, str(wheel)
    )
    assert expired.returncode != 0
    assert EXPIRED in expired.stderr + expired.stdout
    server.inject("commit", ApiFault.error(404))
    failed = anaconda(client_env(server, tmp_path), "upload", "-u", OWNER, str(wheel))
    assert failed.returncode != 0
    assert server.files() == {}  # and the client removed the empty release and package
    assert server.versions(OWNER, "skymap") == []


def test_uploads_by_api_are_stored_exactly(server: AnacondaServer) -> None:
    data = b"wheel bytes \x00\xff" * 100
    upload_by_api(server, "Skymap", "1.0.dev1", "skymap-1.0.dev1-py3-none-any.whl", data)
    stored = server.files()["skymap-1.0.dev1-py3-none-any.whl"]
    assert stored.data == data
    status, dist, _ = call(server, "GET", f"/dist/{OWNER}/skymap/1.0.dev1/{stored.basename}")
    assert status == 200
    assert dist["sha256"] == hashlib.sha256(data).hexdigest()
    status, package, _ = call(server, "GET", f"/package/{OWNER}/SKYMAP", token=None)
    assert (status, package["name"], package["versions"]) == (200, "Skymap", ["1.0.dev1"])
    status, packages, _ = call(server, "GET", f"/packages/{OWNER}")
    assert [p["name"] for p in packages] == ["Skymap"]


def test_read_only_calls_give_releases_oldest_first_with_upload_times(
    server: AnacondaServer,
) -> None:
    for day in (1, 2, 3):
        server.add_file(
            OWNER, "skymap", f"1.0.dev{day}", f"skymap-1.0.dev{day}-py3-none-any.whl", b"x",
            upload_time=datetime(2026, 1, day, 22, 32, 31, 253000, tzinfo=timezone.utc),
        )  # fmt: skip
    _, package, _ = call(server, "GET", f"/package/{OWNER}/skymap", token=None)
    assert [r["version"] for r in package["releases"]] == ["1.0.dev1", "1.0.dev2", "1.0.dev3"]
    _, release, _ = call(server, "GET", f"/release/{OWNER}/skymap/1.0.dev2", token=None)
    [dist] = release["distributions"]
    assert dist["upload_time"] == "2026-01-02 22:32:31.253000+00:00"
    status, _, _ = call(server, "GET", f"/release/{OWNER}/skymap/9.9", token=None)
    assert status == 404


def test_writes_need_a_valid_token_for_the_owner(server: AnacondaServer) -> None:
    path = f"/package/{OWNER}/skymap"
    body = {"public_attrs": {"summary": "s"}}
    assert call(server, "POST", path, body, token=None)[0] == 401
    assert call(server, "POST", path, body, token="unknown-token")[0] == 401
    server.add_token("expired-token", expired=True)
    status, answer, _ = call(server, "GET", f"/user/{OWNER}", token="expired-token")
    assert (status, answer["error"]) == (401, EXPIRED)
    server.add_token("elsewhere-token", owners=("someone-else",))
    assert call(server, "POST", path, body, token="elsewhere-token")[0] == 403
    assert call(server, "POST", "/package/nobody-here/skymap", body)[0] == 404
    assert call(server, "POST", path, body)[0] == 200
    assert call(server, "POST", path, body)[0] == 409


def test_deleting_one_file_keeps_its_release_and_the_other_files(server: AnacondaServer) -> None:
    """`DELETE /dist/...`, as `anaconda remove USER/PKG/VER/FILE` and `cleanup --dropped-tags`."""
    for name in ("skymap-1.0.dev1-cp39-cp39-win_amd64.whl", "skymap-1.0.dev1-py3-none-any.whl"):
        server.add_file(OWNER, "skymap", "1.0.dev1", name, b"x")
    path = f"/dist/{OWNER}/skymap/1.0.dev1/skymap-1.0.dev1-cp39-cp39-win_amd64.whl"
    assert call(server, "DELETE", path, token=None)[0] == 401
    server.add_token("elsewhere-token", owners=("someone-else",))
    assert call(server, "DELETE", path, token="elsewhere-token")[0] == 403
    assert call(server, "DELETE", path)[0] == 200
    assert set(server.files()) == {"skymap-1.0.dev1-py3-none-any.whl"}
    assert server.versions(OWNER, "skymap") == ["1.0.dev1"]
    status, answer, _ = call(server, "DELETE", path)
    assert (status, answer["error"]) == (
        404,
        "File skymap-1.0.dev1-cp39-cp39-win_amd64.whl does not exist",
    )
    assert [c.call for c in server.calls] == ["dist-delete"] * 4


def test_storage_checks_the_digest_and_commit_needs_the_stage(server: AnacondaServer) -> None:
    call(server, "POST", f"/package/{OWNER}/p", {"public_attrs": {"summary": "s"}})
    call(server, "POST", f"/release/{OWNER}/p/1.0.dev1", {})
    _, staged, _ = call(server, "POST", f"/stage/{OWNER}/p/1.0.dev1/p.whl", {"sha256": "0" * 64})
    form = (
        '--B\r\nContent-Disposition: form-data; name="signature"\r\n\r\n'
        f'{staged["dist_id"]}\r\n--B\r\nContent-Disposition: form-data; name="Content-MD5"\r\n\r\n'
        'AAAAAAAAAAAAAAAAAAAAAA==\r\n--B\r\nContent-Disposition: form-data; name="file"; '
        'filename="p.whl"\r\n\r\ndata\r\n--B--\r\n'
    ).encode()
    path = staged["post_url"].split(str(server.port), 1)[1]
    headers = {"Content-Type": "multipart/form-data; boundary=B"}
    status, body, _ = call(server, "POST", path, raw=form, token=None, headers=headers)
    assert status == 400
    assert b"<Code>InvalidDigest</Code>" in body
    status, _, _ = call(server, "POST", f"/commit/{OWNER}/p/1.0.dev1/p.whl", {"dist_id": "nope"})
    assert status == 404
    assert server.files() == {}


def test_faults_by_call_count_and_match(server: AnacondaServer) -> None:
    server.inject("user", ApiFault.error(500), times=2)
    assert call(server, "GET", f"/user/{OWNER}")[0] == 500
    assert call(server, "GET", f"/user/{OWNER}")[0] == 500
    assert call(server, "GET", f"/user/{OWNER}")[0] == 200
    server.inject("dist", ApiFault.expired(), times=None, match="b.whl")
    assert call(server, "GET", f"/dist/{OWNER}/p/1/a.whl")[0] == 404  # no such file: no fault
    for _ in range(3):
        status, answer, _ = call(server, "GET", f"/dist/{OWNER}/p/1/b.whl")
        assert (status, answer["error"]) == (401, EXPIRED)
    server.clear_faults()
    server.inject("package", ApiFault.answer("not json {"))
    status, body, _ = call(server, "GET", f"/package/{OWNER}/p")
    assert (status, body) == (200, b"not json {")
    server.inject("check", ApiFault.drop())
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        call(server, "HEAD", "/")
    assert [c.status for c in server.calls if c.call == "check"] == [0]
    with pytest.raises(ValueError, match="unknown call"):
        server.inject("nonsense", ApiFault.drop())


@pytest.mark.parametrize(
    ("fault", "status", "content_type", "body"),
    [
        (ApiFault.html(503), 503, "text/html", b"<html><head><title>503</title>"),
        (ApiFault.empty(502), 502, "text/plain", b""),
        (ApiFault.text(500), 500, "text/plain", b"upstream failed: not XML, not JSON"),
    ],
    ids=["html-503", "empty-502", "text-500"],
)
def test_proxy_faults_answer_the_storage_call_without_xml(
    server: AnacondaServer, fault: ApiFault, status: int, content_type: str, body: bytes
) -> None:
    server.inject("storage", fault)
    answer_status, answer, headers = call(server, "POST", "/storage/0001", raw=b"")
    assert (answer_status, headers["content-type"]) == (status, content_type)
    assert isinstance(answer, bytes)
    assert answer.startswith(body)
    assert b"<Code>" not in answer


def test_slow_answers_and_latency(server: AnacondaServer) -> None:
    server.inject("user", ApiFault.slow(0.3))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.1)
    connection.request("GET", f"/user/{OWNER}")
    with pytest.raises(TimeoutError):
        connection.getresponse()
    connection.close()
    server.latency = 0.05
    assert call(server, "GET", f"/user/{OWNER}")[0] == 200


def test_simple_index_by_label_and_download_redirect(server: AnacondaServer) -> None:
    server.add_file(OWNER, "skymap", "1.0.dev1", "skymap-1.0.dev1-py3-none-any.whl", b"main")
    server.add_file(
        OWNER, "skymap", "1.0.dev2", "skymap-1.0.dev2-py3-none-any.whl", b"dev", labels=("dev",)
    )
    _, main_page, _ = call(server, "GET", f"/{OWNER}/simple/skymap/", token=None)
    _, dev_page, _ = call(server, "GET", f"/{OWNER}/label/dev/simple/skymap/", token=None)
    assert (b"1.0.dev1" in main_page, b"1.0.dev2" in main_page) == (True, False)
    assert (b"1.0.dev1" in dev_page, b"1.0.dev2" in dev_page) == (False, True)
    _, root, _ = call(server, "GET", f"/{OWNER}/simple/", token=None)
    assert b'href="skymap/"' in root
    assert call(server, "GET", f"/{OWNER}/simple/other/", token=None)[0] == 404
    assert server.simple_url(label="dev").endswith(f"/{OWNER}/label/dev/simple")
    status, _, headers = call(
        server, "GET", f"/download/{OWNER}/skymap/1.0.dev1/skymap-1.0.dev1-py3-none-any.whl"
    )
    assert status == 302
    location = headers["location"].split(str(server.port), 1)[1]
    assert call(server, "GET", location)[1] == b"main"


def test_server_stops_and_frees_its_port() -> None:
    with serve_anaconda() as running:
        port = running.port
        assert call(running, "HEAD", "/", token=None)[0] == 200
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.1", port)) != 0
