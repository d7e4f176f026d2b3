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
    cleanup_dropped_tags,
    dropped_tags_plan,
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


# --dropped-tags: the wheels of Pythons no longer built, file by file.

LINUX = "manylinux_2_17_x86_64"
OLD_MATRIX = (
    f"cp39-cp39-{LINUX}", f"cp310-cp310-{LINUX}", f"cp311-cp311-{LINUX}", "cp311-cp311-win_amd64",
    "cp313-cp313t-win_amd64", "py2.py3-none-any",
)  # fmt: skip
NEW_MATRIX = (f"cp311-cp311-{LINUX}", "cp311-cp311-win_amd64", "cp314-cp314t-win_amd64")


def seed_tags(
    server: AnacondaServer,
    version: str,
    days: float,
    tags: tuple[str, ...],
    package: str = "skymap",
) -> None:
    """Wheels of `version` for `tags`, and its sdist."""
    for name in (
        *(f"{package}-{version}-{tag}.whl" for tag in tags),
        f"{package}-{version}.tar.gz",
    ):
        server.add_file(OWNER, package, version, name, name.encode(), upload_time=NOW - timedelta(days=days))  # fmt: skip


def seed_dropped(server: AnacondaServer) -> None:
    seed_tags(server, "1.0.dev5", 20, (*OLD_MATRIX, "cp314-cp314-win_amd64"))
    seed_tags(server, "1.0.dev6", 10, OLD_MATRIX)
    seed_tags(server, "1.0.dev7", 1, NEW_MATRIX)  # the newest: 3.9, 3.10, 3.13t dropped
    seed_tags(server, "0.1.dev1", 40, (f"cp39-cp39-{LINUX}",), package="otherpkg")


DOOMED = [
    ("1.0.dev6", f"skymap-1.0.dev6-cp39-cp39-{LINUX}.whl"),
    ("1.0.dev6", f"skymap-1.0.dev6-cp310-cp310-{LINUX}.whl"),
    ("1.0.dev6", "skymap-1.0.dev6-cp313-cp313t-win_amd64.whl"),
    ("1.0.dev5", f"skymap-1.0.dev5-cp39-cp39-{LINUX}.whl"),
    ("1.0.dev5", f"skymap-1.0.dev5-cp310-cp310-{LINUX}.whl"),
    ("1.0.dev5", "skymap-1.0.dev5-cp313-cp313t-win_amd64.whl"),
]


def test_dropped_tags_dry_run_lists_exactly_what_would_go(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed_dropped(server)
    before = set(server.files(OWNER))
    plan = cleanup_dropped_tags(options(server, dropped_tags=True), environ={}, now=NOW)
    assert plan is not None
    assert [(d.version, d.basename) for d in plan.doomed] == DOOMED
    assert (plan.built, plan.dropped) == (("cp311", "cp314t"), ("cp39", "cp310", "cp313t"))
    assert set(server.files(OWNER)) == before
    assert server.count("dist-delete") == server.count("release-delete") == 0
    output = text(capfd)
    assert output.splitlines()[:5] == [
        (
            f"Dropped-tag cleanup of {OWNER}/skymap: the newest version 1.0.dev7 (uploaded "
            "2026-11-23 12:00) builds cp311, cp314t; no longer built: cp39, cp310, cp313t; 6 "
            "wheel(s) to delete."
        ),
        (
            f"  DELETE  skymap-1.0.dev6-cp39-cp39-{LINUX}.whl  (only cp39, older than cp311, the "
            "oldest the newest version builds)"
        ),
        (
            f"  DELETE  skymap-1.0.dev6-cp310-cp310-{LINUX}.whl  (only cp310, older than cp311, the "
            "oldest the newest version builds)"
        ),
        (
            "  DELETE  skymap-1.0.dev6-cp313-cp313t-win_amd64.whl  (only cp313t, older than cp314t, "
            "the oldest the newest version builds)"
        ),
        (
            "  keep    skymap-1.0.dev6-py2.py3-none-any.whl  (py2: the newest version has no py wheel "
            "at all, which a failed build looks like too; py3: the newest version has no py wheel "
            "at all, which a failed build looks like too)"
        ),
    ]
    assert (
        "  keep    skymap-1.0.dev5-cp314-cp314-win_amd64.whl  (cp314: newer than cp311, the "
        "oldest of its kind the newest version builds, so more likely a failed build than a "
        "dropped Python)"
    ) in output
    assert output.rstrip().endswith(
        "Dry run: nothing was deleted; pass --yes to delete the files marked DELETE."
    )


def test_dropped_tags_yes_deletes_exactly_those_wheels(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed_dropped(server)
    before = set(server.files(OWNER))
    cleanup_dropped_tags(options(server, dropped_tags=True, yes=True), environ=ENV, now=NOW)
    deletes = [c.path for c in server.calls if c.method == "DELETE"]
    assert deletes == [f"/dist/{OWNER}/skymap/{version}/{name}" for version, name in DOOMED]
    assert set(server.files(OWNER)) == before - {name for _, name in DOOMED}
    assert server.versions(OWNER, "skymap") == ["1.0.dev5", "1.0.dev6", "1.0.dev7"]
    output = text(capfd)
    assert f"deleted {OWNER}/skymap 1.0.dev6 skymap-1.0.dev6-cp39-cp39-{LINUX}.whl" in output
    assert f"Deleted 6 file(s) of {OWNER}/skymap." in output
    # Run again: nothing left to do, and the newest version is never a candidate.
    plan = cleanup_dropped_tags(options(server, dropped_tags=True, yes=True), environ=ENV, now=NOW)
    assert plan is not None
    assert plan.doomed == []
    assert all(d.version != "1.0.dev7" for d in plan.files)
    assert "Nothing to delete: no wheel of an older version is only for a dropped Python." in text(
        capfd
    )


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (lambda s: s.inject("release", ApiFault.error(500), times=None, match="1.0.dev6"), "HTTP 500"),
        (lambda s: s.inject("package", ApiFault.drop(), times=None), "could not be read"),
        (
            lambda s: s.add_file(OWNER, "skymap", "1.0.dev5", "odd.whl", upload_time="last Tuesday"),
            "upload time that does not parse ('last Tuesday')",
        ),
        (
            lambda s: s.inject("release", ApiFault.answer('{"version": "1.0.dev5", "distributions": [{"upload_time": "2026-11-01T00:00:00+00:00"}]}'), times=None, match="1.0.dev5"),
            "a file of release 1.0.dev5 has no name",
        ),
        (
            lambda s: s.add_file(OWNER, "skymap", "1.0.dev5", "late.whl", upload_time=NOW + timedelta(days=9)),
            "more than 1 day ahead of this machine's clock",
        ),
    ],
    ids=["release-500", "package-drop", "time-unparsable", "file-without-name", "time-in-the-future"],
)  # fmt: skip
def test_dropped_tags_never_delete_on_data_not_fully_read(
    server: AnacondaServer, break_it: Any, expected: str
) -> None:
    seed_dropped(server)
    before = set(server.files(OWNER))
    break_it(server)
    with pytest.raises(Unreadable) as caught:
        cleanup_dropped_tags(options(server, dropped_tags=True, yes=True), environ=ENV, now=NOW)
    assert expected in str(caught.value)
    assert "nothing was deleted" in str(caught.value)
    assert server.count("dist-delete") == server.count("release-delete") == 0
    assert before <= set(server.files(OWNER))


@pytest.mark.parametrize(
    ("newest", "reason"),
    [
        ((), "the newest version 1.0.dev7 has no wheels to tell which Pythons it builds"),
        (("cp311-linux",), "the name of skymap-1.0.dev7-cp311-linux.whl in the newest version 1.0.dev7 does not parse"),
    ],
    ids=["sdist-only", "odd-wheel-name"],
)  # fmt: skip
def test_dropped_tags_delete_nothing_when_the_newest_version_tells_nothing(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str], newest: tuple[str, ...], reason: str
) -> None:
    seed_tags(server, "1.0.dev6", 10, OLD_MATRIX)
    seed_tags(server, "1.0.dev7", 1, newest)
    plan = cleanup_dropped_tags(options(server, dropped_tags=True, yes=True), environ=ENV, now=NOW)
    assert plan is not None
    assert (plan.stop, plan.doomed) == (reason, [])
    assert server.count("dist-delete") == 0
    assert f"Nothing to delete because {reason}; nothing was deleted." in text(capfd)


def test_dropped_tags_failed_delete_stops_and_says_how_far_it_got(
    server: AnacondaServer, capfd: pytest.CaptureFixture[str]
) -> None:
    seed_dropped(server)
    server.inject("dist-delete", ApiFault.error(500), times=None, match="cp310")
    with pytest.raises(NetworkError) as caught:
        cleanup_dropped_tags(options(server, dropped_tags=True, yes=True), environ=ENV, now=NOW)
    name = f"skymap-1.0.dev6-cp310-cp310-{LINUX}.whl"
    assert str(caught.value) == (
        f"Deleting {OWNER}/skymap 1.0.dev6 {name} failed (DELETE {server.url}/dist/{OWNER}/"
        f"skymap/1.0.dev6/{name} answered HTTP 500 (injected HTTP 500)); 1 file(s) were "
        "deleted before it and the rest were left alone; run the cleanup again later to finish."
    )
    done = [c.path for c in server.calls if c.call == "dist-delete" and c.status == 200]
    assert done == [f"/dist/{OWNER}/skymap/1.0.dev6/skymap-1.0.dev6-cp39-cp39-{LINUX}.whl"]
    assert {name, f"skymap-1.0.dev5-cp39-cp39-{LINUX}.whl"} <= set(server.files(OWNER))
    assert "deleted" in text(capfd)


def test_dropped_tags_expired_token_deletes_nothing(server: AnacondaServer) -> None:
    seed_dropped(server)
    before = set(server.files(OWNER))
    server.add_token("expired-token-4321", expired=True)
    with pytest.raises(NetworkError, match=EXPIRED):
        cleanup_dropped_tags(
            options(server, dropped_tags=True, yes=True),
            environ={"ANACONDA_ORG_UPLOAD_TOKEN": "expired-token-4321"},
            now=NOW,
        )
    assert server.count("dist-delete") == 0
    assert set(server.files(OWNER)) == before


def test_dropped_tags_plan_keeps_a_python_a_failed_build_could_explain() -> None:
    when = NOW - timedelta(days=2)
    older = Release("1", 3, when - timedelta(days=7), (
        "p-1-cp312-cp312-win_amd64.whl", "p-1-cp313-cp313-win_amd64.whl", "p-1-cp313-cp313t-win_amd64.whl",
    ))  # fmt: skip
    newest = Release("2", 1, when, ("p-2-cp312-cp312-win_amd64.whl", "p-2.tar.gz"))
    plan = dropped_tags_plan([older, newest])
    assert (plan.built, plan.dropped, plan.doomed) == (("cp312",), (), [])
    assert [(d.basename, d.keep) for d in plan.files] == [
        ("p-1-cp313-cp313-win_amd64.whl", True),
        ("p-1-cp313-cp313t-win_amd64.whl", True),
    ]


def test_dropped_tags_and_a_retention_option_are_one_sentence(tmp_path: Path) -> None:
    args = argparse.Namespace(package="skymap", channel=None, keep=3, days=None, yes=False,
                              token_env=None, dropped_tags=True)  # fmt: skip
    with pytest.raises(ConfigError, match=r"^--dropped-tags deletes only the wheels of Pythons"):
        options_from(args, Settings())
    args.keep = None
    assert options_from(args, Settings()).dropped_tags


def test_dropped_tags_on_the_command_line(
    server: AnacondaServer, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    seed_dropped(server)
    project = tmp_path / "skymap"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "skymap"\nversion = "1.0"\n')
    monkeypatch.setenv("NIGHTLY_ANACONDA_API_URL", server.url)
    assert cli.main(["--project", str(project), "cleanup", "--dropped-tags"]) == 0
    assert "6 wheel(s) to delete" in text(capfd)
    assert cli.main(["--project", str(project), "cleanup", "--dropped-tags", "--days", "3"]) == 2
    assert "--keep and --days do not go with it" in text(capfd)
    assert server.count("dist-delete") == 0
