"""Upstreams from git ('git-packages'): the setting, the plan, the install from a real local
git repository (`git+file://`), the proof from `direct_url.json` and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from nightly_world import NEWEST_NIGHTLY, World, build_world
from sample_reports import job_folder, packages

from nightly_sessions.cli import main
from nightly_sessions.core.artifacts import REPORT_LOG_NAME
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, find_uv
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.git_url import (
    at_commit,
    parse_git_url,
    short_commit,
    without_credentials,
)
from nightly_sessions.core.pyproject import read_project
from nightly_sessions.nightly_tests import install
from nightly_sessions.nightly_tests.culprit import Culprit, PutBack
from nightly_sessions.nightly_tests.culprit_run import GIT_NOT_TRIED, find_culprit
from nightly_sessions.nightly_tests.plan import InstallPlan, PlannedPackage, Target, make_plan
from nightly_sessions.nightly_tests.probe import Distribution, Probe, Vcs, probe, read_vcs
from nightly_sessions.nightly_tests.report import render_markdown
from nightly_sessions.nightly_tests.run import draft_context
from nightly_sessions.nightly_tests.upstream import render_draft
from nightly_sessions.nightly_tests.verify import classify_git, verify
from nightly_sessions.testing.pypi import PypiServer, free_port
from nightly_sessions.tracking import decisions, issue_body, job_reports
from nightly_sessions.tracking.decisions import RunInfo
from nightly_sessions.tracking.job_reports import JobReport

ISSUE_RUN = RunInfo(
    url="https://github.com/o/p/actions/runs/7", run_id="7", branch="main", sha="ab"
)
TOKEN = "tok-gitsecret-7"
GITLIB_VERSION = "2.0.dev0"
_PYPROJECT = f"""[build-system]
requires = ["flit_core>=3.9,<4"]
build-backend = "flit_core.buildapi"

[project]
name = "gitlib"
version = "{GITLIB_VERSION}"
description = "A pure-Python upstream installed from its git main branch."
dependencies = ["helperlib>=1"]
"""


def git(folder: Path, *args: str) -> str:
    """Run git in `folder` with a fixed identity; its output."""
    command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, answer: int) -> str:
    """Commit a version of gitlib whose `answer()` returns `answer`; the commit's SHA."""
    (repo / "gitlib" / "__init__.py").write_text(
        f'"""An upstream from git."""\n\n\ndef answer():\n    return {answer}\n', encoding="utf-8"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"answer {answer}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def gitlib(tmp_path: Path) -> Path:
    """A git repository on branch main holding the package gitlib (one commit)."""
    repo = tmp_path / "gitlib-repo"
    (repo / "gitlib").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(_PYPROJECT, encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, 42)
    return repo


def git_url(repo: Path, ref: str = "main") -> str:
    return f"git+{repo.as_uri()}@{ref}"


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> World:
    return build_world(tmp_path, base_index, nightly_index)


def use_world(world: World, monkeypatch: pytest.MonkeyPatch, git_packages: str) -> None:
    monkeypatch.setenv("NIGHTLY_INDEX_URL", world.nightly.url)
    monkeypatch.setenv("NIGHTLY_BASE_INDEX_URL", world.base.url)
    monkeypatch.setenv("NIGHTLY_GIT_PACKAGES", git_packages)


def new_venv(tmp_path: Path, *, seed: bool = False) -> Path:
    """An empty virtual environment (with pip when `seed`); its interpreter."""
    venv = tmp_path / ("venv-pip" if seed else "venv")
    command = [sys.executable, "-m", "uv", "venv", "-q", *(["--seed"] if seed else []), str(venv)]
    subprocess.run(command, check=True)
    return venv / "bin" / "python"


# The setting.


def test_the_setting_from_pyproject_register_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nightly-sessions.git-packages]\nJobLib = "git+https://github.com/joblib/joblib@main"\n',
        encoding="utf-8",
    )
    settings = load_settings(tmp_path, environ={})
    assert settings.git_packages == (("joblib", "git+https://github.com/joblib/joblib@main"),)
    registered = load_settings(tmp_path, {"git_packages": {"zarr": "git+ssh://git@h/z"}}, {})
    assert registered.git_packages == (("zarr", "git+ssh://git@h/z"),)
    variable = "dask=git+https://github.com/dask/dask@main, pint=git+file:///srv/pint"
    assert load_settings(tmp_path, environ={"NIGHTLY_GIT_PACKAGES": variable}).git_packages == (
        ("dask", "git+https://github.com/dask/dask@main"),
        ("pint", "git+file:///srv/pint"),
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("joblib", "'joblib' has no =git+URL@ref after it"),
        ("jo*b=git+https://h/a@main", "'jo*b' is not a package name"),
        ("joblib=https://github.com/joblib/joblib", "the URL of joblib is 'https://github.com"),
        ("joblib=git+ftp://h/joblib@main", "the URL of joblib is 'git+ftp://h/joblib@main'"),
        ("joblib=git+https://github.com/joblib/joblib@", "not git+URL@ref"),
        (f"joblib=git+https://x:{TOKEN}@h", "the URL of joblib is 'git+https://***@h'"),
    ],
)
def test_bad_values_in_the_variable_are_one_redacted_sentence(
    tmp_path: Path, value: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"NIGHTLY_GIT_PACKAGES": value})
    message = str(caught.value)
    assert message.startswith(
        "Setting 'git-packages' in environment variable NIGHTLY_GIT_PACKAGES is wrong: "
    )
    assert words in message
    assert "(URL scheme https, http, ssh, file)" in message
    assert TOKEN not in message
    assert message.endswith(".")
    assert message.count("\n") == 0
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('git-packages = "joblib"', "'joblib' has no =git+URL@ref"),
        ("git-packages = [1]", "is [1], but it must be a table of package name"),
        ("[tool.nightly-sessions.git-packages]\njoblib = 3", "the URL of joblib is 3"),
    ],
)
def test_bad_values_in_pyproject_exit_2_through_the_command_line(
    tmp_path: Path, toml: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table = "" if toml.startswith("[") else "[tool.nightly-sessions]\n"
    (tmp_path / "pyproject.toml").write_text(table + toml + "\n", encoding="utf-8")
    assert main(["--project", str(tmp_path), "plan"]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "repository", "ref"),
    [
        ("git+https://github.com/joblib/joblib@main", "https://github.com/joblib/joblib", "main"),
        (f"git+https://u:{TOKEN}@GitHub.com/a/b.git@v1.0", "https://github.com/a/b", "v1.0"),
        ("git+ssh://git@github.com/a/b", "ssh://github.com/a/b", None),
        ("git+https://h/a@refs/pull/7/head", "https://h/a", "refs/pull/7/head"),
        ("git+file:///srv/repo@main#egg=repo", "file:///srv/repo", "main"),
    ],
)
def test_git_urls_are_read_as_installers_read_them(
    text: str, repository: str, ref: str | None
) -> None:
    found = parse_git_url(text)
    assert found is not None
    assert (found.repository, found.ref) == (repository, ref)
    assert TOKEN not in found.repository


@pytest.mark.parametrize(
    "text",
    ["https://h/a", "git+https://h/a@", "git+https://", "git+https://h:port/a", "git+http://h/a b"],
)
def test_what_is_not_a_git_url(text: str) -> None:
    assert parse_git_url(text) is None


# The plan.


def test_git_wins_over_the_channels_nightly_and_the_plan_says_so(
    world: World, tmp_path: Path
) -> None:
    url = f"git+https://user:{TOKEN}@127.0.0.1:9/tinyarray.git@main"
    environ = {
        "NIGHTLY_INDEX_URL": world.nightly.url,
        "NIGHTLY_BASE_INDEX_URL": world.base.url,
        "NIGHTLY_GIT_PACKAGES": f"tinyarray={url}",
    }
    settings = load_settings(world.project, environ=environ)
    plan = make_plan(settings, read_project(world.project), Target.current())
    assert [(p.name, p.source) for p in plan.packages] == [("tinyarray", "git")]
    assert plan.nightly == ()
    assert plan.missing == ()
    assert plan.empty_sentence() is None
    assert plan.notes()[0].startswith(
        "From git instead of the nightly index: tinyarray. 'git-packages' wins"
    )
    rendered = plan.render()
    assert "tinyarray  git " in rendered
    assert "(git) git+https://***@127.0.0.1:9/tinyarray.git@main" in rendered
    data = plan.to_dict()
    assert data["packages"][0]["git_url"] == "git+https://***@127.0.0.1:9/tinyarray.git@main"
    assert TOKEN not in rendered + json.dumps(data)


def test_the_project_itself_is_no_git_package(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Sky_Map"\nversion = "1.0"\n', encoding="utf-8"
    )
    environ = {"NIGHTLY_GIT_PACKAGES": "sky-map=git+https://github.com/org/skymap@main"}
    settings = load_settings(tmp_path, environ=environ)
    with pytest.raises(ConfigError) as caught:
        make_plan(settings, read_project(tmp_path), Target.current())
    assert str(caught.value) == (
        "Setting 'git-packages' names Sky_Map, the project itself, which the nightly tests "
        "install from its own folder; remove it from 'git-packages'."
    )


# The proof.


def git_plan(url: str, base: str = "http://b") -> InstallPlan:
    package = PlannedPackage("gitlib", "git", None, (), False, "git-packages", git_url=url)
    return InstallPlan(Path(), "demo", (), (), (), "http://n", base, "3.12", (package,))


SHA = "0123456789abcdef0123456789abcdef01234567"
DIRECT_URL = {
    "url": "https://github.com/org/gitlib.git",
    "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": "main"},
}


def test_direct_url_json_is_read() -> None:
    assert read_vcs(json.dumps(DIRECT_URL)) == Vcs(
        "git", "https://github.com/org/gitlib.git", SHA, "main"
    )
    for text in (None, "", "{", '{"url": "file:///x", "dir_info": {}}', '{"vcs_info": 3}'):
        assert read_vcs(text) is None


@pytest.mark.parametrize(
    ("installed", "vcs", "status"),
    [
        ("2.0", Vcs("git", "https://github.com/org/gitlib", SHA, "main"), "git"),
        ("2.0", Vcs("git", "https://github.com/fork/gitlib", SHA, "main"), "not-git"),
        ("2.0", Vcs("hg", "https://github.com/org/gitlib", SHA, None), "not-git"),
        ("1.9", None, "not-git"),  # the release the base install put there
        (None, None, "not-installed"),
    ],
)
def test_a_git_package_is_proven_by_its_recorded_origin(
    installed: str | None, vcs: Vcs | None, status: str
) -> None:
    package = git_plan(f"git+https://x:{TOKEN}@github.com/org/gitlib.git@main").packages[0]
    assert classify_git(package, installed, vcs) == status


def test_a_git_package_not_from_git_fails_strict_mode_with_a_redacted_sentence() -> None:
    plan = git_plan(f"git+https://x:{TOKEN}@github.com/org/gitlib@main")
    state = Probe("3.12", "cpython", {}, {"gitlib": Distribution("gitlib", "1.9", ())})
    report = verify(plan, state)
    assert [p.status for p in report.failures] == ["not-git"]
    assert (
        "gitlib is 1.9 (named in 'git-packages', but not installed from that git URL: "
        "git+https://***@github.com/org/gitlib@main)" in report.summary()
    )
    assert TOKEN not in report.summary() + json.dumps([p.to_dict() for p in report.packages])


def test_the_report_shows_git_with_the_full_and_the_short_commit() -> None:
    plan = git_plan("git+https://github.com/org/gitlib@main")
    state = Probe(
        "3.12",
        "cpython",
        {},
        {"gitlib": Distribution("gitlib", "2.0", (), read_vcs(json.dumps(DIRECT_URL)))},
    )
    package = verify(plan, state).packages[0]
    data = package.to_dict()
    assert (data["status"], data["commit"], data["source"]) == ("git", SHA, "git")
    assert short_commit(SHA) == "0123456"
    markdown = render_markdown(
        {"job": "j", "outcome": "passed", "python": "3.12", "platform": "p",
         "nightly_index": "n", "packages": [data]}
    )  # fmt: skip
    assert "| `gitlib` | `2.0` | - | `git 0123456` |" in markdown
    assert "`git`: built from the git URL that 'git-packages' names" in markdown


FAILING_SUITE = "def test_fails():\n    assert 1 == 2\n"


def test_the_culprit_search_leaves_git_packages_out_with_a_reason(tmp_path: Path) -> None:
    """A real search (pytest re-runs the failing test as installed) names the git package
    as not tried, and why."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_it.py").write_text(FAILING_SUITE, encoding="utf-8")
    folder = tmp_path / "report"
    folder.mkdir()
    log = folder / REPORT_LOG_NAME
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--report-log={log}", "tests"],
        cwd=tmp_path, capture_output=True, check=False,
    )  # fmt: skip
    plan = git_plan(f"git+https://x:{TOKEN}@github.com/org/gitlib@main")
    state = Probe(
        "3.12",
        "cpython",
        {},
        {"gitlib": Distribution("gitlib", "2.0", (), read_vcs(json.dumps(DIRECT_URL)))},
    )
    versions = verify(plan, state)
    lines: list[str] = []
    finding, _ = find_culprit(
        Settings(project_root=tmp_path), Environment(Path(sys.executable), "pip"), plan,
        versions, Target.current(), job="j", folder=folder, pytest_args=["-p", "no:cacheprovider"],
        run_seconds=1.0, log=lines.append,
    )  # fmt: skip
    assert finding.not_tried == (("gitlib", GIT_NOT_TRIED),)
    assert (
        "Not tried (installed from git by 'git-packages': the search puts back only "
        "nightlies, since installing a git branch again means building it anew): gitlib."
    ) in lines
    assert TOKEN not in "\n".join(lines)


# The install and the whole run, on real indexes and a real git repository.


@pytest.mark.integration
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_moving_branch_is_installed_again_at_its_new_commit(
    gitlib: Path, tmp_path: Path, base_index: PypiServer, installer: str
) -> None:
    """Both installers rebuild the branch's newest commit over the one installed, and take
    the build backend (flit_core) from the base index alone."""
    python = new_venv(tmp_path, seed=installer == "pip")
    env = Environment(python, installer, find_uv() or "uv")  # type: ignore[arg-type]
    plan = git_plan(git_url(gitlib), base=base_index.url)
    install.install_git(plan, env)
    first = probe(python).vcs_of("gitlib")
    assert first is not None
    assert first.commit_id == git(gitlib, "rev-parse", "HEAD")
    newer = commit(gitlib, 43)
    install.install_git(plan, env)
    assert probe(python).vcs_of("gitlib") == Vcs("git", gitlib.as_uri(), newer, "main")
    assert probe(python).version_of("helperlib") is None  # --no-deps: repair's job


@pytest.mark.integration
def test_a_run_installs_the_git_main_and_reports_its_commit(
    world: World,
    gitlib: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_world(world, monkeypatch, f"gitlib={git_url(gitlib)}")
    sha = git(gitlib, "rev-parse", "HEAD")
    python = new_venv(tmp_path)
    project = ["--project", str(world.project)]
    assert (
        main([*project, "run", "--python", str(python), "--", "-q", "-p", "no:cacheprovider"]) == 0
    )
    out = capsys.readouterr().out
    assert "gitlib     git " in out
    data = json.loads(
        next((world.project / "nightly-reports").glob("*/nightly-report.json")).read_text()
    )
    rows = {p["name"]: p for p in data["packages"]}
    assert rows["tinyarray"]["installed"] == NEWEST_NIGHTLY
    assert (rows["gitlib"]["status"], rows["gitlib"]["commit"]) == ("git", sha)
    assert rows["gitlib"]["installed"] == GITLIB_VERSION
    assert rows["gitlib"]["git_url"] == git_url(gitlib)
    # gitlib installs without its dependencies; the repair step brings helperlib for it
    # (and for the nightly tinyarray, which needs it too).
    repairs = {(r["name"], r["required_by"], r["installed"]) for r in data["repairs"]}
    assert ("helperlib", "gitlib", "1.0") in repairs
    markdown = next((world.project / "nightly-reports").glob("*/nightly-report.md")).read_text()
    assert f"| `gitlib` | `{GITLIB_VERSION}` | - | `git {sha[:7]}` |" in markdown


@pytest.mark.integration
def test_a_failed_git_install_is_one_sentence_without_the_token(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"git+https://user:{TOKEN}@127.0.0.1:{free_port()}/gitlib.git@main"
    use_world(world, monkeypatch, f"gitlib={url}")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    python = new_venv(tmp_path)
    assert main(["--project", str(world.project), "run", "--python", str(python)]) == 5
    captured = capsys.readouterr()
    assert "(git) git+https://***@127.0.0.1:" in captured.out  # the plan
    assert "Failed to install gitlib from git (build requirements from http" in captured.err
    folder = next((world.project / "nightly-reports").iterdir())
    written = "".join(path.read_text() for path in folder.iterdir())
    data = json.loads((folder / "nightly-report.json").read_text())
    assert (data["stage"], data["outcome"]) == ("install", "not-run")
    assert data["packages"][1]["git_url"].startswith("git+https://***@127.0.0.1:")
    assert TOKEN not in captured.out + captured.err + written


def test_the_tracking_issue_shows_a_git_row_with_its_short_commit(tmp_path: Path) -> None:
    row = {
        "name": "gitlib", "source": "git", "installed": "2.0", "newest_nightly": None,
        "status": "git", "allowed_missing": False, "commit": SHA,
        "git_url": "git+https://***@github.com/org/gitlib@main",
    }  # fmt: skip
    root = tmp_path / "reports"
    job_folder(
        root, "py3.12-Linux", None, outcome="not-run", stage="tests",
        package_rows=[*packages(), row],
    )  # fmt: skip
    body = issue_body.render_body(job_reports.load_jobs(root), ISSUE_RUN)
    assert "| `gitlib` | git | `2.0` | — | git `0123456` |" in body


def test_a_new_commit_of_the_same_version_is_a_change_since_the_green_run() -> None:
    def report(commit: str) -> dict[str, object]:
        row = {"name": "gitlib", "source": "git", "installed": "2.0", "status": "git",
               "commit": commit}  # fmt: skip
        return {"job": "py3.12-Linux", "python": "3.12", "packages": [row]}

    now = JobReport("py3.12-Linux", report("89abcdef" * 5))
    [change] = decisions.version_changes([now], [report(SHA)])
    assert (change.package, change.source, change.before, change.after) == (
        "gitlib", "git", "2.0 (git 0123456)", "2.0 (git 89abcde)",
    )  # fmt: skip
    assert decisions.version_changes([now], [report("89abcdef" * 5)]) == []


def test_the_upstream_draft_reproduces_the_git_package_at_its_commit(tmp_path: Path) -> None:
    plan = git_plan(f"git+https://x:{TOKEN}@github.com/org/gitlib@main#egg=gitlib")
    vcs = read_vcs(json.dumps(DIRECT_URL))
    state = Probe("3.12", "cpython", {}, {"gitlib": Distribution("gitlib", "2.0", (), vcs)})
    versions = verify(plan, state)
    env = Environment(Path(sys.executable), "pip")
    found = draft_context(Settings(project_root=tmp_path), env, plan, versions, state)
    # No credentials in a report for the upstream: its repository is public.
    pinned = f"git+https://github.com/org/gitlib@{SHA}#egg=gitlib"
    assert found.git_pins == (("gitlib", pinned),)
    put = PutBack("numpy", "2.5.dev0", "2.4.1", "base-release", "base")
    draft = render_draft(Culprit(put, ("t.py::test_a",)), {}, found)
    install = f"python -m pip install --no-deps --index-url {found.base_index} 'gitlib @ {pinned}'"
    assert install in draft
    assert f"- from git: gitlib from `{pinned}`" in draft
    assert TOKEN not in draft


@pytest.mark.parametrize(
    ("text", "pinned"),
    [
        ("git+https://u:t@github.com/a/b.git@main", "git+https://github.com/a/b.git@abc"),
        ("git+ssh://git@github.com/a/b", "git+ssh://git@github.com/a/b@abc"),
        ("git+file:///srv/repo@v1#subdirectory=py", "git+file:///srv/repo@abc#subdirectory=py"),
        ("git+https://h/a@refs/pull/7/head", "git+https://h/a@abc"),
    ],
)
def test_a_git_url_pinned_to_its_commit_for_others(text: str, pinned: str) -> None:
    assert at_commit(without_credentials(text), "abc") == pinned
