"""The GitHub stand-in itself, spoken to with plain urllib: it must behave like the reference."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest

from nightly_sessions.testing.github import FakeGitHub, JobRecord, StepRecord, serve_github


def call(
    server: FakeGitHub, method: str, path: str, body: Any = None, *, token: str | None = "default"
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Accept": "application/vnd.github+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {server.token if token == 'default' else token}"
    data = json.dumps(body).encode() if body is not None else None
    url = path if path.startswith("http") else f"{server.url}{path}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None, dict(answer.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw.startswith(b"{") else raw, dict(error.headers)


REPO = "/repos/octo/project"


def test_create_list_and_close(github_server: FakeGitHub) -> None:
    status, issue, _ = call(
        github_server, "POST", f"{REPO}/issues", {"title": "t", "body": "b", "labels": ["new"]}
    )
    assert status == 201
    assert issue["number"] == 1
    assert github_server.labels["new"]["name"] == "new"  # GitHub creates unknown labels
    status, issues, _ = call(github_server, "GET", f"{REPO}/issues?labels=new&state=open")
    assert [i["number"] for i in issues] == [1]
    status, issue, _ = call(
        github_server, "PATCH", f"{REPO}/issues/1", {"state": "closed", "state_reason": "completed"}
    )
    assert (status, issue["state"], issue["state_reason"]) == (200, "closed", "completed")
    assert call(github_server, "GET", f"{REPO}/issues?labels=new")[1] == []
    assert len(call(github_server, "GET", f"{REPO}/issues?labels=new&state=all")[1]) == 1


def test_bad_token_missing_token_and_other_repository(github_server: FakeGitHub) -> None:
    assert call(github_server, "GET", f"{REPO}/issues", token="nope")[:2] == (
        401,
        {"message": "Bad credentials"},
    )
    assert call(github_server, "GET", f"{REPO}/issues", token=None)[0] == 401
    assert call(github_server, "GET", "/repos/octo/elsewhere/issues")[0] == 404
    assert call(github_server, "GET", f"{REPO}/unknown")[0] == 404


def test_permissions_are_enforced() -> None:
    with serve_github(permissions={"issues": "read"}) as server:
        assert call(server, "GET", f"{REPO}/issues")[0] == 200
        status, body, _ = call(server, "POST", f"{REPO}/issues", {"title": "t"})
        assert (status, body["message"]) == (403, "Resource not accessible by integration")
        assert call(server, "GET", f"{REPO}/actions/workflows/n.yml/runs")[0] == 403


def test_validation(github_server: FakeGitHub) -> None:
    assert call(github_server, "POST", f"{REPO}/issues", {"body": "no title"})[0] == 422
    status, body, _ = call(
        github_server, "POST", f"{REPO}/issues", {"title": "t", "body": "x" * 65_537}
    )
    assert status == 422
    assert "too long" in body["errors"][0]["message"]
    assert (
        call(github_server, "POST", f"{REPO}/issues", {"title": "t", "body": "x" * 65_536})[0]
        == 201
    )
    assert call(github_server, "POST", f"{REPO}/labels", {"name": "a", "color": "#fff"})[0] == 422
    assert call(github_server, "POST", f"{REPO}/labels", {"name": "a", "color": "ffffff"})[0] == 201
    status, body, _ = call(
        github_server, "POST", f"{REPO}/labels", {"name": "a", "color": "ffffff"}
    )
    assert (status, body["errors"][0]["code"]) == (422, "already_exists")
    assert call(github_server, "GET", f"{REPO}/labels/a")[0] == 200
    assert call(github_server, "GET", f"{REPO}/labels/b")[0] == 404


def test_pagination_links() -> None:
    with serve_github(max_per_page=2) as server:
        for n in range(5):
            server.add_issue(f"i{n}")
        _, page, headers = call(server, "GET", f"{REPO}/issues?per_page=100")
        assert [i["number"] for i in page] == [5, 4]
        assert 'rel="next"' in headers["link"]
        next_url = headers["link"].split(";")[0].strip("<>")
        assert [i["number"] for i in call(server, "GET", next_url)[1]] == [3, 2]
        _, last, headers = call(server, "GET", f"{REPO}/issues?page=3")
        assert [i["number"] for i in last] == [1]
        link = {name.lower(): value for name, value in headers.items()}["link"]
        assert 'rel="next"' not in link  # the last page links back, like GitHub's
        assert 'page=2>; rel="prev"' in link
        assert 'page=1>; rel="first"' in link
        _, _, headers = call(server, "GET", f"{REPO}/issues?per_page=100&page=1")
        assert 'rel="prev"' not in headers["link"]


def test_comments_are_listed_oldest_first_in_pages() -> None:
    with serve_github(max_per_page=2) as server:
        server.add_issue("t")
        for n in range(5):
            assert call(server, "POST", f"{REPO}/issues/1/comments", {"body": f"c{n}"})[0] == 201
        _, page, headers = call(server, "GET", f"{REPO}/issues/1/comments?per_page=100")
        assert [c["body"] for c in page] == ["c0", "c1"]
        last_url = headers["link"].split(", ")[1].split(";")[0].strip("<>")
        assert last_url.endswith("page=3")
        _, last, headers = call(server, "GET", last_url)
        assert [c["body"] for c in last] == ["c4"]
        assert 'page=2>; rel="prev"' in headers["link"]


def test_faults_are_counted_and_can_come_after_the_work(github_server: FakeGitHub) -> None:
    github_server.fail("GET", r"/issues$", 429, times=2, headers={"retry-after": "3"})
    first = call(github_server, "GET", f"{REPO}/issues")
    assert (first[0], first[2]["retry-after"]) == (429, "3")
    assert call(github_server, "GET", f"{REPO}/issues")[0] == 429
    assert call(github_server, "GET", f"{REPO}/issues")[0] == 200
    github_server.fail("POST", r"/comments$", 500, after=True)
    github_server.add_issue("t")
    assert call(github_server, "POST", f"{REPO}/issues/1/comments", {"body": "hi"})[0] == 500
    assert github_server.issues()[0].comments == ["hi"]


def test_artifact_download_redirects_to_a_url_that_refuses_tokens(
    github_server: FakeGitHub,
) -> None:
    run = github_server.add_run(artifacts={"nightly-reports-x": {"a.json": b"{}"}})
    _, listing, _ = call(github_server, "GET", f"{REPO}/actions/runs/{run}/artifacts")
    [artifact] = listing["artifacts"]
    opener = urllib.request.build_opener(NoRedirect())
    request = urllib.request.Request(
        f"{github_server.url}{REPO}/actions/artifacts/{artifact['id']}/zip",
        headers={"Authorization": f"Bearer {github_server.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=10)
    assert redirect.value.code == 302
    location = redirect.value.headers["location"]
    redirect.value.close()
    assert call(github_server, "GET", location)[0] == 400  # with the token: refused
    with urllib.request.urlopen(location, timeout=10) as blob:
        assert blob.read()[:2] == b"PK"
    assert call(github_server, "GET", location.replace("sig=", "sig=x"), token=None)[0] == 403


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_stops_cleanly() -> None:
    with serve_github() as server:
        port = server.port
        assert call(server, "GET", f"{REPO}/issues")[0] == 200
    with socket.socket() as probe:
        probe.settimeout(2)
        with pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))


def test_run_jobs_as_the_actions_api_lists_them(github_server: FakeGitHub) -> None:
    build = JobRecord(
        "Build", "failure", steps=[StepRecord("Set up job"), StepRecord("Build", "failure")]
    )
    run = github_server.add_run(jobs=[build, JobRecord("Report", None, status="in_progress")])
    status, data, _ = call(github_server, "GET", f"{REPO}/actions/runs/{run}/jobs")
    assert (status, data["total_count"]) == (200, 2)
    first = data["jobs"][0]
    assert (first["id"], first["run_id"], first["conclusion"]) == (build.id, run, "failure")
    assert (
        first["html_url"]
        == f"{github_server.root_url}/octo/project/actions/runs/{run}/job/{build.id}"
    )
    assert first["steps"][1] == {
        "name": "Build",
        "status": "completed",
        "conclusion": "failure",
        "number": 2,
    }
    assert data["jobs"][1]["conclusion"] is None
    assert call(github_server, "GET", f"{REPO}/actions/runs/1/jobs")[0] == 404


def test_enabling_a_workflow_needs_actions_write() -> None:
    with serve_github(permissions={"actions": "write"}) as server:
        record = server.add_workflow("nightly.yml", state="disabled_inactivity")
        status, body, _ = call(server, "PUT", f"{REPO}/actions/workflows/nightly.yml/enable")
        assert (status, body, record.state, record.enabled) == (204, None, "active", 1)
        assert call(server, "PUT", f"{REPO}/actions/workflows/other.yml/enable")[0] == 404
        server.permissions["actions"] = "read"
        assert call(server, "PUT", f"{REPO}/actions/workflows/nightly.yml/enable")[0] == 403
        assert record.enabled == 1


def test_reading_a_workflow_gives_its_state() -> None:
    with serve_github(permissions={"actions": "read"}) as server:
        server.add_workflow("nightly.yml", state="disabled_manually")
        status, body, _ = call(server, "GET", f"{REPO}/actions/workflows/nightly.yml")
        assert status == 200
        assert (body["path"], body["state"]) == (
            ".github/workflows/nightly.yml",
            "disabled_manually",
        )
        assert isinstance(body["id"], int)
        assert call(server, "GET", f"{REPO}/actions/workflows/other.yml")[0] == 404
        server.permissions["actions"] = "none"
        assert call(server, "GET", f"{REPO}/actions/workflows/nightly.yml")[0] == 403
