"""Finding the version, the nightly version of the next release, and its three rules."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from packaging.version import Version

from nightly_sessions.core import config
from nightly_sessions.core.config import SCHEMES
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.pyproject import read_pyproject
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.wheelhouse import make_wheel
from nightly_sessions.wheels import versioning
from nightly_sessions.wheels.versioning import (
    GitState,
    VersionSource,
    find_version_source,
    git_state,
    latest_tag,
    next_release,
    nightly_version,
    rule_problems,
    suggest_after,
)

SAMPLES = Path(__file__).parents[1] / "samples"
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
COMMIT = GitState("abc1234def5678" + "0" * 26, datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc))


def git(root: Path, *args: str) -> str:
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"]
    result = subprocess.run(
        ["git", "-C", str(root), *identity, *args], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def commit_all(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)


def sample(tmp_path: Path, kind: str, tag: str | None = None) -> Path:
    root = tmp_path / kind
    shutil.copytree(SAMPLES / kind, root)
    git(root, "init", "-q")
    commit_all(root, "initial")
    if tag:
        git(root, "tag", tag)
    return root


def project(tmp_path: Path, pyproject: str, files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(pyproject)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    ("kind", "tag", "expected_kind", "current", "where"),
    [
        ("static", None, "static", "1.2.0", "pyproject.toml"),
        ("module", None, "file", "0.4.0.dev0", "src/demo_module/__init__.py"),
        ("setuptools_scm", "v1.1.0", "scm", "1.1.0", "git tags (setuptools-scm)"),
        ("hatch_vcs", "demo-hatch-1.1.0", "scm", "1.1.0", "git tags (hatch-vcs)"),
        ("versioneer", "v1.3.0.dev0", "versioneer", None, "git tags (versioneer)"),
        ("meson", None, "computed", None, "the command run by meson.build"),
        ("c_extension", None, "static", "2.0.0", "pyproject.toml"),
    ],
)
def test_sample_version_sources(
    tmp_path: Path,
    kind: str,
    tag: str | None,
    expected_kind: str,
    current: str | None,
    where: str,
) -> None:
    source = find_version_source(sample(tmp_path, kind, tag))
    assert source.kind == expected_kind
    assert source.current == (Version(current) if current else None)
    assert source.where == where
    assert source.stamped == (expected_kind in {"static", "file", "scm"})


def test_scm_override_variables(tmp_path: Path) -> None:
    scm = find_version_source(sample(tmp_path, "setuptools_scm"))
    assert scm.overrides == (
        "SETUPTOOLS_SCM_PRETEND_VERSION",
        "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO_SCM",
    )
    hatch = find_version_source(sample(tmp_path, "hatch_vcs"))
    assert "SETUPTOOLS_SCM_PRETEND_VERSION" in hatch.overrides
    assert scm.current == Version("0.0")  # no tags yet: setuptools-scm starts from 0.0 too


def test_static_stamp_leaves_other_tables_alone(tmp_path: Path) -> None:
    root = sample(tmp_path, "static")
    source = find_version_source(root)
    assert source.stamp is not None
    source.stamp.write(root, Version("1.2.1.dev5"))
    text = (root / "pyproject.toml").read_text()
    assert 'version = "1.2.1.dev5"' in text
    assert 'version = "9.9.9"' in text
    assert find_version_source(root).current == Version("1.2.1.dev5")


@pytest.mark.parametrize(
    "pyproject",
    [
        '[project]  # metadata\nname = "p"\nversion = "1.2.0"\n',
        '[project]\n  name = "p"\n  version = "1.2.0"\n[tool.x]\n  version = "9.9.9"\n',
        "[project]\nname = 'p'\nversion = '1.2.0'  # bumped by the release script\n",
        '[ "project" ]\r\nname = "p"\r\n"version"="1.2.0"\r\n  [tool.x]\r\nversion = "9.9.9"\r\n',
        '[tool.x]\nversion = "9.9.9"\n\n[project]\t# the metadata\nname = "p"\nversion="1.2.0"#c\n',
    ],
    ids=["header-comment", "indented", "single-quotes-comment", "quoted-crlf", "after-tool"],
)
def test_static_version_in_any_valid_layout_is_stamped(tmp_path: Path, pyproject: str) -> None:
    root = project(tmp_path, pyproject)
    source = find_version_source(root)
    assert (source.kind, source.current) == ("static", Version("1.2.0"))
    assert source.stamp is not None
    source.stamp.write(root, Version("1.2.1.dev5"))
    data = read_pyproject(root / "pyproject.toml")
    assert data["project"]["version"] == "1.2.1.dev5"
    assert data.get("tool", {}).get("x", {}).get("version", "9.9.9") == "9.9.9"
    assert find_version_source(root).current == Version("1.2.1.dev5")


@pytest.mark.parametrize(
    "pyproject",
    [
        '[project]\nname = "p"\nversion = """1.2.0"""\n',
        'project.name = "p"\nproject.version = "1.2.0"\n',
        '[project]\nname = "p"\nversion = "1.2\\u002e0"\n',
    ],
    ids=["multi-line-string", "dotted-keys", "escape"],
)
def test_a_static_version_we_cannot_rewrite_says_which_layout_to_use(
    tmp_path: Path, pyproject: str
) -> None:
    root = project(tmp_path, pyproject)
    source = find_version_source(root)
    assert source.stamp is not None
    with pytest.raises(ConfigError) as caught:
        source.stamp.write(root, Version("1.2.1.dev5"))
    message = str(caught.value)
    assert message.startswith("Cannot find exactly one version to replace in pyproject.toml; ")
    assert 'put `version = "1.2.0"` on a line of its own in the [project] table' in message
    assert "or make the version dynamic" in message
    assert "report this" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("pyproject", "files", "kind", "where", "current"),
    [
        (
            (
                '[project]\nname = "p"\ndynamic = ["version"]\n'
                '[tool.hatch.version]\npath = "p/about.py"\n'
            ),
            {"p/about.py": '__version__ = "3.1.0"\n'},
            "file",
            "p/about.py",
            "3.1.0",
        ),
        (
            (
                '[project]\nname = "p"\ndynamic = ["version"]\n'
                '[tool.hatch.version]\npath = "p.py"\npattern = "V = (?P<version>[0-9.]+)"\n'
            ),
            {"p.py": "V = 4.0\n"},
            "file",
            "p.py",
            "4.0",
        ),
        (
            '[project]\nname = "p"\ndynamic = ["version"]\n[tool.pdm.version]\nsource = "scm"\n',
            {},
            "scm",
            "git tags (pdm-backend)",
            "0.0",
        ),
        (
            (
                '[project]\nname = "my-pkg"\ndynamic = ["version"]\n'
                '[build-system]\nbuild-backend = "flit_core.buildapi"\n'
            ),
            {"src/my_pkg/__init__.py": '"""Doc."""\n__version__: str = "0.9"\n'},
            "file",
            "src/my_pkg/__init__.py",
            "0.9",
        ),
        (
            (
                '[project]\nname = "p"\ndynamic = ["version"]\n'
                '[tool.setuptools.dynamic]\nversion = { file = "VERSION" }\n'
            ),
            {"VERSION": "5.0.0\n"},
            "file",
            "VERSION",
            "5.0.0",
        ),
        (
            (
                '[project]\nname = "p"\ndynamic = ["version"]\n'
                '[build-system]\nrequires = ["setuptools", "setuptools-scm"]\n'
                '[tool.setuptools.dynamic]\nversion = { attr = "p.version.VERSION" }\n'
                '[tool.setuptools]\npackage-dir = { "" = "lib" }\n'
            ),
            {"lib/p/version.py": 'VERSION = "2.2"\n'},
            "file",
            "lib/p/version.py",
            "2.2",
        ),
        (
            (
                '[project]\nname = "p"\ndynamic = ["version"]\n'
                '[build-system]\nbuild-backend = "mesonpy"\n'
            ),
            {"meson.build": "project('p', 'c',\n  version : '0.7.0.dev0',\n)\n"},
            "file",
            "meson.build",
            "0.7.0.dev0",
        ),
        (
            "[build-system]\nrequires = ['setuptools']\n",
            {"setup.py": 'from setuptools import setup\nsetup(name="p", version="1.0")\n'},
            "file",
            "setup.py",
            "1.0",
        ),
    ],
)
def test_other_version_sources(
    tmp_path: Path, pyproject: str, files: dict[str, str], kind: str, where: str, current: str
) -> None:
    source = find_version_source(project(tmp_path, pyproject, files))
    assert (source.kind, source.where, source.current) == (kind, where, Version(current))


def test_versioneer_in_setup_py(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        '[project]\nname = "p"\ndynamic = ["version"]\n',
        {"setup.py": "import versioneer\nsetup(version=versioneer.get_version())\n"},
    )
    assert find_version_source(root).kind == "versioneer"


def test_a_project_without_project_table(tmp_path: Path) -> None:
    cfg = "[metadata]\nname = Legacy_Pkg\n"
    root = project(tmp_path, "", {"setup.cfg": cfg, "setup.py": "setup(use_scm_version=True)\n"})
    source = find_version_source(root)
    assert (source.kind, source.name) == ("scm", "legacy-pkg")
    (root / "setup.cfg").unlink()
    with pytest.raises(ConfigError, match="Cannot find the name of the project"):
        find_version_source(root)
    (root / "setup.py").write_text('setup(name="legacy")\n')
    with pytest.raises(ConfigError, match="Cannot tell where the version of legacy comes from"):
        find_version_source(root)


@pytest.mark.parametrize(
    ("pyproject", "files", "message"),
    [
        ('[project]\nversion = "1.0"\n', {}, "has no \\[project\\] name"),
        ('[project]\nname = "p"\n', {}, "has neither version nor dynamic"),
        (
            '[project]\nname = "p"\nversion = "one"\n',
            {},
            "'one' in pyproject.toml is not a PEP 440",
        ),
        (
            '[project]\nname = "p"\ndynamic = ["version"]\n[tool.hatch.version]\npath = "no.py"\n',
            {},
            "that file was not found",
        ),
        (
            '[project]\nname = "p"\ndynamic = ["version"]\n[tool.hatch.version]\npath = "p.py"\n',
            {"p.py": "from elsewhere import __version__\n"},
            "Cannot find exactly one version assignment",
        ),
        ('[project]\nname = "p"\ndynamic = ["version"]\n', {}, "Cannot tell where the version"),
    ],
)
def test_unusable_version_sources_say_what_to_fix(
    tmp_path: Path, pyproject: str, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        find_version_source(project(tmp_path, pyproject, files))


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("1.2.0", "1.2.1"),
        ("1.2", "1.3"),
        ("1.2.0.post3", "1.2.1"),
        ("1.3.0.dev0", "1.3.0"),
        ("1.3.0rc1", "1.3.0rc2"),
        ("1.3.0rc1.dev4", "1.3.0rc1"),
        ("2!1.0", "2!1.1"),
        ("1.2.0+local", "1.2.1"),
    ],
)
def test_next_release(current: str, expected: str) -> None:
    assert next_release(Version(current)) == expected


def test_dev_date_scheme() -> None:
    version = nightly_version(Version("1.2.0"), scheme="dev-date", git=COMMIT, now=NOW)
    assert version == Version("1.2.1.dev20250301120000+20250304.gabc1234")
    assert version.is_devrelease
    assert version > Version("1.2.0")


def test_dev_date_orders_by_commit_then_build_day() -> None:
    def at(commit_time: datetime, now: datetime) -> Version:
        git = GitState(COMMIT.commit, commit_time)
        return nightly_version(Version("1.2.0"), scheme="dev-date", git=git, now=now)

    first = at(COMMIT.time, NOW)
    rebuilt_next_day = at(COMMIT.time, NOW + timedelta(days=1))
    newer_commit = at(COMMIT.time + timedelta(minutes=1), NOW)
    assert first < rebuilt_next_day < newer_commit


def test_dev_timestamp_scheme_and_no_git() -> None:
    stamped = nightly_version(Version("1.2.0"), scheme="dev-timestamp", git=COMMIT, now=NOW)
    assert stamped == Version("1.2.1.dev20250304050607+gabc1234")
    bare = nightly_version(Version("1.2.0"), scheme="dev-date", git=None, now=NOW)
    assert bare == Version("1.2.1.dev20250304050607")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-04", datetime(2025, 3, 4, tzinfo=timezone.utc)),
        (" 2025-03-04\n", datetime(2025, 3, 4, tzinfo=timezone.utc)),
        ("2025-03-04T05:06:07Z", datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)),
        ("2025-03-04T05:06", datetime(2025, 3, 4, 5, 6, tzinfo=timezone.utc)),
        ("2025-03-04T05:06:07.25+00:00", datetime(2025, 3, 4, 5, 6, 7, 250000, timezone.utc)),
        ("2025-03-04T01:30:00-0500", datetime(2025, 3, 4, 6, 30, tzinfo=timezone.utc)),
    ],
)
def test_the_build_date_variable_accepts_dates_and_timestamps(
    value: str, expected: datetime
) -> None:
    assert versioning.build_moment({"NIGHTLY_BUILD_DATE": value}) == expected


@pytest.mark.parametrize("value", ["yesterday", "20250304", "2025-02-30", "2025-03-04 05:06", "1"])
def test_the_build_date_variable_refuses_anything_else(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        versioning.build_moment({"NIGHTLY_BUILD_DATE": value})
    message = str(caught.value)
    assert message.startswith(f"NIGHTLY_BUILD_DATE={value!r} is neither a date nor a timestamp;")
    assert "YYYY-MM-DD" in message
    assert "ISO 8601 timestamp (2025-03-04T05:06:07Z)" in message
    assert message.count(". ") == 0


def test_without_the_build_date_variable_the_clock_is_the_build_moment() -> None:
    before = datetime.now(timezone.utc)
    for environ in ({}, {"NIGHTLY_BUILD_DATE": ""}):
        assert before <= versioning.build_moment(environ) <= datetime.now(timezone.utc)


def test_jobs_of_one_run_share_the_version_across_midnight() -> None:
    """Runners whose clocks straddle midnight UTC stamp the run's date, not their own."""
    moment = versioning.build_moment({"NIGHTLY_BUILD_DATE": "2025-03-04T23:58:00Z"})
    clocks = (moment, moment + timedelta(minutes=4))  # the runners' own clocks
    own = {
        nightly_version(Version("1.2.0"), scheme="dev-date", git=COMMIT, now=now) for now in clocks
    }
    assert len(own) == 2  # what each runner's clock gave
    shared = nightly_version(Version("1.2.0"), scheme="dev-date", git=COMMIT, now=moment)
    assert shared == Version("1.2.1.dev20250301120000+20250304.gabc1234")


def test_schemes_match_the_setting() -> None:
    with pytest.raises(ConfigError, match='must be "dev-date", "dev-timestamp" or "project"'):
        config.load_settings(Path("/nonexistent"), {"version_scheme": "calendar"}, environ={})
    for scheme in SCHEMES:
        settings = config.load_settings(
            Path("/nonexistent"), {"version_scheme": scheme}, environ={}
        )
        assert settings.version_scheme == scheme


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        ("1.2.3", "1.3.0.dev0"),
        ("2.0.0rc1", "2.1.0.dev0"),
        ("5", "5.1.0.dev0"),
        ("23.8.1", "23.9.0.dev0"),
    ],
)
def test_suggest_after(newest: str, expected: str) -> None:
    assert suggest_after(Version(newest)) == Version(expected)


STATIC = VersionSource(
    "static", "demo", "pyproject.toml", 'set version = "{version}" in [project] of pyproject.toml'
)


def problems(version: str, released: list[str], git: GitState | None = COMMIT) -> list[str]:
    return rule_problems(
        Version(version),
        STATIC,
        released=[Version(v) for v in released],
        index_url="https://pypi.org/simple",
        git=git,
        now=NOW,
    )


def test_a_good_nightly_obeys_all_rules() -> None:
    assert problems("1.3.0.dev20250301120000+20250304.gabc1234", ["1.2.0", "1.2.1"]) == []
    assert problems("1.3.0.dev0+git20250301.abc1234", []) == []  # numpy's style


def test_a_release_version_breaks_rule_one() -> None:
    [problem] = problems("1.2.0+3.gabc1234", ["1.1.0"])
    assert "is not a pre-release" in problem
    assert 'set version = "1.3.0.dev0"' in problem


def test_sorting_below_a_release_says_where_to_move() -> None:
    [problem] = problems("1.2.1.dev20250301120000+20250304.gabc1234", ["1.2.0", "1.2.1"])
    assert "sorts below 1.2.1, which is already on https://pypi.org/simple" in problem
    assert 'move to 1.3.0.dev0: set version = "1.3.0.dev0" in [project]' in problem


def test_a_version_that_never_changes_breaks_rule_three() -> None:
    [problem] = problems("1.3.0.dev0", ["1.2.0"])
    assert "does not change from build to build" in problem
    [same] = problems("1.3.0.dev5+gabc1234", ["1.2.0"], git=None)
    assert "does not change" in same
    assert problems("1.3.0.dev20250304", [], git=None) == []


def test_every_broken_rule_is_reported() -> None:
    assert len(problems("1.0", ["1.1"])) == 3
    with pytest.raises(ConfigError) as caught:
        versioning.require_rules(
            Version("1.0"), STATIC, released=[Version("1.1")], index_url="x", git=COMMIT, now=NOW
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.count(versioning.RULES_JOINER) == 2
    assert message.count("The nightly version 1.0 of") == 1
    assert message.endswith(".")


def test_git_state_and_tags(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None
    assert latest_tag(tmp_path) is None
    root = sample(tmp_path, "static", "v1.0.0")
    git(root, "tag", "nightly-build")  # not a version: ignored
    git(root, "checkout", "-q", "-b", "maintenance")
    commit_all(root, "on a branch")
    git(root, "tag", "v9.0.0")
    git(root, "checkout", "-q", "-")
    commit_all(root, "on main")
    git(root, "tag", "release-1.1.0")
    state = git_state(root)
    assert state is not None
    assert state.commit == git(root, "rev-parse", "HEAD")
    assert state.short == state.commit[:7]
    assert latest_tag(root) == Version("1.1.0")  # v9.0.0 is not reachable from HEAD
    assert latest_tag(root, r"^v(?P<version>.*)$") == Version("1.0.0")


@pytest.mark.integration
def test_released_versions_from_a_real_index(
    tmp_path: Path, start_index: Callable[[Path], PypiServer]
) -> None:
    directory = tmp_path / "index"
    for version in ("1.0.0", "1.1.0", "1.2.0rc1"):
        make_wheel(directory, "demo", version)
    server: PypiServer = start_index(directory)
    found = versioning.released_versions(server.url, "demo", timeout=10, retries=0)
    assert found == [Version("1.0.0"), Version("1.1.0"), Version("1.2.0rc1")]
    assert versioning.released_versions(server.url, "absent", timeout=10, retries=0) == []


def test_versions_from_git_need_the_history(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(SAMPLES / "setuptools_scm", plain)
    source = find_version_source(plain)
    with pytest.raises(ConfigError, match="is not a git checkout"):
        versioning.require_history(plain, source, git_state(plain))
    root = sample(tmp_path, "versioneer", "v1.3.0.dev0")
    commit_all(root, "after the tag")
    source = find_version_source(root)
    versioning.require_history(root, source, git_state(root))
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", root.as_uri(), str(shallow))
    with pytest.raises(ConfigError, match=r"shallow clone without the tags.*fetch-depth: 0"):
        versioning.require_history(shallow, source, git_state(shallow))
    static = find_version_source(sample(tmp_path, "static"))
    versioning.require_history(plain, static, None)  # a static version needs no git


@pytest.mark.parametrize(
    ("meson_build", "command"),
    [
        (  # numpy, scipy
            (
                "project(\n  'numpy',\n  'c', 'cpp',\n  version: run_command(['numpy/_build_utils/"
                "gitversion.py'], check: true).stdout().strip(),\n)\n"
            ),
            ("numpy/_build_utils/gitversion.py",),
        ),
        (
            (
                "project('demo', 'c', version: run_command(['python3', 'tools/version.py'],"
                " check: true).stdout().strip())"
            ),
            ("python3", "tools/version.py"),
        ),
        (
            (
                "project('q', ['c'], meson_version: '>=0.55',  # a comment\n"
                "  version: run_command('head', meson.project_source_root() / 'VERSION')"
                ".stdout().strip())"
            ),
            ("head", "./VERSION"),
        ),
        ("project('f', 'c', version: run_command('releng' / 'v.py').stdout())", ("releng/v.py",)),
        ("project('f', 'c', version: run_command(script, check: true).stdout())", ()),
        ("project('f', 'c', version: run_command(find_program('x')).stdout())", ()),
        ("project('f', 'c', version: '1.0')\nrun_command('x')", ()),
    ],
)
def test_meson_version_command(meson_build: str, command: tuple[str, ...]) -> None:
    assert versioning.meson_version_command(meson_build) == command


def test_meson_sources_carry_their_version_command() -> None:
    computed = find_version_source(SAMPLES / "meson")
    assert computed.meson_command == ("python3", "tools/version.py")
    scm = find_version_source(SAMPLES / "meson_scm")
    assert (scm.kind, scm.meson_command) == ("scm", ("tools/version.py",))
    assert "SETUPTOOLS_SCM_PRETEND_VERSION" in scm.overrides


def test_a_version_at_a_tag_on_the_commit_identifies_the_build(tmp_path: Path) -> None:
    """versioneer builds the tagged commit as 1.3.0.dev0: the tag names the commit."""
    root = sample(tmp_path, "versioneer", "v1.2.0")
    git(root, "tag", "-a", "v1.3.0.dev0", "-m", "Start 1.3.0.dev0")
    state = versioning.git_state(root)
    assert state is not None
    assert "v1.3.0.dev0" in state.tags
    source = find_version_source(root)
    released, now = [Version("1.2.0")], datetime(2030, 1, 1, tzinfo=timezone.utc)
    problems = versioning.rule_problems(
        Version("1.3.0.dev0"), source, released=released, index_url="x", git=state, now=now
    )
    assert problems == []
    untagged = GitState(state.commit, state.time)
    [problem] = versioning.rule_problems(
        Version("1.3.0.dev0"), source, released=released, index_url="x", git=untagged, now=now
    )
    assert 'set version-scheme = "dev-date" under [tool.nightly-sessions]' in problem
