"""`nightly_keepalive`: enabling the scheduled workflows, against the GitHub stand-in."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from nightly_sessions import cli
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.testing.github import FakeGitHub, serve_github
from nightly_sessions.testing.pypi import free_port
from nightly_sessions.tracking import keepalive

pytestmark = pytest.mark.integration

WRITE = {"actions": "write"}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with serve_github(permissions=WRITE) as server:
        for name in keepalive.DEFAULT_WORKFLOWS:
            server.add_workflow(name, state="disabled_inactivity")
        yield server


def environ(server: FakeGitHub, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_API_URL": server.url,
        "GITHUB_TOKEN": server.token,
        "GITHUB_REPOSITORY": server.repository,
        **extra,
    }


def parse(*args: str) -> argparse.Namespace:
    parsed = session_args("nightly_keepalive", list(args))
    assert parsed is not None
    return parsed


def enable(server: FakeGitHub, *args: str, lines: list[str] | None = None, **env: str) -> int:
    parsed = parse(*args)
    log = lines.append if lines is not None else print
    return keepalive.run(
        parsed, Settings(), environ=environ(server, **env), sleep=lambda _: None, log=log
    )


def states(server: FakeGitHub) -> dict[str, tuple[str, int]]:
    return {name: (w.state, w.enabled) for name, w in server.workflows.items()}


def test_enables_both_nightly_workflows_by_default(github: FakeGitHub) -> None:
    lines: list[str] = []
    assert enable(github, lines=lines) == 0
    assert states(github) == {
        "nightly-tests.yml": ("active", 1),
        "nightly-wheels.yml": ("active", 1),
    }
    paths = [call.path for call in github.calls("PUT")]
    assert paths == [
        "/repos/octo/project/actions/workflows/nightly-tests.yml/enable",
        "/repos/octo/project/actions/workflows/nightly-wheels.yml/enable",
    ]
    assert lines[0] == (
        "Enabled nightly-tests.yml in octo/project (this keeps GitHub from disabling its schedule)."
    )
    assert all(call.authorization == f"Bearer {github.token}" for call in github.calls("PUT"))


def test_reads_each_state_before_enabling(github: FakeGitHub) -> None:
    github.workflows["nightly-tests.yml"].state = "active"  # enabling it restarts the count too
    assert enable(github) == 0
    assert [(call.method, call.path.rsplit("/", 2)[-2:]) for call in github.requests] == [
        ("GET", ["workflows", "nightly-tests.yml"]),
        ("PUT", ["nightly-tests.yml", "enable"]),
        ("GET", ["workflows", "nightly-wheels.yml"]),
        ("PUT", ["nightly-wheels.yml", "enable"]),
    ]
    assert states(github) == dict.fromkeys(keepalive.DEFAULT_WORKFLOWS, ("active", 1))


@pytest.mark.parametrize("actions", [False, True])
def test_a_workflow_disabled_by_hand_stays_disabled(github: FakeGitHub, actions: bool) -> None:
    """A maintainer switched it off (e.g. after a leaked token): never switch it back on."""
    github.workflows["nightly-wheels.yml"].state = "disabled_manually"
    lines: list[str] = []
    env = {"GITHUB_ACTIONS": "true"} if actions else {}
    assert enable(github, lines=lines, **env) == 0
    assert states(github) == {
        "nightly-tests.yml": ("active", 1),
        "nightly-wheels.yml": ("disabled_manually", 0),
    }
    assert [call.path for call in github.calls("PUT")] == [
        "/repos/octo/project/actions/workflows/nightly-tests.yml/enable"
    ]
    notice = (
        "Left nightly-wheels.yml in octo/project disabled: a maintainer disabled it "
        "(state disabled_manually); enable it on the Actions tab when it should run again."
    )
    prefix = "::notice title=Workflow not enabled::" if actions else "notice: "
    assert lines[1] == prefix + notice


def test_a_workflow_in_another_state_is_left_alone(github: FakeGitHub) -> None:
    github.add_workflow("gone.yml", state="deleted")
    lines: list[str] = []
    assert enable(github, "gone.yml", lines=lines) == 0
    assert github.calls("PUT") == []
    assert lines == [
        (
            "notice: Left gone.yml in octo/project as it is: its state is deleted, and only an "
            "active workflow or one disabled for inactivity is enabled."
        )
    ]


def test_named_workflows_each_once(github: FakeGitHub) -> None:
    github.add_workflow("docs.yaml")
    assert enable(github, "docs.yaml", "nightly-wheels.yml", "docs.yaml") == 0
    assert states(github)["docs.yaml"] == ("active", 1)
    assert states(github)["nightly-tests.yml"] == ("disabled_inactivity", 0)


def test_missing_actions_write_is_a_sentence() -> None:
    with serve_github(permissions={"actions": "read"}) as server:
        server.add_workflow("nightly-tests.yml")
        with pytest.raises(NetworkError) as error:
            enable(server, "nightly-tests.yml")
    assert str(error.value) == (
        "GitHub refused enabling the workflow nightly-tests.yml in octo/project (HTTP 403: "
        "Resource not accessible by integration): give the job `permissions: actions: write`, "
        "or use a token that may manage workflows."
    )


def test_bad_token_is_a_sentence_without_the_token(github: FakeGitHub) -> None:
    with pytest.raises(NetworkError) as error:
        enable(github, GITHUB_TOKEN="ghs_not_the_right_one_123")
    message = str(error.value)
    assert message.startswith("GitHub rejected the token while reading the workflow")
    assert "HTTP 401: Bad credentials" in message
    assert "(1 more workflow(s) failed too.)" in message
    assert "ghs_not_the_right_one_123" not in message


def test_missing_workflow_does_not_stop_the_others(github: FakeGitHub) -> None:
    lines: list[str] = []
    with pytest.raises(NetworkError) as error:
        enable(github, "nightly.yml", "nightly-wheels.yml", lines=lines)
    message = str(error.value)
    assert message.startswith("GitHub answered 404 while reading the workflow nightly.yml")
    assert message.endswith(
        ": check that .github/workflows/nightly.yml exists on the default branch and that the "
        "token can see the repository."
    )
    assert states(github)["nightly-wheels.yml"] == ("active", 1)
    assert lines == [
        "Enabled nightly-wheels.yml in octo/project (this keeps GitHub from disabling its schedule)."
    ]


def test_server_error_is_retried(github: FakeGitHub) -> None:
    github.fail("PUT", r"/enable$", 502)
    assert enable(github, "nightly-tests.yml") == 0
    assert len(github.calls("PUT")) == 2
    assert states(github)["nightly-tests.yml"] == ("active", 1)


def test_unreachable_api_is_a_sentence() -> None:
    port = free_port()
    env = {"GITHUB_API_URL": f"http://127.0.0.1:{port}", "GITHUB_TOKEN": "ghs_secret_value_42"}
    parsed = parse("nightly-tests.yml", "--repository", "octo/p")
    with pytest.raises(NetworkError) as error:
        keepalive.run(parsed, Settings(retries=0), environ=env, sleep=lambda _: None)
    message = str(error.value)
    assert message.startswith(
        "GitHub could not be reached while reading the workflow nightly-tests.yml:"
    )
    assert "ghs_secret_value_42" not in message


def test_dry_run_calls_nothing_and_needs_no_token() -> None:
    lines: list[str] = []
    parsed = parse("--dry-run")
    env = {"GITHUB_REPOSITORY": "octo/p"}
    assert keepalive.run(parsed, Settings(), environ=env, log=lines.append) == 0
    assert lines == [
        "Would enable nightly-tests.yml, nightly-wheels.yml in octo/p (a dry run calls nothing)."
    ]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, r"No GitHub token: set GITHUB_TOKEN or GH_TOKEN .*`permissions: actions: write`"),
        ([], {"GITHUB_TOKEN": "t"}, "No repository: set GITHUB_REPOSITORY or pass --repository"),
        (["--repository", "octo"], {"GITHUB_TOKEN": "t"}, "'octo' is not of the form owner/name"),
        (["../ci.yml"], {}, "'../ci.yml' is not a workflow file name"),
        (["nightly.txt"], {}, "'nightly.txt' is not a workflow file name"),
        ([], {"GITHUB_API_URL": "ftp://x", "GITHUB_REPOSITORY": "o/p"}, "must be an http"),
    ],
)
def test_bad_input_is_one_sentence(args: list[str], env: dict[str, str], message: str) -> None:
    parsed = parse(*args)
    with pytest.raises(ConfigError, match=message):
        keepalive.run(parsed, Settings(), environ=env)


def test_session_arguments_bad_and_help() -> None:
    with pytest.raises(
        ConfigError, match=r"unrecognized .*--all.*see `nox -s nightly_keepalive -- --help`"
    ):
        session_args("nightly_keepalive", ["--all"])
    logged: list[str] = []
    assert session_args("nightly_keepalive", ["--help"], logged.append) is None
    assert "WORKFLOW" in logged[0]


def test_command_line_exit_code_and_message(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in environ(github).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    assert cli.main(["keepalive", "nightly-wheels.yml"]) == 0
    assert "Enabled nightly-wheels.yml" in capsys.readouterr().out
    assert cli.main(["keepalive", "missing.yml"]) == 3
    assert "nightly-sessions: GitHub answered 404" in capsys.readouterr().err
