"""The upload token check against the loopback anaconda.org: warned in time, never shown.

The autouse fixture of conftest.py also checks, after every test, that the token is in
no output and in no file below tmp_path (the report included).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from channel.upload_world import (
    ENV,
    OWNER,
    TOKEN,
    assert_channel_holds,
    options,
    own_client,
    run,
    wheels,
)
from nightly_sessions import cli
from nightly_sessions.channel import token_check
from nightly_sessions.channel.token_check import TokenCheckOptions, TokenProblem, judge
from nightly_sessions.channel.upload import upload
from nightly_sessions.core.artifacts import TOKEN_NAME
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.testing.anaconda import EXPIRED, AnacondaServer, ApiFault

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
LOGIN = "jdoe"
RENEWAL = (
    f"the anaconda.org user {LOGIN} must make a new personal token at "
    f"https://anaconda.org/{LOGIN}/settings/access with the scopes SPEC 4 names, "
    'pypi:upload ("Allow uploads to Standard Python repositories"), '
    'api:read ("Allow read access to the API site"), '
    'api:write ("Allow write access to the API site"), '
    "and store it as the secret ANACONDA_ORG_UPLOAD_TOKEN"
)


def check_options(server: AnacondaServer, tmp_path: Path, **changes: Any) -> TokenCheckOptions:
    base = TokenCheckOptions(
        api_url=server.url, report_dir=tmp_path / "reports" / "token", http_timeout=5.0,
        http_retries=1,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def check(
    server: AnacondaServer, tmp_path: Path, *, now: datetime = NOW, **changes: Any
) -> tuple[token_check.TokenStatus, list[str], str]:
    """Run the check at `now` (the stand-in's clock too) with a step summary; return the
    status, the log lines and the summary."""
    server.clock = lambda: now
    summary = tmp_path / "summary.md"
    lines: list[str] = []
    status = token_check.run(
        check_options(server, tmp_path, **changes), TOKEN,
        environ={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_RUN_ID": "4242"},
        log=lines.append, now=now,
    )  # fmt: skip
    text = summary.read_text() if summary.exists() else ""
    assert TOKEN not in "\n".join(lines) + text
    return status, lines, text


def report(tmp_path: Path) -> dict[str, object]:
    data = json.loads((tmp_path / "reports" / "token" / TOKEN_NAME).read_text())
    assert isinstance(data, dict)
    return data


def test_a_token_ten_days_from_expiry_warns_with_the_date_and_the_renewal_steps(
    server: AnacondaServer, tmp_path: Path
) -> None:
    server.add_token(TOKEN, login=LOGIN, expires=NOW + timedelta(days=10, hours=2))
    status, lines, summary = check(server, tmp_path)
    assert status.outcome == "warning"
    assert status.days_left == 10
    [line] = lines
    assert line == (
        "warning: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN (nightly-uploads) "
        "expires on 2026-12-03 at 11:30 UTC, in 10 days, and from then on every nightly upload "
        f"fails: {RENEWAL} (of the repository, or of the environment the upload job runs in) "
        "in place of the old one."
    )
    assert summary.startswith("### anaconda.org upload token: expires in 10 days\n\n")
    assert line.removeprefix("warning: ") in summary
    written = report(tmp_path)
    assert written["outcome"] == "warning"
    assert written["expires"] == "2026-12-03T11:30:00+00:00"
    assert (written["days_left"], written["login"], written["run_id"]) == (10, LOGIN, "4242")
    assert written["warnings"] == [line.removeprefix("warning: ")]
    # The API was asked about the token and its account, and nothing else.
    assert [call.call for call in server.calls] == ["authentication", "whoami"]
    assert all(call.token == TOKEN for call in server.calls)


def test_a_token_far_from_expiry_passes_quietly(server: AnacondaServer, tmp_path: Path) -> None:
    server.add_token(TOKEN, expires=NOW + timedelta(days=200))
    status, lines, summary = check(server, tmp_path)
    assert status.outcome == "ok"
    assert lines == [
        (
            "The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN (nightly-uploads) is "
            "valid until 2027-06-11 (200 days left) and has the scopes SPEC 4 asks for."
        )
    ]
    assert summary == ""  # nothing to say on the run page
    assert report(tmp_path)["outcome"] == "ok"
    assert [call.call for call in server.calls] == ["authentication"]


@pytest.mark.parametrize(
    ("days", "warns"), [(9, False), (10, True), (30, True)], ids=["9", "10", "30"]
)
def test_the_warning_starts_token_warn_days_before(
    server: AnacondaServer, tmp_path: Path, days: int, warns: bool
) -> None:
    server.add_token(TOKEN, expires=NOW + timedelta(days=10, hours=2))
    status, _, _ = check(server, tmp_path, warn_days=days)
    assert (status.outcome == "warning") is warns


def test_a_missing_scope_is_named_before_an_upload_fails_on_it(
    server: AnacondaServer, tmp_path: Path
) -> None:
    server.add_token(TOKEN, login=LOGIN, scopes=("api:read", "api:write", "conda:download"))
    with pytest.raises(TokenProblem) as caught:
        check(server, tmp_path)
    message = str(caught.value)
    assert caught.value.exit_code == ConfigError.exit_code == 2
    assert message.startswith(
        "The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN (nightly-uploads) lacks the "
        'scope pypi:upload ("Allow uploads to Standard Python repositories") that SPEC 4 asks '
        "for (it has api:read, api:write, conda:download), so the upload would fail on it; "
        f"{RENEWAL}"
    )
    assert report(tmp_path)["missing_scopes"] == ["pypi:upload"]


def test_wider_scopes_count_and_several_missing_are_all_named() -> None:
    def missing(*scopes: str) -> tuple[str, ...]:
        return token_check.missing_scopes(scopes)

    assert missing("all") == ()
    assert missing("pypi", "api") == ()
    assert missing("repos", "api:read", "api:write") == ()
    assert missing("api:read") == ("pypi:upload", "api:write")
    status = judge(
        {"expires": None, "scopes": ["conda"]}, None, token_env="T", warn_days=30, now=NOW
    )
    assert status.outcome == "missing-scopes"
    assert status.message is not None
    assert 'pypi:upload ("Allow uploads to Standard Python repositories"), api:read' in (
        status.message
    )
    assert 'and api:write ("Allow write access to the API site") that SPEC 4' in status.message


def test_an_expired_token_says_expired(server: AnacondaServer, tmp_path: Path) -> None:
    server.add_token(TOKEN, expired=True)
    with pytest.raises(TokenProblem) as caught:
        check(server, tmp_path)
    message = str(caught.value)
    assert message.startswith(
        "The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN has expired (anaconda.org "
        f"answered 401: {EXPIRED}), so no nightly can be uploaded; the anaconda.org user it "
        "belongs to must make a new personal token at https://anaconda.org/<user>/settings/access"
    )
    assert "\n" not in message
    assert report(tmp_path)["outcome"] == "expired"


def test_an_expiry_date_already_past_is_expired_too() -> None:
    """anaconda.org answers 401 for an expired token; should it describe one, the date says it."""
    record = {"expires": "2026-11-20T08:00:00+00:00", "scopes": ["all"], "application": "ci"}
    status = judge(record, LOGIN, token_env="T", warn_days=30, now=NOW)
    assert status.outcome == "expired"
    assert status.message is not None
    assert status.message.startswith(
        "The anaconda.org upload token in T (ci) expired on 2026-11-20 at 08:00 UTC"
    )


def test_a_token_anaconda_org_does_not_know_is_refused(
    server: AnacondaServer, tmp_path: Path
) -> None:
    server.add_token(TOKEN)
    lines: list[str] = []
    with pytest.raises(TokenProblem, match=r"does not accept the upload token .*Invalid token"):
        token_check.run(
            check_options(server, tmp_path), "a-revoked-token-9", environ={}, log=lines.append
        )
    assert "a-revoked-token-9" not in "\n".join(lines) + json.dumps(report(tmp_path))


def test_a_token_that_never_expires_or_an_unreadable_date(
    server: AnacondaServer, tmp_path: Path
) -> None:
    server.add_token(TOKEN, expires=None, scopes=("all",))
    assert check(server, tmp_path)[1] == [
        (
            "The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN (nightly-uploads) never "
            "expires and has the scopes SPEC 4 asks for."
        )
    ]
    server.add_token(TOKEN, expires="next spring")
    status, lines, _ = check(server, tmp_path)
    assert status.outcome == "warning"
    [line] = lines
    assert "as 'next spring', which is not a date, so nobody can be warned" in line


def test_scopes_anaconda_org_did_not_list_are_a_note_not_a_refusal(
    server: AnacondaServer, tmp_path: Path
) -> None:
    server.add_token(TOKEN, scopes=())
    status, lines, _ = check(server, tmp_path)
    assert status.outcome == "ok"
    assert lines[0].endswith("; anaconda.org did not list its scopes, so they were not checked.")


def test_an_api_that_cannot_be_asked_is_exit_3_for_the_check(
    server: AnacondaServer, tmp_path: Path
) -> None:
    server.inject("authentication", ApiFault.error(503), times=None)
    with pytest.raises(NetworkError) as caught:
        check(server, tmp_path)
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith(
        "The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN could not be checked: "
        f"GET {server.url}/authentication answered HTTP 503"
    )
    assert report(tmp_path)["outcome"] == "unreadable"


def test_an_annotation_on_github_actions(server: AnacondaServer, tmp_path: Path) -> None:
    server.add_token(TOKEN, expires=NOW + timedelta(days=3))
    server.clock = lambda: NOW
    lines: list[str] = []
    environ = {"GITHUB_ACTIONS": "true"}
    token_check.run(
        check_options(server, tmp_path), TOKEN, environ=environ, log=lines.append, now=NOW
    )
    [line] = lines
    assert line.startswith("::warning title=anaconda.org upload token::The anaconda.org")
    assert "in 3 days" in line


# The command: `nox -s nightly_token`, `python -m nightly_sessions token`.


@pytest.fixture
def project(tmp_path: Path, server: AnacondaServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    for name in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_ACTIONS", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NIGHTLY_ANACONDA_API_URL", server.url)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    return folder


def test_the_command_warns_and_passes_then_refuses_with_exit_2(
    server: AnacondaServer,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANACONDA_ORG_UPLOAD_TOKEN", TOKEN)
    server.add_token(TOKEN, login=LOGIN, expires=timedelta(days=10, hours=1))
    assert cli.main(["--project", str(project), "token"]) == 0
    out, err = capfd.readouterr()
    assert out.startswith("warning: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN")
    assert "in 10 days" in out
    written = project / "nightly-reports" / "token" / TOKEN_NAME
    assert json.loads(written.read_text())["outcome"] == "warning"
    # The setting (its variable) moves the start of the warning.
    monkeypatch.setenv("NIGHTLY_TOKEN_WARN_DAYS", "7")
    assert cli.main(["--project", str(project), "token"]) == 0
    assert "warning" not in capfd.readouterr().out
    assert cli.main(["--project", str(project), "token", "--days", "12"]) == 0
    assert "in 10 days" in capfd.readouterr().out
    server.add_token(TOKEN, expired=True)
    assert cli.main(["--project", str(project), "token"]) == 2
    out, err = capfd.readouterr()
    assert err.startswith(
        "nightly-sessions: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN has expired"
    )
    assert TOKEN not in out + err


def test_the_command_without_a_token(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """One sentence outside GitHub's fork rule; a notice in a fork, where secrets are withheld."""
    monkeypatch.delenv("ANACONDA_ORG_UPLOAD_TOKEN", raising=False)
    assert cli.main(["--project", str(project), "token"]) == 2
    assert "ANACONDA_ORG_UPLOAD_TOKEN is empty or unset, so nothing can be checked" in (
        capfd.readouterr().err
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"fork": True}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli.main(["--project", str(project), "token"]) == 0
    assert capfd.readouterr().out == (
        "::notice title=Upload token not checked::no token in ANACONDA_ORG_UPLOAD_TOKEN in a "
        "fork, so the upload token was not checked.\n"
    )
    (project / "pyproject.toml").write_text(
        '[project]\nname = "skymap"\n\n[tool.nightly-sessions]\nskip-upload-without-token = false\n'
    )
    assert cli.main(["--project", str(project), "token"]) == 2


# At the start of the upload.


def test_the_upload_warns_and_goes_on(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    server.add_token(TOKEN, login=LOGIN, expires=timedelta(days=10, hours=1))
    summary = tmp_path / "summary.md"
    report_dir = tmp_path / "reports" / "token"
    checks = TokenCheckOptions(api_url=server.url, report_dir=report_dir)
    upload(
        options(server, dist), client=own_client,
        environ={**ENV, "GITHUB_STEP_SUMMARY": str(summary)}, check=checks,
    )  # fmt: skip
    assert_channel_holds(server, wheels(dist))
    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    assert "warning: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN" in out
    assert "3 uploaded, 0 skipped, 0 failed" in out
    markdown = summary.read_text()
    assert markdown.index("### anaconda.org upload token: expires in 10 days") < markdown.index(
        f"### Nightly upload to {OWNER}"
    )
    assert json.loads((report_dir / TOKEN_NAME).read_text())["outcome"] == "warning"
    calls = [call.call for call in server.calls]
    assert calls.index("authentication") < calls.index("dist") < calls.index("stage")


def test_the_upload_refuses_a_missing_scope_before_sending_a_file(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def no_client() -> Path:
        raise AssertionError("a token without pypi:upload must stop before anaconda-client")

    server.add_token(TOKEN, scopes=("api:read", "api:write"))
    summary = tmp_path / "summary.md"
    with pytest.raises(TokenProblem, match=r"lacks the scope pypi:upload"):
        upload(
            options(server, dist), client=no_client,
            environ={**ENV, "GITHUB_STEP_SUMMARY": str(summary)},
        )  # fmt: skip
    assert server.files() == {}
    assert {call.call for call in server.calls} <= {"authentication", "whoami"}
    out = capfd.readouterr().out
    why = "the upload token lacks a scope SPEC 4 asks for"
    assert f"Upload to {OWNER} (label main): 3 not sent because {why}." in out
    markdown = summary.read_text()
    assert markdown.count("lacks the scope pypi:upload") == 1  # the upload's stop, once
    assert markdown.count(f"| **not sent** | {why} |") == 3


def test_the_upload_goes_on_when_the_token_cannot_be_checked(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server.inject("authentication", ApiFault.error(500), times=None)
    report_ = run(options(server, dist))
    assert len(report_.uploaded) == 3
    out = capfd.readouterr().out
    assert (
        "warning: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN could not be " in out
    )
    assert "answered HTTP 500 (injected HTTP 500); the upload goes on." in out


@pytest.mark.integration
def test_nox_session_checks_the_token(server: AnacondaServer, project: Path) -> None:
    """`nox -s nightly_token`, as the upload job runs it: no environment, exit codes kept."""
    (project / "noxfile.py").write_text("import nightly_sessions\n\nnightly_sessions.register()\n")
    server.add_token(TOKEN, login=LOGIN, expires=timedelta(days=10, hours=1))
    env = {
        **os.environ, **ENV, "NIGHTLY_ANACONDA_API_URL": server.url,
        "NIGHTLY_REPORT_DIR": "downloaded",
    }  # fmt: skip
    command = [sys.executable, "-m", "nox", "--no-color", "-s", "nightly_token"]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN" in output
    assert (project / "downloaded" / "token" / TOKEN_NAME).is_file()
    server.add_token(TOKEN, scopes=("api:read", "api:write"))
    refused = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    output += refused.stdout + refused.stderr
    assert refused.returncode == 1  # nox's own code for a failed session
    assert "lacks the scope pypi:upload" in refused.stdout + refused.stderr
    assert TOKEN not in output
