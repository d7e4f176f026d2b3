"""Retention on the loopback anaconda.org: right releases deleted, none on data not fully read."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from channel.upload_world import ENV, OWNER, TOKEN
from nightly_sessions import cli
from nightly_sessions.channel.cleanup import (
    CLOCK_SKEW,
    CleanupOptions,
    Release,
    Unreadable,
    cleanup,
    options_from,
    retention_plan,
)
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.testing.anaconda import (
    EXPIRED,
    AnacondaServer,
    ApiFault,
    format_time,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
AGES = {"1.0.dev1": 60, "1.0.dev2": 50, "1.0.dev3": 45, "1.0.dev4": 40, "1.0.dev5": 35,
        "1.0.dev6": 20, "1.0.dev7": 10, "1.0.dev8": 1}  # fmt: skip


def seed(
    server: AnacondaServer, ages: dict[str, int], package: str = "skymap", owner: str = OWNER
) -> None:
    for version, days in ages.items():
        for tag in ("py3-none-any", "cp312-cp312-manylinux_2_17_x86_64"):
            server.add_file(
                owner, package, version, f"{package}-{version}-{tag}.whl", version.encode(),
                upload_time=NOW - timedelta(days=days, minutes=len(tag)),
            )  # fmt: skip


def options(server: AnacondaServer, **changes: Any) -> CleanupOptions:
    base = CleanupOptions(
        package="skymap", channel=OWNER, api_url=server.url, http_timeout=5.0, http_retries=1
    )
    return dataclasses.replace(base, **changes)


def text(capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    assert TOKEN not in out + err
    return out + err


def test_dry_run_by_default_lists_what_would_go(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed(server, AGES)
    decisions = cleanup(options(server), environ=ENV, now=NOW)
    assert [d.release.version for d in decisions if not d.keep] == [
        "1.0.dev1",
        "1.0.dev2",
        "1.0.dev3",
    ]
    assert server.versions(OWNER, "skymap") == list(AGES)
    assert server.count("release-delete") == server.count("dist-delete") == 0
    output = text(capfd)
    assert "DELETE  1.0.dev1" in output
    assert "pass --yes" in output


def test_yes_deletes_exactly_the_old_releases_and_prints_each(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed(server, AGES)
    seed(server, {"0.1.dev1": 400}, package="otherpkg")  # another package on the channel
    server.add_owner("someone-else")
    seed(server, {"0.9.dev1": 400}, owner="someone-else")  # the same name elsewhere
    cleanup(options(server, yes=True), environ=ENV, now=NOW)
    assert server.versions(OWNER, "skymap") == [f"1.0.dev{n}" for n in range(4, 9)]
    assert server.versions(OWNER, "otherpkg") == ["0.1.dev1"]
    assert server.versions("someone-else", "skymap") == ["0.9.dev1"]
    deletes = [c.path for c in server.calls if c.method == "DELETE"]
    assert deletes == [f"/release/{OWNER}/skymap/1.0.dev{n}" for n in (1, 2, 3)]
    output = text(capfd)
    for n in (1, 2, 3):
        assert f"deleted {OWNER}/skymap 1.0.dev{n}" in output
    assert "Deleted 3 release(s)" in output


def test_newest_is_kept_whatever_its_age(server: AnacondaServer) -> None:
    seed(server, {"1.0.dev1": 300, "1.0.dev2": 200, "1.0.dev3": 100})
    cleanup(options(server, yes=True, keep=0, days=0), environ=ENV, now=NOW)
    assert server.versions(OWNER, "skymap") == ["1.0.dev3"]


def test_everything_recent_is_kept_beyond_the_newest_n(server: AnacondaServer) -> None:
    seed(server, {f"1.0.dev{n}": 10 - n for n in range(1, 8)})
    cleanup(options(server, yes=True, keep=2, days=30), environ=ENV, now=NOW)
    assert len(server.versions(OWNER, "skymap")) == 7


def test_a_version_uploaded_again_recently_counts_as_new(server: AnacondaServer) -> None:
    seed(server, {"1.0.dev0": 90, "1.1.dev0": 80, "1.2.dev0": 70})
    server.add_file(OWNER, "skymap", "1.0.dev0", "skymap-1.0.dev0-cp313-x.whl", upload_time=NOW)
    cleanup(options(server, yes=True, keep=1, days=30), environ=ENV, now=NOW)
    assert server.versions(OWNER, "skymap") == ["1.0.dev0"]


def _bad_package(server: AnacondaServer, body: str) -> None:
    server.inject("package", ApiFault.answer(body), times=None)


def _bad_release(server: AnacondaServer, body: str) -> None:
    server.inject("release", ApiFault.answer(body), times=None, match="1.0.dev5")


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda s: s.inject("release", ApiFault.error(500), times=None, match="1.0.dev3"), "HTTP 500"),
        (lambda s: s.inject("release", ApiFault.drop(), times=None), "could not be read"),
        (lambda s: _bad_package(s, '{"releases": []}'), "listed no releases"),
        (lambda s: _bad_package(s, '{"name": "skymap"}'), "listed no releases"),
        (lambda s: _bad_package(s, "<html>maintenance</html>"), "not JSON"),
        (lambda s: _bad_package(s, '{"releases": [{"version": ""}]}'), "has no version"),
        (
            lambda s: _bad_package(s, '{"releases": [{"version": "1"}, {"version": "1"}]}'),
            "the API listed a version twice",
        ),
        (lambda s: _bad_release(s, '{"version": "1.0.dev5"}'), "release 1.0.dev5 has no list of files"),
        (
            lambda s: _bad_release(s, '{"version": "9.9", "distributions": []}'),
            "the API answered for '9.9', not 1.0.dev5",
        ),
        (lambda s: _bad_release(s, '{"distributions": [{"upload_time": 5}]}'), "does not parse"),
        (
            lambda s: s.add_file(OWNER, "skymap", "1.0.dev4", "odd.whl", upload_time="last Tuesday"),
            "upload time that does not parse ('last Tuesday')",
        ),
    ],
    ids=[
        "release-500", "release-drop", "empty-list", "no-list", "not-json", "no-version",
        "version-twice", "no-files-list", "other-release", "time-not-a-string", "time-unparsable",
    ],
)  # fmt: skip
def test_any_unreadable_data_aborts_with_zero_deletions(
    server: AnacondaServer, break_it: Any, expected: str
) -> None:
    seed(server, AGES)
    break_it(server)
    with pytest.raises(Unreadable) as caught:
        cleanup(options(server, yes=True), environ=ENV, now=NOW)
    message = str(caught.value)
    assert expected in message
    assert message.endswith(
        "; nothing was deleted; check the package on anaconda.org and run again later."
    )
    assert "try again later" not in message  # no second piece of advice nested inside
    assert "check the URL and your network" not in message
    assert server.count("release-delete") == server.count("dist-delete") == 0
    assert server.versions(OWNER, "skymap")[:3] == ["1.0.dev1", "1.0.dev2", "1.0.dev3"]


def test_an_upload_time_in_the_future_aborts_before_the_first_delete(
    server: AnacondaServer,
) -> None:
    """Taken as newest, a date 400 days ahead would push 1.0.dev4 out of the newest 5."""
    seed(server, AGES)
    when = NOW + timedelta(days=400)
    server.add_file(OWNER, "skymap", "1.0.dev2", "skymap-1.0.dev2-cp313.whl", upload_time=when)
    with pytest.raises(Unreadable) as caught:
        cleanup(options(server, yes=True), environ=ENV, now=NOW)
    assert str(caught.value) == (
        f"Cleanup of {OWNER}/skymap stopped because skymap-1.0.dev2-cp313.whl of release "
        f"1.0.dev2 was uploaded at '{format_time(when)}', more than 1 day ahead of this "
        "machine's clock (2026-11-24 12:00 UTC); nothing was deleted; check this machine's "
        "clock and the file on anaconda.org, then run again."
    )
    assert server.count("release-delete") == server.count("dist-delete") == 0
    assert server.versions(OWNER, "skymap") == list(AGES)


def test_an_upload_time_within_the_clock_skew_is_believed(server: AnacondaServer) -> None:
    seed(server, {"1.0.dev1": 90, "1.0.dev2": 80})
    ahead = NOW + CLOCK_SKEW - timedelta(minutes=1)  # another machine's clock, a little fast
    server.add_file(OWNER, "skymap", "1.0.dev1", "skymap-1.0.dev1-cp313.whl", upload_time=ahead)
    cleanup(options(server, yes=True, keep=1, days=30), environ=ENV, now=NOW)
    assert server.versions(OWNER, "skymap") == ["1.0.dev1"]


def test_missing_package_is_one_sentence(server: AnacondaServer) -> None:
    with pytest.raises(ConfigError, match="has no package 'skymap'; nothing was deleted"):
        cleanup(options(server, yes=True), environ=ENV, now=NOW)


def test_expired_token_says_what_to_do(server: AnacondaServer) -> None:
    seed(server, AGES)
    server.add_token("expired-token-4321", expired=True)
    with pytest.raises(NetworkError) as caught:
        cleanup(
            options(server, yes=True), environ={"ANACONDA_ORG_UPLOAD_TOKEN": "expired-token-4321"}
        )
    assert EXPIRED in str(caught.value)
    assert "expired-token-4321" not in str(caught.value)
    assert server.count("release-delete") == 0


def test_deleting_needs_a_token_but_reading_does_not(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed(server, AGES)
    with pytest.raises(ConfigError, match="nothing can be deleted"):
        cleanup(options(server, yes=True), environ={}, now=NOW)
    cleanup(options(server), environ={}, now=NOW)  # the dry run reads a public channel
    cleanup(options(server, yes=True), environ={"GITHUB_EVENT_NAME": "pull_request"}, now=NOW)
    assert "the cleanup was skipped" in text(capfd)
    assert server.count("release-delete") == 0


@pytest.mark.parametrize("call", ["package", "release", "release-delete"])
def test_a_token_the_api_echoes_is_hidden_in_the_output(
    server: AnacondaServer,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    call: str,
) -> None:
    """Every call cleanup makes answers with the token in its error: the CLI shows `***`."""
    seed(server, AGES)
    project = tmp_path / "skymap"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    monkeypatch.setenv("ANACONDA_ORG_UPLOAD_TOKEN", TOKEN)
    monkeypatch.setenv("NIGHTLY_ANACONDA_API_URL", server.url)
    monkeypatch.delenv("GITHUB_EVENT_NAME", raising=False)
    server.inject(call, ApiFault.error(500, f"token {TOKEN} is not valid here"), times=None)
    assert cli.main(["--project", str(project), "cleanup", "--yes"]) == NetworkError.exit_code
    out, err = capfd.readouterr()
    assert "token *** is not valid here" in err
    assert TOKEN not in out + err
    assert server.versions(OWNER, "skymap") == list(AGES)


def test_a_failed_delete_stops_and_says_how_far_it_got(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed(server, AGES)
    server.inject("release-delete", ApiFault.error(500), times=None, match="1.0.dev2")
    with pytest.raises(NetworkError) as caught:
        cleanup(options(server, yes=True), environ=ENV, now=NOW)
    assert str(caught.value) == (
        f"Deleting {OWNER}/skymap 1.0.dev2 failed (DELETE {server.url}/release/{OWNER}/skymap/"
        "1.0.dev2 answered HTTP 500 (injected HTTP 500)); 1 release(s) were deleted before it "
        "and the rest were left alone; run the cleanup again later to finish."
    )
    assert server.versions(OWNER, "skymap")[:2] == ["1.0.dev2", "1.0.dev3"]
    assert f"deleted {OWNER}/skymap 1.0.dev1" in text(capfd)


def test_plan_keeps_releases_without_files_and_breaks_ties_by_list_order() -> None:
    when = NOW - timedelta(days=100)
    releases = [Release("a", 1, when), Release("b", 1, when), Release("empty", 0, None)]
    decisions = retention_plan(releases, keep=1, days=30, now=NOW)
    assert [(d.release.version, d.keep, d.reason) for d in decisions] == [
        ("a", False, "older than 30 days and not among the newest 1"),
        ("b", True, "the newest version"),
        ("empty", True, "no files"),
    ]


@pytest.mark.parametrize(("keep", "days"), [(-1, None), (None, -1)])
def test_negative_keep_or_days_is_one_sentence(keep: int | None, days: int | None) -> None:
    args = argparse.Namespace(package="skymap", channel=None, keep=keep, days=days, yes=False,
                              token_env=None)  # fmt: skip
    with pytest.raises(ConfigError, match=r"^--keep and --days must be whole numbers >= 0\.$"):
        options_from(args, Settings())


@pytest.mark.integration
def test_command_line_and_nox_session(server: AnacondaServer, tmp_path: Path) -> None:
    seed(server, AGES)
    project = tmp_path / "skymap"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    (project / "noxfile.py").write_text("import nightly_sessions\n\nnightly_sessions.register()\n")
    env = {**os.environ, "NIGHTLY_ANACONDA_API_URL": server.url, **ENV}
    env.pop("GITHUB_EVENT_NAME", None)
    dry = subprocess.run(
        [sys.executable, "-m", "nightly_sessions", "--project", str(project), "cleanup"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "DELETE  1.0.dev1" in dry.stdout
    assert server.count("release-delete") == 0
    session = subprocess.run(
        [sys.executable, "-m", "nox", "--no-color", "-s", "cleanup_nightly", "--", "--yes", "--keep", "7"],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert session.returncode == 0, session.stdout + session.stderr
    assert server.versions(OWNER, "skymap") == list(AGES)[1:]  # the newest 7
    for output in (dry.stdout, dry.stderr, session.stdout, session.stderr):
        assert TOKEN not in output
