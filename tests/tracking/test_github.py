"""The GitHub client against the loopback stand-in: calls, pagination, errors, rate limits."""

from __future__ import annotations

import pytest

from nightly_sessions.core.errors import NetworkError
from nightly_sessions.testing.github import (
    FakeGitHub,
    JobRecord,
    StepRecord,
    make_zip,
    serve_github,
)
from nightly_sessions.testing.pypi import free_port
from nightly_sessions.tracking.github import GitHub, JobStep


class Sleeps:
    """An injectable sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client_for(server: FakeGitHub, sleep: Sleeps | None = None, **options: float) -> GitHub:
    return GitHub(
        api_url=server.url,
        repository=server.repository,
        token=server.token,
        sleep=sleep or Sleeps(),
        clock=lambda: 1_000_000.0,
        **options,  # type: ignore[arg-type]
    )


def test_issue_round_trip(github_server: FakeGitHub) -> None:
    client = client_for(github_server)
    created = client.create_issue("Nightly tests are failing", "body one", ["nightly-failure"])
    assert created.number == 1
    assert created.url.endswith("/octo/project/issues/1")
    client.update_issue(1, body="body two")
    client.comment(1, "still failing")
    closed = client.close_issue(1)
    assert closed.state == "closed"
    [issue] = github_server.issues()
    assert (issue.body, issue.comments, issue.state_reason) == (
        "body two",
        ["still failing"],
        "completed",
    )
    request = github_server.calls("POST", r"/issues$")[0]
    assert request.authorization == f"Bearer {github_server.token}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"


def test_open_issues_follows_pages_and_skips_pull_requests() -> None:
    with serve_github(max_per_page=2) as server:
        for n in range(5):
            server.add_issue(f"issue {n}", f"body {n}", ["nightly-failure"])
        server.add_issue("a pull request", "body", ["nightly-failure"], pull_request=True)
        server.add_issue("other label", "body", ["bug"])
        server.add_issue("closed", "body", ["nightly-failure"], state="closed")
        numbers = [issue.number for issue in client_for(server).open_issues("nightly-failure")]
        assert numbers == [5, 4, 3, 2, 1]
        assert len(server.calls("GET", r"/issues$")) == 3


def test_repr_never_shows_the_token(github_server: FakeGitHub) -> None:
    client = client_for(github_server)
    assert github_server.token not in repr(client)
    assert "octo/project" in repr(client)


@pytest.mark.parametrize(("comments", "gets"), [(3, 1), (25, 3), (11, 3)])
def test_recent_comments_reads_the_newest_pages(comments: int, gets: int) -> None:
    with serve_github(max_per_page=10) as server:
        number = server.add_issue("tracking", "body")
        for n in range(comments):
            server.issue_records[number].comments.append(f"comment {n}")
        found = client_for(server).recent_comments(number)
        bodies = [comment.body for comment in found]
        assert bodies[-1] == f"comment {comments - 1}"  # oldest first, the newest included
        assert len(bodies) >= min(comments, 10)
        assert bodies == sorted(bodies, key=lambda text: int(text.split()[1]))
        assert len(server.calls("GET", r"/comments$")) == gets


def test_label_is_created_once(github_server: FakeGitHub) -> None:
    client = client_for(github_server)
    client.ensure_label("nightly failure", "d73a4a", "Nightly tests fail")
    client.ensure_label("nightly failure", "d73a4a", "Nightly tests fail")
    assert github_server.labels["nightly failure"]["color"] == "d73a4a"
    assert len(github_server.calls("POST", r"/labels$")) == 1
    assert github_server.calls("GET", r"/labels/")[0].path.endswith("/labels/nightly%20failure")


def test_label_created_concurrently_counts_as_existing(github_server: FakeGitHub) -> None:
    github_server.labels["nightly-failure"] = {"name": "nightly-failure", "color": "ededed"}
    github_server.fail("GET", r"/labels/", 404)  # another job creates it between GET and POST
    client_for(github_server).ensure_label("nightly-failure", "d73a4a", "")
    assert len(github_server.calls("POST", r"/labels$")) == 1


def test_bad_label_colour_is_a_sentence(github_server: FakeGitHub) -> None:
    with pytest.raises(
        NetworkError, match=r"creating label 'x' \(HTTP 422: Validation Failed; invalid\)"
    ):
        client_for(github_server).ensure_label("x", "red", "")


def test_bad_token_is_a_sentence_without_the_token(github_server: FakeGitHub) -> None:
    client = GitHub(api_url=github_server.url, repository="octo/project", token="ghs_wrongtoken123")
    with pytest.raises(NetworkError) as error:
        list(client.open_issues("nightly-failure"))
    message = str(error.value)
    assert message.startswith("GitHub rejected the token while listing the open issues")
    assert "HTTP 401: Bad credentials" in message
    assert "GITHUB_TOKEN" in message
    assert "ghs_wrongtoken123" not in message


def test_missing_permission_says_which() -> None:
    with serve_github(permissions={"issues": "read"}) as server:
        client = client_for(server)
        assert list(client.open_issues("x")) == []
        with pytest.raises(NetworkError) as error:
            client.create_issue("t", "b", [])
    message = str(error.value)
    assert "HTTP 403: Resource not accessible by integration" in message
    assert "`permissions: issues: write`" in message


def test_unknown_repository_is_a_sentence(github_server: FakeGitHub) -> None:
    client = GitHub(api_url=github_server.url, repository="octo/other", token=github_server.token)
    with pytest.raises(
        NetworkError, match=r"answered 404 .*check that the repository octo/other exists"
    ):
        list(client.open_issues("x"))


def test_body_over_the_limit_is_refused_with_githubs_reason(github_server: FakeGitHub) -> None:
    with pytest.raises(NetworkError, match=r"HTTP 422: Validation Failed; body is too long"):
        client_for(github_server).create_issue("t", "x" * 65_537, [])
    assert github_server.issues() == []


def test_rate_limit_429_waits_for_retry_after(github_server: FakeGitHub) -> None:
    sleeps = Sleeps()
    github_server.fail("GET", r"/issues$", 429, times=2, headers={"retry-after": "7"})
    assert list(client_for(github_server, sleeps).open_issues("x")) == []
    assert sleeps.calls == [7.0, 7.0]


def test_rate_limit_403_waits_until_reset(github_server: FakeGitHub) -> None:
    sleeps = Sleeps()
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 30)}
    github_server.fail("GET", r"/issues$", 403, headers=reset, message="API rate limit exceeded")
    assert list(client_for(github_server, sleeps).open_issues("x")) == []
    assert sleeps.calls == [31.0]


def test_rate_limit_beyond_the_bound_fails_without_waiting(github_server: FakeGitHub) -> None:
    sleeps = Sleeps()
    github_server.fail("GET", r"/issues$", 429, times=5, headers={"retry-after": "3600"})
    with pytest.raises(
        NetworkError, match=r"rate limit stopped listing .*3600 s from now.*re-run the job later"
    ):
        list(client_for(github_server, sleeps, max_wait=120).open_issues("x"))
    assert sleeps.calls == []


def test_rate_limit_waits_add_up_to_the_bound(github_server: FakeGitHub) -> None:
    sleeps = Sleeps()
    github_server.fail("GET", r"/issues$", 429, times=10, headers={"retry-after": "50"})
    with pytest.raises(NetworkError, match="rate limit"):
        list(client_for(github_server, sleeps, max_wait=120).open_issues("x"))
    assert sleeps.calls == [50.0, 50.0]


def test_server_error_on_a_read_is_retried(github_server: FakeGitHub) -> None:
    sleeps = Sleeps()
    github_server.fail("GET", r"/issues$", 502, times=2)
    assert list(client_for(github_server, sleeps, backoff=0.5).open_issues("x")) == []
    assert sleeps.calls == [0.5, 1.0]


def test_server_error_on_create_is_not_retried(github_server: FakeGitHub) -> None:
    github_server.fail("POST", r"/issues$", 500, after=True)  # created, but the answer is lost
    with pytest.raises(NetworkError, match=r"HTTP 500 while opening the tracking issue"):
        client_for(github_server).create_issue("t", "b", [])
    assert len(github_server.calls("POST", r"/issues$")) == 1
    assert len(github_server.issues()) == 1  # exactly one, never a duplicate


def test_server_errors_beyond_the_retries_are_a_sentence(github_server: FakeGitHub) -> None:
    github_server.fail("GET", r"/issues$", 503, times=10)
    with pytest.raises(
        NetworkError, match=r"^GitHub answered HTTP 503 while listing .*retry later\.$"
    ):
        list(client_for(github_server, retries=2).open_issues("x"))
    assert len(github_server.calls("GET", r"/issues$")) == 3


def test_unreachable_api_is_a_sentence() -> None:
    sleeps = Sleeps()
    client = GitHub(
        api_url=f"http://127.0.0.1:{free_port()}", repository="o/r", token="ghs_unreachable1",
        sleep=sleeps, retries=1, timeout=5,
    )  # fmt: skip
    with pytest.raises(NetworkError) as error:
        list(client.open_issues("x"))
    message = str(error.value)
    assert message.startswith("GitHub could not be reached while listing the open issues")
    assert "ghs_unreachable1" not in message
    assert len(sleeps.calls) == 1


def test_enterprise_server_api_prefix() -> None:
    with serve_github(api_prefix="/api/v3") as server:
        assert server.url.endswith("/api/v3")
        client = client_for(server)
        client.create_issue("t", "b", [])
        assert [i.number for i in client.open_issues("")] == [1]


def test_last_green_run_and_artifact_download(github_server: FakeGitHub) -> None:
    github_server.add_run(conclusion="success", artifacts={"old": {"a.txt": b"old"}})
    green = github_server.add_run(
        conclusion="success", artifacts={"nightly-reports-py3.12-Linux": {"r.json": b"{}"}}
    )
    github_server.add_run(conclusion="failure")
    github_server.add_run(conclusion="success", branch="feature")
    client = client_for(github_server)
    run = client.latest_successful_run("nightly.yml", "main")
    assert run is not None
    assert run.id == green
    [artifact] = client.artifacts(green)
    assert artifact.name == "nightly-reports-py3.12-Linux"
    assert client.download_artifact(artifact.id) == make_zip({"r.json": b"{}"})
    [blob] = github_server.calls("GET", r"^/_blobs/")
    assert blob.authorization is None  # the token never goes to the storage URL
    assert client.latest_successful_run("other.yml", "main") is None


def test_expired_artifact_is_a_sentence(github_server: FakeGitHub) -> None:
    run = github_server.add_run(artifacts={"nightly-reports-a": {"r": b""}}, expired=True)
    client = client_for(github_server)
    [artifact] = client.artifacts(run)
    assert artifact.expired
    with pytest.raises(NetworkError, match="the artifact has expired"):
        client.download_artifact(artifact.id)


def test_runs_need_actions_read() -> None:
    with (
        serve_github(permissions={"issues": "write"}) as server,
        pytest.raises(NetworkError, match=r"HTTP 403.*`actions: read`"),
    ):
        client_for(server).latest_successful_run("nightly.yml", "main")


def test_run_jobs_follow_pages_with_their_steps() -> None:
    jobs = [
        JobRecord(f"Build {n}", "success", steps=[StepRecord("Set up job"), StepRecord("Build")])
        for n in range(3)
    ]
    jobs.append(JobRecord("Report", None, status="in_progress"))
    with serve_github(max_per_page=2) as server:
        run = server.add_run(jobs=jobs)
        found = client_for(server).run_jobs(run)
    assert [(j.name, j.status, j.conclusion) for j in found] == [
        ("Build 0", "completed", "success"),
        ("Build 1", "completed", "success"),
        ("Build 2", "completed", "success"),
        ("Report", "in_progress", None),
    ]
    assert found[0].steps[1] == JobStep(2, "Build", "completed", "success")
    assert found[0].url.endswith(f"/octo/project/actions/runs/{run}/job/{jobs[0].id}")
    assert [call.query.get("page") for call in server.calls("GET", "/jobs$")] == [None, "2"]


def test_enable_workflow_needs_actions_write() -> None:
    with serve_github(permissions={"actions": "write"}) as server:
        server.add_workflow("nightly-wheels.yml", state="disabled_inactivity")
        client_for(server).enable_workflow("nightly-wheels.yml")
        assert server.workflows["nightly-wheels.yml"].state == "active"
        server.permissions["actions"] = "read"
        with pytest.raises(NetworkError, match=r"HTTP 403.*`permissions: actions: write`"):
            client_for(server).enable_workflow("nightly-wheels.yml")


def test_workflow_state_needs_actions_read() -> None:
    with serve_github(permissions={"actions": "read"}) as server:
        server.add_workflow("nightly-wheels.yml", state="disabled_manually")
        assert client_for(server).workflow_state("nightly-wheels.yml") == "disabled_manually"
        with pytest.raises(NetworkError, match=r"404 while reading the workflow missing\.yml"):
            client_for(server).workflow_state("missing.yml")
        server.permissions["actions"] = "none"
        with pytest.raises(NetworkError, match=r"HTTP 403.*`permissions: actions: read`"):
            client_for(server).workflow_state("nightly-wheels.yml")
