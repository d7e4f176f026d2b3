"""Uploads with the real anaconda-client against the loopback anaconda.org: nothing lost or leaked."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nightly_sessions import anaconda_client
from nightly_sessions.anaconda_client import Retry, find_client
from nightly_sessions.config import Settings
from nightly_sessions.errors import ConfigError, NetworkError, NightlyError, ToolError
from nightly_sessions.testing.anaconda import (
    DEFAULT_OWNER,
    EXPIRED,
    AnacondaServer,
    Fault,
    serve_anaconda,
)
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.wheelhouse import download_wheels, make_sdist, make_wheel
from nightly_sessions.upload import UploadOptions, parse_session_args, upload

TOKEN = "upload-token-Zq8v3Kd0"
OWNER = DEFAULT_OWNER
VERSION = "1.0.dev20261123+git5a"
TAGS = ("py3-none-any", "cp312-cp312-manylinux_2_17_x86_64", "cp313-cp313-manylinux_2_17_x86_64")
ENV = {"ANACONDA_ORG_UPLOAD_TOKEN": TOKEN}
FAST = Retry(attempts=3, backoff=0.05, backoff_max=0.2, timeout=5.0)


@pytest.fixture
def server() -> Iterator[AnacondaServer]:
    with serve_anaconda() as running:
        running.add_token(TOKEN)
        yield running


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    for tag in TAGS:
        make_wheel(folder, "skymap", VERSION, tag=tag)
    make_sdist(folder, "skymap", VERSION)
    return folder


@pytest.fixture(autouse=True)
def _no_token_anywhere(
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
    return upload(opts, client=find_client, environ=ENV if environ is None else environ)


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


def test_sdists_only_when_asked_and_to_the_label(server: AnacondaServer, dist: Path) -> None:
    run(options(server, dist, sdist=True, label="nightly"))
    assert sorted(server.files()) == sorted(p.name for p in dist.iterdir())
    assert {f.labels for f in server.files().values()} == {("nightly",)}


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


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ({"version": "1.0"}, "is a release, which must never be in the nightly channel"),
        ({"summary": None}, "has no Summary"),
    ],
)
def test_one_bad_file_stops_before_any_network_call(
    server: AnacondaServer, dist: Path, problem: dict[str, Any], expected: str
) -> None:
    make_wheel(dist, "skymap", **{"version": VERSION, "tag": "py2-none-any", **problem})
    with pytest.raises(ConfigError, match=expected):
        run(options(server, dist))
    assert server.calls == []


def test_missing_token_is_one_sentence(server: AnacondaServer, dist: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        run(options(server, dist, token_env="MY_UPLOAD_TOKEN"), {})
    message = str(caught.value)
    assert "MY_UPLOAD_TOKEN is empty or unset" in message
    assert "\n" not in message
    assert server.calls == []


@pytest.mark.parametrize("context", ["pull_request", "fork"])
def test_missing_token_in_pull_request_or_fork_skips_with_notice(
    server: AnacondaServer,
    dist: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    context: str,
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"fork": True}}))
    environ = (
        {"GITHUB_EVENT_NAME": "pull_request"}
        if context == "pull_request"
        else {"GITHUB_EVENT_NAME": "schedule", "GITHUB_EVENT_PATH": str(event)}
    )
    environ["GITHUB_ACTIONS"] = "true"
    report = run(options(server, dist), environ)
    assert server.calls == []
    assert len(report.skipped) == 3
    assert "::notice title=Nightly upload skipped::" in output(capfd)
    with pytest.raises(ConfigError, match="empty or unset"):
        run(options(server, dist, skip_without_token=False), environ)


def test_token_reaches_the_client_through_its_environment_only(
    server: AnacondaServer, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.Popen

    def recording(args: list[str], **kwargs: Any) -> Any:
        seen.append((list(args), dict(kwargs["env"])))
        return real(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording)
    monkeypatch.setenv("ANACONDA_API_TOKEN", "some-other-token")
    run(options(server, dist))
    [(args, env)] = seen
    assert not any(TOKEN in arg for arg in args)
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


def test_different_file_is_refused_with_why_and_others_still_go_up(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    with pytest.raises(NetworkError, match="1 of 3 file"):
        run(options(server, dist))
    assert server.files()[first.name].data == old
    assert server.count("dist-delete") == 0
    assert sorted(server.files()) == sorted(p.name for p in wheels(dist))
    text = output(capfd)
    assert "--replace" in text
    assert "upload-nightly-action#77" in text


def test_replace_keeps_a_verified_copy_until_the_new_file_is_committed(
    server: AnacondaServer, dist: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    first = wheels(dist)[0]
    server.add_file(OWNER, "skymap", VERSION, first.name, older_build(tmp_path, first))
    report = run(options(server, dist, replace=True))
    assert first.name in report.uploaded
    assert_channel_holds(server, wheels(dist))
    order = [c.call for c in server.calls]
    assert order.index("download") < order.index("dist-delete")
    text = output(capfd)
    kept = text.index(f"kept a verified copy of the old {first.name} at {dist / 'replaced'}")
    assert kept < text.index("Uploading 3 file(s)")  # named before anything is deleted
    assert not (dist / "replaced").exists()  # removed once the new file is committed


def test_failed_replacement_puts_the_old_file_back(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    server.inject("commit", Fault.error(404), times=FAST.attempts, match=first.name)
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist, replace=True))
    assert server.files()[first.name].data == old
    assert "the old file was put back" in output(capfd)


def test_when_putting_back_fails_too_the_copy_is_kept_and_named(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    server.inject("commit", Fault.error(404), times=None, match=first.name)
    with pytest.raises(NetworkError) as caught:
        run(options(server, dist, replace=True))
    assert first.name not in server.files()
    [copy] = (dist / "replaced").glob(f"*/{first.name}")
    assert copy.read_bytes() == old
    assert f"kept at {copy}" in output(capfd)
    message = str(caught.value)
    assert f"kept in {dist / 'replaced'}; upload them with `anaconda upload" in message
    assert message.endswith(f"--label main {copy}`.")
    # A second run sends the new file (the name is free now) and leaves the old copy alone.
    server.clear_faults()
    run(options(server, dist, replace=True))
    assert_channel_holds(server, wheels(dist))
    assert copy.read_bytes() == old


SABOTAGE = """
    import os, runpy, signal, sys, time
    import binstar_client

    mode, pidfile = sys.argv.pop(1), sys.argv.pop(1)
    with open(pidfile, "a") as handle:
        handle.write(f"{os.getpid()}\\n")
    real_remove, real_upload = binstar_client.Binstar.remove_dist, binstar_client.Binstar.upload

    def remove_dist(self, *args, **kwargs):
        real_remove(self, *args, **kwargs)  # the old file is gone: now fail
        if mode == "term":
            os.kill(os.getppid(), signal.SIGTERM)
            time.sleep(60)
        os._exit(1)

    def upload(self, *args, **kwargs):
        if mode == "always":
            os._exit(1)
        return real_upload(self, *args, **kwargs)

    binstar_client.Binstar.remove_dist, binstar_client.Binstar.upload = remove_dist, upload
    sys.argv.pop(0)
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def sabotaged_client(folder: Path, mode: str) -> Path:
    """A "python" running the real driver that dies right after anaconda-client deletes a file.

    mode "exit": exit 1 there; "always": also exit 1 on every later upload (putting back
    fails too); "term": send SIGTERM to the uploading process and hang until killed.
    """
    folder.mkdir()
    (folder / "sabotage.py").write_text(textwrap.dedent(SABOTAGE))
    python = folder / "python"
    python.write_text(
        f'#!/bin/sh\nexec "{find_client()}" "{folder / "sabotage.py"}" {mode} '
        f'"{folder / "pids"}" "$@"\n'
    )
    python.chmod(0o755)
    return python


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def test_client_dying_in_the_middle_of_a_replace_puts_the_old_file_back(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    python = sabotaged_client(tmp_path / "sabotage", "exit")
    with pytest.raises(ToolError, match="stopped with exit code 1"):
        upload(options(server, dist, replace=True), client=lambda: python, environ=ENV)
    assert server.count("dist-delete") == 1  # the client did delete the old file...
    assert server.files()[first.name].data == old  # ...and it was put back
    assert not (dist / "replaced").exists()
    text = output(capfd)
    assert f"FAILED    {first.name}: no result" in text
    assert "the old file was put back" in text


def test_client_dying_and_putting_back_failing_keeps_the_copy_and_names_it(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    python = sabotaged_client(tmp_path / "sabotage", "always")
    with pytest.raises(ToolError) as caught:
        upload(options(server, dist, replace=True), client=lambda: python, environ=ENV)
    assert first.name not in server.files()
    [copy] = (dist / "replaced").glob(f"*/{first.name}")
    assert copy.read_bytes() == old
    message = str(caught.value)
    assert message.startswith("anaconda-client stopped with exit code 1, and 1 old file(s)")
    assert str(copy) in message
    assert message.count("; ") == 1  # one thing to do
    assert "could not put the old file(s) back" in output(capfd)


def test_token_expiring_after_the_old_file_was_deleted_keeps_the_copy_and_names_it(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    server.inject("stage", Fault.expired(), times=None)
    with pytest.raises(NetworkError) as caught:
        run(options(server, dist, replace=True))
    assert server.count("dist-delete") == 1
    assert first.name not in server.files()
    [copy] = (dist / "replaced").glob(f"*/{first.name}")
    assert copy.read_bytes() == old
    message = str(caught.value)
    assert message.startswith(
        f"anaconda.org refused the token in ANACONDA_ORG_UPLOAD_TOKEN (401: {EXPIRED}), and 1 "
    )
    assert message.endswith(f"{copy}`.")
    assert "make a new token" in output(capfd)  # the full advice is printed above it


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_in_the_middle_of_a_replace_kills_the_client_and_puts_the_old_file_back(
    server: AnacondaServer, dist: Path, tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    python = sabotaged_client(tmp_path / "sabotage", "term")
    anaconda = tmp_path / "sabotage" / "anaconda"
    anaconda.write_text(f"#!{python}\n")  # the client the command line finds
    anaconda.chmod(0o755)
    (dist.parent / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    env = {**os.environ, "NIGHTLY_ANACONDA_API_URL": server.url, **ENV}
    command = [
        sys.executable, "-m", "nightly_sessions", "--project", str(dist.parent), "upload",
        "--replace", "--anaconda", str(anaconda),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 130, done.stdout + done.stderr
    assert server.count("dist-delete") == 1
    assert server.files()[first.name].data == old
    assert "the old file was put back" in done.stdout
    assert "Traceback" not in done.stderr
    pids = [int(line) for line in (tmp_path / "sabotage" / "pids").read_text().split()]
    assert not any(running(pid) for pid in pids)  # the hanging client was killed
    assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("call", "fault"),
    [
        ("stage", Fault.error(500)),
        ("storage", Fault.error(503)),
        ("storage", Fault.drop()),
        ("commit", Fault.error(404)),
        ("commit", Fault.lost()),
        ("package", Fault.slow(1.5)),
    ],
    ids=["stage-500", "storage-503", "storage-drop", "commit-404", "commit-lost", "slow"],
)
def test_transient_failures_are_retried_per_file(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], call: str, fault: Fault
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
    server.inject("commit", Fault.error(500), times=None, match=last.name)
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
    server.inject("dist", Fault.error(500), times=None, match=first.name)
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist))
    assert sorted(server.files()) == sorted(p.name for p in wheels(dist)[1:])
    assert "could not read the channel" in output(capfd)


def test_expired_token_stops_at_once_with_what_to_do(server: AnacondaServer, dist: Path) -> None:
    server.add_token("expired-token-1234", expired=True)
    with pytest.raises(NetworkError) as caught:
        run(options(server, dist), {"ANACONDA_ORG_UPLOAD_TOKEN": "expired-token-1234"})
    message = str(caught.value)
    assert EXPIRED in message
    assert "Allow write access to the API site" in message
    assert "secret ANACONDA_ORG_UPLOAD_TOKEN" in message
    assert "expired-token-1234" not in message
    assert server.count("stage") == 0


def test_token_expiring_during_the_upload_stops_every_file(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server.inject("stage", Fault.expired(), times=None)
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


def test_verify_waits_until_the_index_lists_the_files(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    server.inject("simple", Fault.error(404), times=3)
    run(options(server, dist, verify=True))
    assert server.count("simple") >= 4
    assert "lists every uploaded file" in output(capfd)
    server.inject("simple", Fault.error(404), times=None)
    newer = dist.parent / "newer"
    make_wheel(newer, "skymap", "1.0.dev20261124", tag="py3-none-any")
    with pytest.raises(NetworkError, match="still does not list 1 uploaded file"):
        run(options(server, newer, verify=True, verify_timeout=0.3))


def test_a_file_whose_state_appears_during_the_upload_is_not_overwritten(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    server.inject("dist", Fault.error(404), times=1, match=first.name)  # the check sees none
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist))
    assert server.files()[first.name].data == old
    assert server.count("dist-delete") == 0
    assert f"appeared on {OWNER} with different content during the upload" in output(capfd)


def _break_download(server: AnacondaServer, _dist: Path) -> None:
    server.inject("download", Fault.error(500), times=None)


def _wrong_download(server: AnacondaServer, _dist: Path) -> None:
    server.inject("download", Fault.answer(b"not the old wheel"), times=None)


def _no_room_for_copies(_server: AnacondaServer, dist: Path) -> None:
    (dist / "replaced").write_text("a file where the folder would go")


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_break_download, "the old file could not be downloaded to keep a copy (GET "),
        (_wrong_download, "the downloaded copy of the old file could not be verified"),
        (_no_room_for_copies, "no copy of the old file could be kept at"),
    ],
    ids=["download-fails", "download-differs", "copy-not-written"],
)
def test_replace_without_a_safe_copy_leaves_the_old_file_alone(
    server: AnacondaServer,
    dist: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    break_it: Callable[[AnacondaServer, Path], None],
    expected: str,
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    break_it(server, dist)
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist, replace=True))
    assert server.files()[first.name].data == old
    assert server.count("dist-delete") == 0
    text = output(capfd)
    assert f"FAILED    {first.name}: not replaced: {expected}" in text
    assert "check the URL and your network" not in text  # no advice nested in a reason


def test_only_sdists_is_one_sentence(server: AnacondaServer, tmp_path: Path) -> None:
    folder = tmp_path / "sdists"
    make_sdist(folder, "skymap", VERSION)
    with pytest.raises(ConfigError, match="holds only sdists and sdists are not uploaded"):
        run(options(server, folder))
    assert server.calls == []


def test_a_file_that_cannot_be_read_is_one_sentence(
    server: AnacondaServer, dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = wheels(dist)[1]
    real = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path == target:
            raise PermissionError(13, "Permission denied")
        return real(path)

    with monkeypatch.context() as patch:  # undone before the teardown reads every file
        patch.setattr(Path, "read_bytes", read_bytes)
        with pytest.raises(ConfigError) as caught:
            run(options(server, dist))
    assert str(caught.value) == (
        f"Could not read {target} (Permission denied); check that it is still there and "
        "readable, then run again."
    )
    assert server.calls == []


def test_an_unwritable_step_summary_is_a_warning_after_a_good_upload(
    server: AnacondaServer, dist: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    report = run(options(server, dist), {**ENV, "GITHUB_STEP_SUMMARY": str(tmp_path)})
    assert len(report.uploaded) == 3
    assert f"warning: could not write the step summary {tmp_path}" in output(capfd)


def test_options_after_nox_double_dash() -> None:
    settings = Settings(project_root=Path("/project"))
    opts = parse_session_args(["--dry-run", "--label", "dev", "--jobs", "2"], settings, print)
    assert opts is not None
    assert (opts.dry_run, opts.label, opts.jobs, opts.channel) == (True, "dev", 2, OWNER)
    assert opts.dist_dir == Path("/project/dist")
    helped: list[str] = []
    assert parse_session_args(["--help"], settings, helped.append) is None
    assert "--replace" in helped[0]
    with pytest.raises(ConfigError, match="unrecognized arguments: --frobnicate"):
        parse_session_args(["--frobnicate"], settings, print)
    for bad in (["--jobs", "0"], ["--attempts", "0"], ["--verify-timeout", "0"]):
        with pytest.raises(ConfigError, match="--jobs and --attempts must be at least 1"):
            parse_session_args(bad, settings, print)
    assert UploadOptions(Path(), "my-org", label="dev").simple_url == (
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
    assert refused.returncode == 3
    assert refused.stderr.startswith("nightly-sessions: anaconda.org refused the token")
    assert "Traceback" not in refused.stderr
    for text in (done.stdout, done.stderr, refused.stdout, refused.stderr):
        assert TOKEN not in text
        assert "expired-token-1234" not in text


@pytest.fixture(scope="session")
def client_wheelhouse() -> Path:
    """anaconda-client and its dependencies, downloaded once, for sessions to install offline."""
    return download_wheels((anaconda_client.REQUIREMENT,))


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
    assert f"{anaconda_client.REQUIREMENT}" in output  # installed into the session at the pin
    assert "lists every uploaded file" in output
    assert_channel_holds(server, wheels(dist))
