"""`--replace` against the loopback anaconda.org: a verified copy first, the old file put back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from channel.upload_world import (
    ENV,
    FAST,
    OWNER,
    TOKEN,
    VERSION,
    assert_channel_holds,
    older_build,
    options,
    output,
    own_client,
    run,
    running,
    seed_older_build,
    wheels,
)
from nightly_sessions.channel.upload import upload
from nightly_sessions.core.errors import NetworkError, ToolError
from nightly_sessions.testing.anaconda import EXPIRED, AnacondaServer, ApiFault


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
    server.inject("commit", ApiFault.error(404), times=FAST.attempts, match=first.name)
    with pytest.raises(NetworkError, match="1 of 3"):
        run(options(server, dist, replace=True))
    assert server.files()[first.name].data == old
    assert "the old file was put back" in output(capfd)


def test_when_putting_back_fails_too_the_copy_is_kept_and_named(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, old = seed_older_build(server, dist, tmp_path)
    server.inject("commit", ApiFault.error(404), times=None, match=first.name)
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
    real = own_client()
    python.write_text(
        f'#!/bin/sh\n[ "$1" = -c ] && exec "{real}" "$@"  # the check that it runs the client\n'
        f'exec "{real}" "{folder / "sabotage.py"}" {mode} "{folder / "pids"}" "$@"\n'
    )
    python.chmod(0o755)
    return python


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
    server.inject("stage", ApiFault.expired(), times=None)
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


def _break_download(server: AnacondaServer, _dist: Path) -> None:
    server.inject("download", ApiFault.error(500), times=None)


def _wrong_download(server: AnacondaServer, _dist: Path) -> None:
    server.inject("download", ApiFault.answer(b"not the old wheel"), times=None)


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
