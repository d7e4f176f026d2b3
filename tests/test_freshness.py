"""The freshness check against the loopback anaconda.org and a PEP 700 index, and its issue."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sample_reports import job_folder

from nightly_sessions import freshness
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.freshness import FreshnessOptions, FreshnessResult
from nightly_sessions.testing.anaconda import (
    DEFAULT_OWNER,
    AnacondaServer,
    ApiFault,
    serve_anaconda,
)
from nightly_sessions.testing.pypi import free_port
from nightly_sessions.testing.simple_index import serve_simple_index
from nightly_sessions.testing.wheelhouse import make_wheel
from nightly_sessions.tracking import decisions as tracking
from nightly_sessions.tracking import issue, issue_body, job_reports

OWNER = DEFAULT_OWNER
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
TOKEN = "fresh-index-token-Zq81"  # made up; the output must never show it
PYPROJECT = """\
[project]
name = "skymap"
version = "1.0"
dependencies = ["tinyarray>=1", "helperlib"]
"""


@pytest.fixture
def server() -> Iterator[AnacondaServer]:
    with serve_anaconda() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "skymap"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


def upload(
    server: AnacondaServer, package: str, version: str, days: float, now: datetime = NOW
) -> None:
    """A wheel of `package` on the channel, uploaded `days` before `now`."""
    server.add_file(
        OWNER, package, version, f"{package}-{version}-py3-none-any.whl", version.encode(),
        upload_time=now - timedelta(days=days),
    )  # fmt: skip


def settings_for(server: AnacondaServer, project: Path, **changes: Any) -> Settings:
    base = Settings(
        project_root=project,
        nightly_index_url=server.simple_url(OWNER),
        anaconda_api_url=server.url,
        channel=OWNER,
        timeout=5.0,
        retries=1,
    )
    return dataclasses.replace(base, **changes)


def parse_session_args(
    argv: list[str], settings: Settings, log: Callable[[str], None]
) -> FreshnessOptions | None:
    """The options as `nox -s nightly_freshness -- ...` reads them."""
    args = session_args("nightly_freshness", argv, log)
    return None if args is None else freshness.options_from(args, settings)


def options(**changes: Any) -> FreshnessOptions:
    return dataclasses.replace(FreshnessOptions(package=None, channel=OWNER), **changes)


def check(settings: Settings, **changes: Any) -> tuple[FreshnessResult, str, dict[str, Any]]:
    """Run the check at NOW; the result, what it printed, and the report it wrote."""
    lines: list[str] = []
    chosen = parse_session_args([], settings, print)
    assert chosen is not None
    chosen = dataclasses.replace(chosen, **changes)
    result = freshness.run(settings, chosen, log=lines.append, now=NOW, environ={})
    path = settings.report_path / "freshness" / "freshness-report.json"
    report: dict[str, Any] = json.loads(path.read_text())
    return result, "\n".join(lines), report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    rows = [report["project"], *report["dependencies"]]
    return {row["name"]: row["status"] for row in rows}


def test_fresh_project_passes(server: AnacondaServer, project: Path) -> None:
    upload(server, "skymap", "1.0.dev1", 9)
    upload(server, "skymap", "1.0.dev2", 3)
    upload(server, "tinyarray", "1.1.dev0", 1)
    result, output, report = check(settings_for(server, project))
    assert (result.exit_code, result.message) == (0, None)
    assert report["outcome"] == "fresh"
    assert report["project"] == {
        "name": "skymap", "status": "fresh", "threshold_days": 8,
        "newest_version": "1.0.dev2", "newest_upload": "2026-11-21T12:00:00+00:00",
        "age_days": 3, "source": "anaconda.org API", "error": None,
    }  # fmt: skip
    assert statuses(report) == {"skymap": "fresh", "tinyarray": "fresh"}  # helperlib: no nightly
    assert report["warnings"] == []
    assert "skymap     project     1.0.dev2" in output
    assert "fresh (limit 8 d)" in output


def test_stale_project_fails_with_what_to_do(server: AnacondaServer, project: Path) -> None:
    upload(server, "skymap", "1.0.dev1", 40)
    upload(server, "skymap", "1.0.dev2", 30)
    upload(server, "skymap", "1.0.dev1", 23)  # an older version re-uploaded is the newest upload
    upload(server, "tinyarray", "1.1.dev0", 1)
    result, output, report = check(settings_for(server, project))
    assert result.exit_code == 1
    assert result.message == (
        "The newest nightly of skymap on scientific-python-nightly-wheels, 1.0.dev1, was "
        "uploaded 23 days ago (2026-11-01), more than 8 days; since 2026-11-16 the channel's "
        "stale-wheel bot (@scientific-python-bot) reports it in an issue on skymap's tracker "
        '("No skymap nightly wheels uploaded in … days", which it closes after the next '
        "upload; answer there rather than in a second issue), and at 30 days (2026-12-01) the "
        "channel deletes all of skymap's nightlies, so upload a new nightly within 7 days (run "
        "the wheels workflow, or `nox -s build_nightly` then `nox -s upload_nightly`)."
    )
    assert (report["outcome"], report["message"]) == ("stale", result.message)
    assert report["project"]["age_days"] == 23
    assert "stale (limit 8 d)" in output


HINT = "(run the wheels workflow, or `nox -s build_nightly` then `nox -s upload_nightly`)"


@pytest.mark.parametrize(
    ("age", "advice"),
    [
        (
            9,
            (
                "at 15 days (2026-11-30) the channel's stale-wheel bot (@scientific-python-bot) "
                "opens an issue about it on skymap's tracker, and at 30 days (2026-12-15) the "
                f"channel deletes all of skymap's nightlies, so upload a new nightly within 21 days {HINT}."
            ),
        ),
        (
            15,
            (
                "since 2026-11-24 the channel's stale-wheel bot (@scientific-python-bot) reports it "
                'in an issue on skymap\'s tracker ("No skymap nightly wheels uploaded in … days", '
                "which it closes after the next upload; answer there rather than in a second issue), "
                "and at 30 days (2026-12-09) the channel deletes all of skymap's nightlies, so upload "
                f"a new nightly within 15 days {HINT}."
            ),
        ),
        (
            31,
            (
                "the channel deletes all of skymap's nightlies 30 days after the last upload "
                f"(2026-11-23), so they are gone or about to go: upload a new nightly now {HINT}."
            ),
        ),
    ],
    ids=["before-the-bot", "bot-issue-open", "past-deletion"],
)
def test_stale_project_is_told_what_the_channel_and_its_bot_do(
    server: AnacondaServer, project: Path, age: int, advice: str
) -> None:
    """The bot opens at 15 whole days and the channel deletes at 30 (upload-nightly-action#175)."""
    upload(server, "skymap", "1.0.dev2", age)
    result, output, report = check(settings_for(server, project), dependencies=False)
    when = NOW - timedelta(days=age)
    assert result.message == (
        f"The newest nightly of skymap on scientific-python-nightly-wheels, 1.0.dev2, was "
        f"uploaded {age} days ago ({when:%Y-%m-%d}), more than 8 days; {advice}"
    )
    assert output.startswith(
        "Nightly uploads on scientific-python-nightly-wheels at 2026-11-24 12:00 UTC; 15 days "
        "after a project's last upload the channel's stale-wheel bot opens an issue on its "
        "tracker, at 30 the channel deletes its files:"
    )
    assert report["channel_bot"] == {
        "login": "scientific-python-bot",
        "marker": "<!-- scientific-python-nightly-wheels: stale-wheels -->",
        "issue_days": 15,
        "comment_days": 25,
        "source": "https://github.com/scientific-python/upload-nightly-action/pull/175",
    }


@pytest.mark.parametrize(("age", "code"), [(7.9, 0), (8.1, 1), (14.9, 1)])
def test_the_default_fails_before_the_bot_with_weekly_checks(
    server: AnacondaServer, project: Path, age: float, code: int
) -> None:
    """A weekly build a day late passes; checked weekly, a stale project has failed by day 15."""
    upload(server, "skymap", "1.0.dev2", age)
    assert check(settings_for(server, project), dependencies=False)[0].exit_code == code


def test_dependency_before_the_bot_and_own_channel_wording(
    server: AnacondaServer, project: Path
) -> None:
    upload(server, "tinyarray", "1.1.dev0", 11)
    server.add_file(
        "my-lab", "skymap", "1.0.dev2", "skymap-1.0.dev2-py3-none-any.whl", b"x",
        upload_time=NOW - timedelta(days=12),
    )  # fmt: skip
    settings = settings_for(server, project, channel="my-lab")
    result, output, report = check(settings, channel="my-lab", dependency_days=10)
    assert result.message == (
        "The newest nightly of skymap on my-lab, 1.0.dev2, was uploaded 12 days ago "
        f"(2026-11-12), more than 8 days; upload a new nightly {HINT}."
    )  # no central bot, no central deletion on an own channel
    assert report["warnings"] == [
        (
            "The newest nightly of tinyarray on scientific-python-nightly-wheels, 1.1.dev0, was "
            "uploaded 11 days ago (2026-11-13), more than 10 days: the nightly tests run on this "
            "old nightly, not on current tinyarray code; at 15 days (2026-11-28) the channel's "
            "stale-wheel bot (@scientific-python-bot) reports it on tinyarray's tracker, and the "
            "channel deletes it 30 days after its last upload (2026-12-13), after which the tests "
            "install tinyarray from the base index."
        )
    ]
    assert report["channel_bot"] is None
    assert output.startswith("Nightly uploads on my-lab at 2026-11-24 12:00 UTC:\n")


def test_threshold_comes_from_settings_and_options(server: AnacondaServer, project: Path) -> None:
    upload(server, "skymap", "1.0.dev1", 12)
    (project / "pyproject.toml").write_text(
        PYPROJECT + "\n[tool.nightly-sessions]\nfreshness-days = 10\n"
    )
    settings = load_settings(project, environ={})
    assert (settings.freshness_days, settings.dependency_freshness_days) == (10, 15)
    settings = settings_for(server, project, freshness_days=settings.freshness_days)
    parse = parse_session_args
    assert parse([], settings, print) == options(days=10)
    assert check(settings)[0].exit_code == 1
    assert parse(["--days", "14", "--no-dependencies"], settings, print) == options(
        days=14, dependencies=False
    )
    assert check(settings, days=14)[0].exit_code == 0


def test_missing_project_says_to_upload(server: AnacondaServer, project: Path) -> None:
    upload(server, "tinyarray", "1.1.dev0", 1)
    result, _, report = check(settings_for(server, project))
    assert result.exit_code == 1
    assert result.message == (
        "No nightly of skymap is on scientific-python-nightly-wheels, so there is nothing to "
        "keep alive: build and upload one (run the wheels workflow, or `nox -s build_nightly` "
        "then `nox -s upload_nightly`)."
    )
    assert report["outcome"] == "missing"
    assert report["project"]["newest_upload"] is None


def test_stale_or_missing_dependency_is_a_warning(server: AnacondaServer, project: Path) -> None:
    (project / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.nightly-sessions]\npackages = ["tinyarray", "helperlib"]\n'
    )
    upload(server, "skymap", "1.0.dev2", 2)
    upload(server, "tinyarray", "1.1.dev0", 26)
    settings = settings_for(server, project, packages=("tinyarray", "helperlib"))
    result, output, report = check(settings)
    assert (result.exit_code, report["outcome"]) == (0, "fresh")
    assert statuses(report) == {"skymap": "fresh", "tinyarray": "stale", "helperlib": "missing"}
    stale = (
        "The newest nightly of tinyarray on scientific-python-nightly-wheels, 1.1.dev0, was "
        "uploaded 26 days ago (2026-10-29), more than 15 days: the nightly tests run on this "
        "old nightly, not on current tinyarray code; since 2026-11-13 the channel's "
        "stale-wheel bot (@scientific-python-bot) reports it in an issue on tinyarray's "
        "tracker, so tinyarray has been told, and the channel deletes it 30 days after its "
        "last upload (2026-11-28), after which the tests install tinyarray from the base index."
    )
    missing = (
        "No nightly of helperlib is on scientific-python-nightly-wheels: the tests install it "
        "from the base index."
    )
    assert report["warnings"] == [stale, missing]
    assert "warning: The newest nightly of tinyarray" in output
    assert check(settings, dependency_days=30)[2]["warnings"] == report["warnings"][1:]


def test_an_upstream_from_git_is_no_dependency_to_watch(
    server: AnacondaServer, project: Path
) -> None:
    upload(server, "skymap", "1.0.dev2", 2)
    upload(server, "tinyarray", "1.1.dev0", 1)
    git = (("helperlib", "git+https://github.com/org/helperlib@main"),)
    settings = settings_for(server, project, packages=("tinyarray", "helperlib"), git_packages=git)
    report = check(settings)[2]
    assert statuses(report) == {"skymap": "fresh", "tinyarray": "fresh"}
    assert report["warnings"] == []


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        (ApiFault.error(500, "database down"), "answered HTTP 500 (database down)"),
        (ApiFault.answer("<html>maintenance</html>"), "is not JSON"),
        (ApiFault.drop(), "failed after 2 attempts"),
    ],
)
def test_api_error_is_exit_3_never_fresh(
    server: AnacondaServer, project: Path, fault: ApiFault, match: str
) -> None:
    upload(server, "skymap", "1.0.dev2", 2)
    server.inject("release", fault, times=None, match="skymap")
    result, _, report = check(settings_for(server, project))
    assert (result.exit_code, report["outcome"]) == (3, "error")
    assert result.message is not None
    assert result.message.startswith(
        "The freshness of skymap on scientific-python-nightly-wheels is unknown because its "
        "upload dates could not be read: "
    )
    assert match in result.message
    assert report["project"]["status"] == "error"


def test_unreadable_dates_are_an_error_not_fresh(server: AnacondaServer, project: Path) -> None:
    server.add_file(OWNER, "skymap", "1.0.dev2", "skymap-1.0.dev2-py3-none-any.whl", upload_time="yesterday")  # fmt: skip
    result, _, report = check(settings_for(server, project), dependencies=False)
    assert (result.exit_code, report["outcome"]) == (3, "error")
    assert "No upload time of scientific-python-nightly-wheels/skymap" in str(result.message)
    # One unreadable date among readable ones can only make the package look older.
    upload(server, "skymap", "1.0.dev3", 4)
    assert check(settings_for(server, project), dependencies=False)[0].exit_code == 0


def test_dependency_api_error_is_exit_3_with_project_fresh(
    server: AnacondaServer, project: Path
) -> None:
    upload(server, "skymap", "1.0.dev2", 2)
    upload(server, "tinyarray", "1.1.dev0", 1)
    server.inject("package", ApiFault.error(503), times=None, match="tinyarray")
    result, _, report = check(settings_for(server, project))
    assert (result.exit_code, report["outcome"]) == (3, "error")
    assert statuses(report) == {"skymap": "fresh", "tinyarray": "error"}
    assert str(result.message).startswith("The freshness of tinyarray")


def test_unreachable_index_is_exit_3(server: AnacondaServer, project: Path) -> None:
    upload(server, "skymap", "1.0.dev2", 2)
    dead = f"http://127.0.0.1:{free_port()}/simple"
    result, _, report = check(settings_for(server, project, nightly_index_url=dead))
    assert (result.exit_code, report["outcome"]) == (3, "error")
    assert report["warnings"][0].startswith("The nightly dependencies could not be listed")


def test_no_project_name_still_writes_a_report(server: AnacondaServer, project: Path) -> None:
    (project / "pyproject.toml").write_text("[project]\nversion = '1'\n")
    result, output, report = check(settings_for(server, project))
    assert result.exit_code == 2
    assert "has no [project] name; pass --package NAME." in str(result.message)
    assert (report["outcome"], report["message"]) == ("error", result.message)
    assert "Report:" in output


def test_pep700_dates_from_a_json_index(tmp_path: Path, server: AnacondaServer) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    for version, days in (("1.0.dev1", 28), ("1.0.dev2", 21.5)):
        wheel = make_wheel(folder, "skymap", version)
        stamp = (NOW - timedelta(days=days)).timestamp()
        os.utime(wheel, (stamp, stamp))
    with serve_simple_index(folder, prefix=f"/t/{TOKEN}/nightly", formats=("json",)) as index:
        settings = settings_for(server, tmp_path, nightly_index_url=index.url)
        result, output, report = check(settings, package="skymap", dependencies=False)
    assert result.exit_code == 1
    assert report["project"]["newest_version"] == "1.0.dev2"
    assert report["project"]["age_days"] == 21
    assert report["project"]["source"] == f"http://127.0.0.1:{index.port}/t/***/nightly/simple"
    assert server.count("package") == 0  # the index's dates sufficed
    everything = output + json.dumps(report) + str(result.message)
    assert TOKEN not in everything


def test_bad_options_are_one_sentence(server: AnacondaServer, project: Path) -> None:
    settings = settings_for(server, project)
    with pytest.raises(ConfigError, match=r"--days and --dependency-days must be whole numbers"):
        parse_session_args(["--days", "-1"], settings, print)
    with pytest.raises(ConfigError, match=r"unrecognized arguments: --dayz"):
        parse_session_args(["--dayz", "3"], settings, print)
    with pytest.raises(ConfigError, match=r"freshness-days.*must be a whole number >= 0"):
        load_settings(project, environ={"NIGHTLY_FRESHNESS_DAYS": "soon"})
    shown: list[str] = []
    assert parse_session_args(["--help"], settings, shown.append) is None
    assert "--dependency-days" in shown[0]


# The reporter turns a failing check into the tracking issue.


def reports_folder(tmp_path: Path, server: AnacondaServer, project: Path) -> Path:
    """The reporting job's folder: a passing test job's report and the check's report."""
    folder = tmp_path / "nightly-reports"
    job_folder(folder, "py3.12-Linux", None, outcome="passed")
    check(settings_for(server, project, report_dir=str(folder)))
    return folder


def test_reporter_opens_an_issue_for_a_stale_project(
    tmp_path: Path, server: AnacondaServer, project: Path
) -> None:
    upload(server, "skymap", "1.0.dev2", 24)
    upload(server, "tinyarray", "1.1.dev0", 25)
    folder = reports_folder(tmp_path, server, project)
    jobs = job_reports.load_jobs(folder)
    assert [(job.job, job.kind, job.outcome) for job in jobs] == [
        ("freshness", "freshness", "stale"),
        ("py3.12-Linux", "tests", "passed"),
    ]
    assert tracking.is_failing(jobs, "success")
    body = issue_body.render_body(jobs, tracking.RunInfo())
    assert "## Nightly uploads need attention" in body
    assert "| `freshness` | — | — | stale: the channel will delete the nightlies |" in body
    assert "### Nightly uploads on the channel" in body
    assert "was uploaded 24 days ago (2026-10-31), more than 8 days" in body
    assert "the nightly tests run on this old nightly, not on current tinyarray code" in body
    assert tracking.decide(jobs, body, None, tracking.RunInfo()).action == "open"
    lines: list[str] = []
    args = session_args("nightly_issue", [str(folder), "--dry-run", "--tests-result", "success"])
    assert args is not None
    assert issue.run(args, Settings(), environ={}, log=lines.append) == 0
    assert "Would open a tracking issue" in lines[-1]
    assert "more than 8 days" in lines[0]


def test_reporter_closes_when_fresh_and_keeps_test_failures_first(
    tmp_path: Path, server: AnacondaServer, project: Path
) -> None:
    upload(server, "skymap", "1.0.dev2", 2)
    upload(server, "tinyarray", "1.1.dev0", 25)
    folder = reports_folder(tmp_path, server, project)
    jobs = job_reports.load_jobs(folder)
    assert not tracking.is_failing(jobs, "success")
    existing = tracking.TrackedIssue(7, tracking.marker(tracking.DEFAULT_KEY))
    assert tracking.decide(jobs, "", existing, tracking.RunInfo()).action == "close"
    # With a failing test job, the stale dependency is shown next to the failures.
    job_folder(folder, "py3.13-Linux", None, outcome="not-run", stage="install", error="boom")
    jobs = job_reports.load_jobs(folder)
    body = issue_body.render_body(jobs, tracking.RunInfo())
    assert "## Nightly tests failed" in body
    assert "1 of 3 jobs failed" in body
    assert "Dependencies whose nightlies are not fresh" in body


def test_reporter_flags_a_broken_freshness_report(tmp_path: Path) -> None:
    folder = tmp_path / "nightly-reports-freshness"
    folder.mkdir()
    (folder / "freshness-report.json").write_text('{"schema": 1, "kind": "tests"}')
    [job] = job_reports.load_jobs(tmp_path)
    assert (job.job, job.outcome, job.failing) == ("freshness", "absent", True)
    body = issue_body.render_body([job], tracking.RunInfo())
    assert "freshness-report.json is not a schema-1 freshness report" in body
    assert "| `freshness` | — | — | report unreadable |" in body


# The command line and the nox session.


@pytest.mark.integration
def test_command_line_and_nox_session(server: AnacondaServer, project: Path) -> None:
    now = datetime.now(timezone.utc)
    upload(server, "skymap", "1.0.dev2", 22, now=now)
    (project / "noxfile.py").write_text("import nightly_sessions\n\nnightly_sessions.register()\n")
    env = {
        **os.environ,
        "NIGHTLY_ANACONDA_API_URL": server.url,
        "NIGHTLY_INDEX_URL": server.simple_url(OWNER),
    }
    env.pop("GITHUB_STEP_SUMMARY", None)
    command = [sys.executable, "-m", "nightly_sessions", "--project", str(project), "freshness"]
    stale = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert stale.returncode == 1, stale.stderr
    assert "nightly-sessions: The newest nightly of skymap" in stale.stderr
    assert "Traceback" not in stale.stderr
    passed = subprocess.run(
        [*command, "--days", "25"], env=env, capture_output=True, text=True, check=False
    )
    assert passed.returncode == 0, passed.stderr
    assert "fresh (limit 25 d)" in passed.stdout
    session = subprocess.run(
        [sys.executable, "-m", "nox", "--no-color", "-s", "nightly_freshness", "--", "--no-dependencies"],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert session.returncode == 1
    assert "more than 8 days" in session.stderr
    assert "Traceback" not in session.stderr
    report = json.loads((project / "nightly-reports/freshness/freshness-report.json").read_text())
    assert report["outcome"] == "stale"


@pytest.mark.parametrize(
    ("url", "owner"),
    [
        (
            "https://pypi.anaconda.org/scientific-python-nightly-wheels/simple",
            "scientific-python-nightly-wheels",
        ),
        ("https://pypi.anaconda.org/t/tok-1/my-org/simple", "my-org"),
        ("https://pypi.anaconda.org/my-org/label/dev/simple", "my-org"),
        ("https://pypi.org/simple", None),
        ("http://127.0.0.1:8080/simple", None),
    ],
)
def test_dependencies_are_looked_up_on_the_nightly_index_owner(url: str, owner: str | None) -> None:
    assert freshness.index_owner(url) == owner


def test_own_channel_for_the_project_nightly_channel_for_dependencies(
    server: AnacondaServer, project: Path
) -> None:
    server.add_file(
        "my-lab", "skymap", "1.0.dev2", "skymap-1.0.dev2-py3-none-any.whl", b"x",
        upload_time=NOW - timedelta(days=2),
    )  # fmt: skip
    upload(server, "tinyarray", "1.1.dev0", 1)  # on the nightly channel, not on my-lab
    settings = settings_for(server, project, channel="my-lab")
    result, _, report = check(settings, channel="my-lab")
    assert result.exit_code == 0
    assert statuses(report) == {"skymap": "fresh", "tinyarray": "fresh"}


# Per-platform coverage: a build the newest version lacks.

LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"
MATRIX = (
    f"cp312-cp312-{LINUX}", f"cp313-cp313-{LINUX}", "cp312-cp312-win_amd64",
    "cp313-cp313-win_amd64", "cp313-cp313t-win_amd64", "cp313-cp313-macosx_11_0_arm64",
)  # fmt: skip


def wheels(server: AnacondaServer, version: str, days: float, tags: tuple[str, ...]) -> None:
    for tag in tags:
        server.add_file(
            OWNER, "skymap", version, f"skymap-{version}-{tag}.whl", tag.encode(),
            upload_time=NOW - timedelta(days=days),
        )  # fmt: skip


def test_a_platform_missing_from_the_newest_version_is_a_warning(
    server: AnacondaServer, project: Path, tmp_path: Path
) -> None:
    wheels(server, "1.0.dev6", 15, (*MATRIX, "cp311-cp311-win_amd64"))
    wheels(server, "1.0.dev7", 8, MATRIX)
    wheels(server, "1.0.dev8", 1, tuple(t for t in MATRIX if "win" not in t))  # Windows failed
    summary = tmp_path / "summary.md"
    lines: list[str] = []
    chosen = options(dependencies=False)
    settings = settings_for(server, project)
    result = freshness.run(settings, chosen, log=lines.append, now=NOW, environ={"GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert (result.exit_code, result.message) == (0, None)  # a warning, not a failure
    tail = (
        "a platform or Python of the build matrix stopped uploading; look at that job of the "
        "wheels workflow (a platform or Python dropped on purpose stays in this warning while "
        "the channel holds older versions with it; `nox -s cleanup_nightly -- --dropped-tags` "
        "removes the wheels of Pythons no longer built)."
    )
    start = (
        "The newest nightly of skymap on scientific-python-nightly-wheels, 1.0.dev8 (uploaded "
        "2026-11-23), has no wheel for "
    )
    assert result.coverage_warnings == [
        f"{start}win_amd64 (cp312, cp313, cp313t), which 1.0.dev7 (2026-11-16) had: {tail}",
        f"{start}win_amd64 (cp311), which 1.0.dev6 (2026-11-09) had: {tail}",
    ]
    output = "\n".join(lines)
    assert "fresh (limit 8 d), 4 wheel builds missing" in output
    assert f"warning: {result.coverage_warnings[0]}" in output
    assert f"warning: {result.coverage_warnings[1]}" in summary.read_text()
    report = json.loads((settings.report_path / "freshness/freshness-report.json").read_text())
    assert report["coverage_warnings"] == result.coverage_warnings
    assert report["warnings"] == []  # the dependency warnings stay apart
    assert report["coverage"]["newest_version"] == "1.0.dev8"
    assert report["coverage"]["builds"] == [
        "cp313-macosx_arm64", "cp312-manylinux_x86_64", "cp313-manylinux_x86_64",
    ]  # fmt: skip
    assert report["coverage"]["missing"][0] == {
        "python": "cp311", "platform": "win_amd64", "last_version": "1.0.dev6",
        "last_upload": "2026-11-09T12:00:00+00:00",
    }  # fmt: skip
    # The tracking issue shows them in the channel section, apart from the dependencies.
    [job] = job_reports.load_jobs(settings.report_path)
    body = issue_body.render_body([job], tracking.RunInfo())
    assert "### Nightly uploads on the channel" in body
    assert "Wheel builds that stopped uploading" in body
    assert "win_amd64 (cp312, cp313, cp313t), which 1.0.dev7" in body
    assert "Dependencies whose nightlies are not fresh" not in body


def test_the_same_builds_under_new_platform_versions_are_no_warning(
    server: AnacondaServer, project: Path
) -> None:
    """A newer manylinux or macOS version, or universal2 for both Macs, is the same build."""
    wheels(server, "1.0.dev7", 8, (f"cp313-cp313-{LINUX}", "cp313-cp313-macosx_10_13_x86_64", "cp313-cp313-macosx_11_0_arm64", "py3-none-any"))  # fmt: skip
    wheels(server, "1.0.dev8", 1, ("cp313-cp313-manylinux_2_28_x86_64", "cp313-cp313-macosx_14_0_universal2", "py3-none-any"))  # fmt: skip
    result, output, report = check(settings_for(server, project), dependencies=False)
    assert result.coverage_warnings == report["coverage_warnings"] == []
    assert report["coverage"]["missing"] == []
    assert "missing" not in output
    wheels(server, "1.0.dev9", 0.5, ("cp313-cp313-manylinux_2_28_x86_64",))  # Linux only now
    gaps = check(settings_for(server, project), dependencies=False)[2]["coverage"]["missing"]
    assert [(g["python"], g["platform"], g["last_version"]) for g in gaps] == [
        ("py3", "any", "1.0.dev8"),
        ("cp313", "macosx_arm64", "1.0.dev7"),
        ("cp313", "macosx_universal2", "1.0.dev8"),
        ("cp313", "macosx_x86_64", "1.0.dev7"),
    ]


def test_coverage_from_a_dated_json_index(tmp_path: Path, server: AnacondaServer) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    for version, days, tags in (("1.0.dev1", 9, ("cp312-cp312-win_amd64", "cp313-cp313-win_amd64")), ("1.0.dev2", 2, ("cp313-cp313-win_amd64",))):  # fmt: skip
        for tag in tags:
            wheel = make_wheel(folder, "skymap", version, tag=tag)
            stamp = (NOW - timedelta(days=days)).timestamp()
            os.utime(wheel, (stamp, stamp))
    with serve_simple_index(folder, formats=("json",)) as index:
        settings = settings_for(server, tmp_path, nightly_index_url=index.url)
        result, _, report = check(settings, package="skymap", dependencies=False)
    assert result.exit_code == 0
    assert [g["python"] for g in report["coverage"]["missing"]] == ["cp312"]
    assert (
        "has no wheel for win_amd64 (cp312), which 1.0.dev1 (2026-11-15) had"
        in (result.coverage_warnings[0])
    )


def test_no_coverage_when_the_project_could_not_be_read(
    server: AnacondaServer, project: Path
) -> None:
    upload(server, "tinyarray", "1.1.dev0", 1)
    result, _, report = check(settings_for(server, project), dependencies=False)
    assert report["project"]["status"] == "missing"
    assert (result.coverage, report["coverage"], report["coverage_warnings"]) == (None, None, [])
