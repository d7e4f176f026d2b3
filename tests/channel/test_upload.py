"""Uploads with the real anaconda-client against the loopback anaconda.org: nothing lost or leaked."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from channel.upload_world import (
    ENV,
    FAST,
    OWNER,
    TOKEN,
    VERSION,
    assert_channel_holds,
    options,
    output,
    own_client,
    run,
    seed_older_build,
    wheels,
)
from nightly_sessions import cli
from nightly_sessions.channel import client as anaconda_client
from nightly_sessions.channel.upload import options_from, upload
from nightly_sessions.channel.upload_job import UploadOptions
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError, NightlyError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.testing.anaconda import EXPIRED, AnacondaServer, ApiFault
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.wheelhouse import download_wheels, make_wheel


def test_uploads_checked_wheels_and_reports(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    report = run(options(server, dist), {**ENV, "GITHUB_STEP_SUMMARY": str(summary)})
    assert_channel_holds(server, wheels(dist))  # the sdist stays home
    assert {f.labels for f in server.files().values()} == {("main",)}
    assert sorted(report.uploaded) == [p.name for p in wheels(dist)]
    assert (report.skipped, report.failed) == ([], [])
    text = output(capfd)
    assert f"Upload to {OWNER} (label main): 3 uploaded, 0 skipped, 0 failed." in text
    assert "| `skymap-" in summary.read_text()
    # Every write carried the token in its header; no file was ever deleted.
    assert all(c.token == TOKEN for c in server.calls if c.call in {"stage", "commit"})
    assert server.count("dist-delete") == 0
    assert not list(tmp_path.glob("nightly-*"))  # temporary folders are gone


def test_dry_run_lists_and_touches_nothing(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    def no_client() -> Path:
        raise AssertionError("a dry run must not need anaconda-client")

    report = upload(options(server, dist, dry_run=True), client=no_client, environ={})
    assert server.calls == []
    text = output(capfd)
    assert "Dry run: would upload 3 file(s)" in text
    assert f"would upload {wheels(dist)[0].name} -> {OWNER}/skymap/{VERSION}" in text
    assert len(report.planned) == 4


def test_token_reaches_the_client_through_its_environment_only(
    server: AnacondaServer, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.Popen

    def recording(args: list[str], **kwargs: Any) -> Any:
        seen.append((list(args), dict(kwargs.get("env") or {})))
        return real(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording)
    monkeypatch.setenv("ANACONDA_API_TOKEN", "some-other-token")
    run(options(server, dist))
    assert not any(TOKEN in arg for args, _ in seen for arg in args)
    [env] = [env for _, env in seen if "BINSTAR_API_TOKEN" in env]  # the client, once
    assert env["BINSTAR_API_TOKEN"] == TOKEN
    assert "ANACONDA_API_TOKEN" not in env
    assert_channel_holds(server, wheels(dist))


def test_same_file_is_skipped_and_a_second_run_sends_nothing(
    server: AnacondaServer, dist: Path
) -> None:
    first = wheels(dist)[0]
    server.add_file(OWNER, "skymap", VERSION, first.name, first.read_bytes())
    report = run(options(server, dist))
    assert [name for name, _ in report.skipped] == [first.name]
    assert server.count("stage") == 2
    again = run(options(server, dist))
    assert (again.uploaded, len(again.skipped)) == ([], 3)
    assert server.count("stage") == 2


@pytest.mark.parametrize(
    ("call", "fault"),
    [
        ("stage", ApiFault.error(500)),
        ("storage", ApiFault.error(503)),
        ("storage", ApiFault.drop()),
        ("storage", ApiFault.slow(1.5)),  # a stalled transfer times out like any call
        ("commit", ApiFault.error(404)),
        ("commit", ApiFault.lost()),
        ("package", ApiFault.slow(1.5)),
    ],
    ids=[
        "stage-500",
        "storage-503",
        "storage-drop",
        "storage-slow",
        "commit-404",
        "commit-lost",
        "slow",
    ],
)
def test_transient_failures_are_retried_per_file(
    server: AnacondaServer,
    dist: Path,
    capfd: pytest.CaptureFixture[str],
    call: str,
    fault: ApiFault,
) -> None:
    target = wheels(dist)[0]  # the first file also creates the package
    server.inject(call, fault, match=None if call in {"storage", "package"} else target.name)
    opts = options(server, dist, retry=dataclasses.replace(FAST, timeout=0.5))
    report = run(opts)
    assert_channel_holds(server, wheels(dist))
    assert len(report.uploaded) == 3
    assert "after 2 attempts" in output(capfd)


def test_a_file_that_keeps_failing_does_not_stop_the_others_and_a_rerun_sends_only_it(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    last = wheels(dist)[-1]
    server.inject("commit", ApiFault.error(500), times=None, match=last.name)
    with pytest.raises(NetworkError, match=r"1 of 3 file\(s\) were not uploaded"):
        run(options(server, dist))
    assert sorted(server.files()) == sorted(p.name for p in wheels(dist)[:-1])
    text = output(capfd)
    assert f"FAILED    {last.name}: HTTP 500" in text
    assert "(after 3 attempt(s))" in text
    server.clear_faults()
    server.reset_calls()
    report = run(options(server, dist))
    assert report.uploaded == [last.name]
    assert server.count("stage") == 1
    assert_channel_holds(server, wheels(dist))


def test_a_file_whose_state_cannot_be_read_is_not_sent(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = wheels(dist)[0]
    server.inject("dist", ApiFault.error(500), times=None, match=first.name)
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist))
    assert sorted(server.files()) == sorted(p.name for p in wheels(dist)[1:])
    assert "could not read the channel" in output(capfd)


def test_expired_token_stops_at_once_with_what_to_do(server: AnacondaServer, dist: Path) -> None:
    """The token check at the start refuses it (exit 2) before a file is looked up or sent."""

    def no_client() -> Path:
        raise AssertionError("an expired token must stop the upload before anaconda-client")

    server.add_token("expired-token-1234", expired=True)
    environ = {"ANACONDA_ORG_UPLOAD_TOKEN": "expired-token-1234"}
    with pytest.raises(ConfigError) as caught:
        upload(options(server, dist), client=no_client, environ=environ)
    message = str(caught.value)
    assert "ANACONDA_ORG_UPLOAD_TOKEN has expired" in message
    assert EXPIRED in message
    assert "Allow write access to the API site" in message
    assert "secret ANACONDA_ORG_UPLOAD_TOKEN" in message
    assert "expired-token-1234" not in message
    assert [call.call for call in server.calls] == ["authentication"]


def test_a_refused_token_is_the_summary_not_zero_counts(
    server: AnacondaServer,
    dist: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No "0 uploaded, 0 skipped, 0 failed" when three files were never sent; exit code 3.

    The token passes the check at the start, then expires before the files are looked up.
    """
    project = dist.parent
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    summary = tmp_path / "summary.md"
    server.inject("dist", ApiFault.expired(), times=None)
    environ = {
        "ANACONDA_ORG_UPLOAD_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(summary),
        "NIGHTLY_ANACONDA_API_URL": server.url,
    }  # fmt: skip
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["--project", str(project), "upload"]) == 3 == NetworkError.exit_code
    out, err = capfd.readouterr()
    why = f"anaconda.org refused the token (401: {EXPIRED})"
    assert "0 failed" not in out
    assert f"Upload to {OWNER} (label main): 3 not sent because {why}.\n" in out
    assert out.count("  not sent  skymap-") == 3
    assert err.startswith("nightly-sessions: anaconda.org refused the token")
    markdown = summary.read_text()
    assert markdown.count(f"| **not sent** | {why} |") == 3
    assert TOKEN not in out + err + markdown
    assert server.count("stage") == 0


def test_token_expiring_during_the_upload_stops_every_file(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server.inject("stage", ApiFault.expired(), times=None)
    with pytest.raises(NetworkError, match=EXPIRED):
        run(options(server, dist))
    assert server.count("stage") == 1  # no second file, no retry
    assert server.files() == {}
    assert output(capfd).count("not attempted") == 2


def test_forbidden_channel_says_to_check_membership_and_secret(
    server: AnacondaServer, dist: Path
) -> None:
    server.add_token("other-token-5678", owners=("someone-else",))
    with pytest.raises(NetworkError) as caught:
        run(options(server, dist), {"ANACONDA_ORG_UPLOAD_TOKEN": "other-token-5678"})
    message = str(caught.value)
    assert f"member of {OWNER}" in message
    assert "403" in message
    assert server.files() == {}


def test_a_misspelt_channel_is_named_with_what_to_check(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    typo = "scientific-python-nightly-wheel"
    with pytest.raises(ConfigError) as caught:
        run(options(server, dist, channel=typo))
    assert str(caught.value) == (
        f"The channel {typo} does not exist on {server.url}; nothing was uploaded; "
        "check the spelling in --channel or the `channel` setting."
    )
    assert server.count("user") == 1  # not retried: a missing channel stays missing
    assert server.count("stage") == 0
    assert "3 failed" in output(capfd)


@pytest.mark.parametrize("call", ["dist", "stage", "commit"])
def test_a_token_the_api_echoes_is_hidden_in_output_and_summary(
    server: AnacondaServer,
    dist: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
) -> None:
    """The checking call, the stage and the commit each answer with the token in their error."""
    project = dist.parent
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    summary = tmp_path / "summary.md"
    environ = {**ENV, "NIGHTLY_ANACONDA_API_URL": server.url, "GITHUB_STEP_SUMMARY": str(summary)}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_EVENT_NAME", raising=False)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    server.inject(call, ApiFault.error(500, f"token {TOKEN} is not valid here"), times=None)
    command = ["--project", str(project), "upload", "--attempts", "2"]
    assert cli.main(command) == NetworkError.exit_code
    out, err = capfd.readouterr()
    for where, text in {"stdout": out, "summary": summary.read_text()}.items():
        assert "token *** is not valid here" in text, where
        assert TOKEN not in text, where
    assert err.startswith("nightly-sessions: ")
    assert TOKEN not in err


def test_verify_waits_until_the_index_lists_the_files(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server.inject("simple", ApiFault.error(404), times=3)
    run(options(server, dist, verify=True))
    assert server.count("simple") >= 4
    assert "lists every uploaded file" in output(capfd)
    server.inject("simple", ApiFault.error(404), times=None)
    newer = dist.parent / "newer"
    make_wheel(newer, "skymap", "1.0.dev20261124", tag="py3-none-any")
    with pytest.raises(NetworkError, match="still does not list 1 uploaded file"):
        run(options(server, newer, verify=True, verify_timeout=0.3))


def test_a_file_whose_state_appears_during_the_upload_is_not_overwritten(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    server.inject("dist", ApiFault.error(404), times=1, match=first.name)  # the check sees none
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist))
    assert server.files()[first.name].data == old
    assert server.count("dist-delete") == 0
    assert f"appeared on {OWNER} with different content during the upload" in output(capfd)


def _crashing_client(tmp_path: Path) -> Callable[[], Path]:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text("#!/bin/sh\ncat >/dev/null; echo 'Segmentation fault' >&2; exit 139\n")
    python.chmod(0o755)
    return lambda: python


@pytest.mark.parametrize("stop", ["token-expires", "client-crashes", "api-unreachable"])
def test_the_step_summary_is_written_when_the_upload_stops(
    server: AnacondaServer, dist: Path, tmp_path: Path, stop: str
) -> None:
    summary = tmp_path / "summary.md"
    opts = options(server, dist)
    client: Callable[[], Path] = own_client
    if stop == "token-expires":
        server.inject("stage", ApiFault.expired(), times=None)
    elif stop == "client-crashes":
        client = _crashing_client(tmp_path)
    else:
        server.inject("check", ApiFault.error(503), times=None)
    first = wheels(dist)[0]
    server.add_file(OWNER, "skymap", VERSION, first.name, first.read_bytes())  # one is skipped
    with pytest.raises(NightlyError) as caught:
        upload(opts, client=client, environ={**ENV, "GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert f"| `{first.name}` | skipped | already on the channel with the same sha256 |" in text
    assert text.count("| **failed** |") == 2
    assert f"**The upload stopped:** {caught.value}\n" in text


def test_an_unwritable_step_summary_is_a_warning_after_a_good_upload(
    server: AnacondaServer, dist: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    report = run(options(server, dist), {**ENV, "GITHUB_STEP_SUMMARY": str(tmp_path)})
    assert len(report.uploaded) == 3
    assert f"warning: could not write the step summary {tmp_path}" in output(capfd)


def parse_session_args(
    argv: list[str], settings: Settings, log: Callable[[str], None]
) -> UploadOptions | None:
    """The upload options as `nox -s upload_nightly -- ...` reads them."""
    args = session_args("upload_nightly", argv, log)
    return None if args is None else options_from(args, settings)


def test_options_after_nox_double_dash() -> None:
    settings = Settings(project_root=Path("/project"))
    opts = parse_session_args(["--dry-run", "--label", "dev", "--jobs", "2"], settings, print)
    assert opts is not None
    assert (opts.dry_run, opts.label, opts.jobs, opts.channel) == (True, "dev", 2, OWNER)
    assert opts.dist_dir == Path("/project/dist")
    opts = parse_session_args(["--label", "main, nightly,main"], settings, print)
    assert opts is not None
    assert (opts.labels, opts.label, opts.label_text) == (
        ("main", "nightly"),
        "main",
        "labels main, nightly",
    )
    helped: list[str] = []
    assert parse_session_args(["--help"], settings, helped.append) is None
    assert "--replace" in helped[0]
    with pytest.raises(ConfigError, match="unrecognized arguments: --frobnicate"):
        parse_session_args(["--frobnicate"], settings, print)
    for bad in (["--jobs", "0"], ["--attempts", "0"], ["--verify-timeout", "0"]):
        with pytest.raises(ConfigError, match="--jobs and --attempts must be at least 1"):
            parse_session_args(bad, settings, print)
    assert UploadOptions(Path(), "my-org", labels=("dev", "main")).simple_url == (
        "https://pypi.anaconda.org/my-org/label/dev/simple"
    )


def test_client_that_cannot_import_anaconda_client_is_explained(
    server: AnacondaServer, dist: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    with pytest.raises(NightlyError, match="anaconda-client could not be used with"):
        upload(options(server, dist), client=lambda: python, environ=ENV)
    assert server.count("stage") == 0


@pytest.mark.integration
def test_command_line_upload_and_refusal(
    server: AnacondaServer, dist: Path, tmp_path: Path
) -> None:
    project = dist.parent
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    env = {
        **os.environ, "NIGHTLY_ANACONDA_API_URL": server.url, **ENV,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }  # fmt: skip
    command = [sys.executable, "-m", "nightly_sessions", "--project", str(project), "upload"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "3 uploaded, 0 skipped, 0 failed" in done.stdout
    server.add_token("expired-token-1234", expired=True)
    env["ANACONDA_ORG_UPLOAD_TOKEN"] = "expired-token-1234"
    refused = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 2  # the token check: an expired token is bad input
    assert refused.stderr.startswith(
        "nightly-sessions: The anaconda.org upload token in ANACONDA_ORG_UPLOAD_TOKEN has expired"
    )
    assert "Traceback" not in refused.stderr
    for text in (done.stdout, done.stderr, refused.stdout, refused.stderr):
        assert TOKEN not in text
        assert "expired-token-1234" not in text


@pytest.fixture(scope="session")
def client_wheelhouse() -> Path:
    """anaconda-client and its dependencies as locked, downloaded once, to install offline."""
    return download_wheels(tuple(anaconda_client.locked_requirements()))


@pytest.mark.integration
def test_nox_session_installs_the_pinned_client_and_uploads(
    server: AnacondaServer,
    dist: Path,
    client_wheelhouse: Path,
    start_index: Callable[[Path], PypiServer],
) -> None:
    index = start_index(client_wheelhouse)
    project = dist.parent
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    (project / "noxfile.py").write_text("import nightly_sessions\n\nnightly_sessions.register()\n")
    env = {
        **os.environ, **ENV, "NIGHTLY_ANACONDA_API_URL": server.url,
        "UV_INDEX_URL": index.url, "PIP_INDEX_URL": index.url,
    }  # fmt: skip
    env.pop("GITHUB_EVENT_NAME", None)
    command = [
        sys.executable, "-m", "nox", "--no-color", "-s", "upload_nightly", "--",
        "--verify", "--index-url", server.simple_url(), "--verify-timeout", "10",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert TOKEN not in output
    # installed into the session from the lock, every file checked against its hash
    assert f"--require-hashes --requirement {anaconda_client.LOCK}" in output
    assert "lists every uploaded file" in output
    assert_channel_holds(server, wheels(dist))
