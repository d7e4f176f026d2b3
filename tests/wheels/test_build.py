"""Building nightlies of the sample projects, and composing the build tools' invocations."""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from nightly_sessions import cli
from nightly_sessions.core import runner
from nightly_sessions.core.config import load_settings
from nightly_sessions.core.environment import Environment, find_uv
from nightly_sessions.core.errors import ConfigError, ToolError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.wheelhouse import download_wheels, make_sdist, make_wheel
from nightly_sessions.wheels import build, versioning
from nightly_sessions.wheels.build import BuildOptions, BuildResult
from nightly_sessions.wheels.commands import build_options
from nightly_sessions.wheels.versioning import find_version_source
from wheels.build_samples import SAMPLES, commit, git, sample, tree_state

HERE = Environment(Path(sys.executable), "pip")  # the test environment holds every backend
FAST = BuildOptions(isolation=False)
NATIVE = BuildOptions(native=True, isolation=False)


def version_only(options: BuildOptions) -> BuildOptions:
    return dataclasses.replace(options, version_only=True)


# The newest release of each sample on the base index.
RELEASES = {
    "demo-static": "1.1.0",
    "demo-module": "0.3.0",
    "demo-scm": "1.1.0",
    "demo-hatch": "1.1.0",
    "demo-versioneer": "1.2.0",
    "demo-meson": "0.2.0",
    "demo-ext": "1.9.0",
    "demo-meson-scm": "0.3.0",
}
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def release_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """A base index with one release of every sample project."""
    directory = tmp_path_factory.mktemp("releases")
    for name, version in RELEASES.items():
        make_wheel(directory, name, version)
    with serve_directory(directory) as server:
        yield server


def run_build(
    root: Path,
    index: str,
    options: BuildOptions = FAST,
    env: Environment = HERE,
    now: datetime | None = None,
    **settings: str,
) -> tuple[BuildResult, list[str]]:
    logs: list[str] = []
    loaded = load_settings(root, {"base_index_url": index, **settings}, environ={})
    result = build.build_nightly(loaded, options, env, install=False, now=now, log=logs.append)
    return result, logs


CASES = [
    ("static", "demo-static", None, FAST),
    ("module", "demo-module", None, FAST),
    ("setuptools_scm", "demo-scm", "v1.1.0", FAST),
    ("hatch_vcs", "demo-hatch", "v1.1.0", FAST),
    ("versioneer", "demo-versioneer", "v1.3.0.dev0", FAST),
    ("meson", "demo-meson", None, NATIVE),
    ("c_extension", "demo-ext", None, NATIVE),
    ("meson_scm", "demo-meson-scm", "v0.4.0", FAST),
]


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "name", "tag", "options"), CASES, ids=[c[0] for c in CASES])
def test_sample_builds_a_fresh_nightly_per_commit(
    tmp_path: Path,
    release_index: PypiServer,
    kind: str,
    name: str,
    tag: str | None,
    options: BuildOptions,
) -> None:
    root = sample(tmp_path, kind, tag)
    before = tree_state(root)
    started = time.perf_counter()
    only, _ = run_build(root, release_index.url, version_only(options), now=NOW)
    print(f"--version-only of {kind}: {time.perf_counter() - started:.2f} s")
    assert only.files == []
    assert not (root / "dist").exists()
    first, logs = run_build(root, release_index.url, options, now=NOW)
    assert first.version == only.version  # what --version-only says is what the build makes
    assert tree_state(root) == before
    assert first.version is not None
    assert first.version.is_prerelease
    assert first.version > Version(RELEASES[name])
    assert first.files
    assert all(path.parent == root / "dist" for path in first.files)
    assert all(str(first.version) in path.name for path in first.files)
    assert any(path.name.endswith(".tar.gz") for path in first.files) == (options is FAST)
    assert any(path.name in line for line in logs for path in first.files)

    commit(root, "another change")
    before = tree_state(root)
    second, _ = run_build(root, release_index.url, options)
    assert tree_state(root) == before
    assert second.version is not None
    assert second.version != first.version
    assert sorted((root / "dist").glob("*.whl")) == [p for p in second.files if p.suffix == ".whl"]
    assert {p.name for p in (root / "dist" / "previous").iterdir()} == {p.name for p in first.files}


@pytest.mark.integration
def test_a_version_below_the_newest_release_stops_with_the_fix(
    tmp_path: Path, start_index: Callable[[Path], PypiServer]
) -> None:
    directory = tmp_path / "index"
    make_wheel(directory, "demo-static", "1.2.1")
    server = start_index(directory)
    root = sample(tmp_path, "static")
    with pytest.raises(ConfigError) as caught:
        run_build(root, server.url)
    message = str(caught.value)
    assert "sorts below 1.2.1, which is already on" in message
    assert (
        'move to 1.3.0.dev0: set version = "1.3.0.dev0" in [project] of pyproject.toml' in message
    )
    assert not (root / "dist").exists()


@pytest.mark.integration
def test_a_computed_release_version_is_refused_after_the_build(
    tmp_path: Path, release_index: PypiServer
) -> None:
    """The shapely failure: versioneer on a branch tagged with a release makes 1.2.0+1.g<hash>."""
    root = sample(tmp_path, "versioneer", "v1.2.0")
    with pytest.raises(ConfigError) as caught:
        run_build(root, release_index.url)
    message = str(caught.value)
    assert "is not a pre-release" in message
    assert "git tag -a v1.3.0.dev0" in message
    assert not (root / "dist").exists()


@pytest.mark.integration
def test_the_project_scheme_must_still_change_per_build(
    tmp_path: Path, release_index: PypiServer
) -> None:
    root = sample(tmp_path, "module")
    with pytest.raises(ConfigError, match="does not change from build to build"):
        run_build(root, release_index.url, version_scheme="project")


@pytest.mark.integration
def test_a_backend_that_ignores_the_stamped_version_is_caught(
    tmp_path: Path, release_index: PypiServer
) -> None:
    root = sample(tmp_path, "static")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace('version = "1.2.0"', 'dynamic = ["version"]')
    pyproject.write_text(text + '\n[tool.hatch.version]\nsource = "vcs"\n')
    (root / "demo_static" / "__init__.py").write_text('"""Doc."""\n\n__version__ = "7.0.0.dev0"\n')
    commit(root, "flit reads the module, not git")
    git(root, "tag", "v1.2.0")
    with pytest.raises(ConfigError) as caught:
        run_build(root, release_index.url)
    message = str(caught.value)
    assert "makes version 7.0.0.dev0 instead of the nightly version 1.2.1.dev" in message
    assert "the build backend flit_core.buildapi does not take its version from git tags" in message
    assert "version-scheme" not in message  # 7.0.0.dev0 is the same on every build
    assert not (root / "dist").exists()


@pytest.mark.integration
def test_cli_build(
    tmp_path: Path, release_index: PypiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sample(tmp_path, "static")
    monkeypatch.setenv("NIGHTLY_BASE_INDEX_URL", release_index.url)
    args = ["--project", str(root), "build", "--no-isolation", "--installer", "pip"]
    assert cli.main(args) == 0
    assert len(list((root / "dist").iterdir())) == 2
    assert cli.main(["--project", str(root), "check-dist"]) == 0


def test_arguments_for_cibuildwheel_on_a_pure_project_are_refused(tmp_path: Path) -> None:
    root = sample(tmp_path, "static")
    options = parse_build_args(["--platform", "linux"])
    with pytest.raises(ConfigError, match="are for cibuildwheel, but demo-static is built with"):
        run_build(root, "http://127.0.0.1:9/simple", options)


def test_linux_without_a_container_engine_says_how_to_build_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sample(tmp_path, "c_extension")
    monkeypatch.setenv("CIBW_CONTAINER_ENGINE", "no-such-engine; create_args: --privileged")
    options = parse_build_args(["--platform", "linux"])
    with pytest.raises(ToolError) as caught:
        run_build(root, "http://127.0.0.1:9/simple", options)
    message = str(caught.value)
    assert message.count(". ") == 0
    assert message.endswith(".")
    assert "`no-such-engine info` failed" in message
    assert "`nox -s build_nightly` with --native" in message


@pytest.mark.integration
def test_cibuildwheel_prints_identifiers_without_a_container(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], release_index: PypiServer
) -> None:
    root = sample(tmp_path, "c_extension")
    options = parse_build_args(["--print-build-identifiers", "--platform", "linux"])
    result, logs = run_build(root, release_index.url, options)
    assert result.files == []
    assert "Nightly version of demo-ext: 2.0.1.dev" in logs[0]
    output = capfd.readouterr().out
    assert "/bin/cibuildwheel " in output
    assert "/src --output-dir " in output  # a copy holding the stamped version
    assert "--print-build-identifiers --platform linux" in output
    assert "manylinux_x86_64" in output


def scm_with_cibuildwheel(tmp_path: Path) -> Path:
    """The setuptools-scm sample with its own cibuildwheel environment."""
    root = sample(tmp_path, "setuptools_scm", "v1.1.0")
    with (root / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.cibuildwheel]\nenvironment = { OWN = "kept", CFLAGS = "-O2" }\n')
    commit(root, "cibuildwheel settings")
    return root


def test_cibuildwheel_environment_keeps_the_projects_own(tmp_path: Path) -> None:
    """cibuildwheel itself reads the composed variables: the project's and ours, both."""
    from cibuildwheel.options import CommandLineArguments, compute_options

    root = scm_with_cibuildwheel(tmp_path)
    source = find_version_source(root)
    variables = build.version_variables(source, Version("1.1.1.dev5+g1234567"))
    settings = load_settings(root, {"base_index_url": "http://127.0.0.1:9/simple"}, environ={})
    composed = build.build_environment(
        settings, HERE, variables, cibuildwheel=True, environ={"CIBW_ENVIRONMENT": "MINE=1"}
    )
    env = {name: value for name, value in composed.items() if value is not None}
    assert env["CIBW_INHERIT"] == "environment: append"
    arguments = dataclasses.replace(CommandLineArguments.defaults(), package_dir=root)
    options = compute_options("linux", arguments, env)
    seen = options.build_options("cp312-manylinux_x86_64").environment.as_dictionary({})
    assert seen["OWN"] == "kept"
    assert seen["CFLAGS"] == "-O2"
    assert seen["MINE"] == "1"
    assert seen["SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO_SCM"] == "1.1.1.dev5+g1234567"
    assert seen["PIP_INDEX_URL"] == "http://127.0.0.1:9/simple"


@pytest.mark.integration
def test_cibuildwheel_accepts_the_composed_environment(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], release_index: PypiServer
) -> None:
    root = scm_with_cibuildwheel(tmp_path)
    options = parse_build_args(["--print-build-identifiers", "--platform", "linux"])
    assert build.is_compiled(root)
    result, _ = run_build(root, release_index.url, options)
    assert result.version is not None
    assert result.version > Version("1.1.0")
    assert "manylinux" in capfd.readouterr().out


@dataclasses.dataclass
class Invocation:
    """What the build step ran, where, with which environment, and the stamped pyproject."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    pyproject: str


def record_build(monkeypatch: pytest.MonkeyPatch) -> list[Invocation]:
    """Replace the build tool by a recorder; the build stops after it (no files)."""
    calls: list[Invocation] = []

    def fake_run(
        command: Sequence[str], *, what: str, env: dict[str, str | None], cwd: Path, **_: object
    ) -> runner.Completed:
        kept = {name: value for name, value in env.items() if value is not None}
        pyproject = (cwd / "pyproject.toml").read_text()
        calls.append(Invocation(list(command), kept, cwd, pyproject))
        return runner.Completed(0, "", "")

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


@pytest.mark.parametrize(("kind", "tag"), [("setuptools_scm", "v1.1.0"), ("c_extension", None)])
def test_the_run_wide_build_date_reaches_cibuildwheel(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    release_index: PypiServer,
    kind: str,
    tag: str | None,
) -> None:
    """Every job of a run gets NIGHTLY_BUILD_DATE, so wheels built after midnight match."""
    from cibuildwheel.options import CommandLineArguments, compute_options

    root = scm_with_cibuildwheel(tmp_path) if tag else sample(tmp_path, kind)
    monkeypatch.setenv("NIGHTLY_BUILD_DATE", "2025-03-04T23:59:59Z")
    calls = record_build(monkeypatch)
    options = parse_build_args(["--print-build-identifiers", "--platform", "linux"])
    result, _ = run_build(root, release_index.url, options)
    assert result.version is not None
    assert result.version.local is not None
    assert result.version.local.startswith("20250304.g")
    [call] = calls
    assert Path(call.command[0]).name == "cibuildwheel"
    assert Path(call.command[1]) == call.cwd  # cibuildwheel copies its cwd into containers
    assert call.cwd != root
    if tag:  # the scm version travels in CIBW_ENVIRONMENT, as cibuildwheel reads it
        arguments = dataclasses.replace(CommandLineArguments.defaults(), package_dir=root)
        seen = compute_options("linux", arguments, call.env).build_options("cp312-manylinux_x86_64")
        variables = seen.environment.as_dictionary({})
        assert variables["SETUPTOOLS_SCM_PRETEND_VERSION_FOR_DEMO_SCM"] == str(result.version)
    else:  # a static version is stamped into the copy cibuildwheel builds
        assert f'version = "{result.version}"' in call.pyproject


def test_a_static_version_that_cannot_be_stamped_stops_before_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sample(tmp_path, "static")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"1.2.0"', '"""1.2.0"""'))
    calls = record_build(monkeypatch)
    with pytest.raises(ConfigError) as caught:
        run_build(root, "http://127.0.0.1:9/simple")
    assert 'put `version = "1.2.0"` on a line of its own in the [project] table' in str(
        caught.value
    )
    assert calls == []


def parse_build_args(argv: list[str]) -> BuildOptions:
    """The build options as `nox -s build_nightly -- ...` reads them."""
    args = session_args("build_nightly", argv)
    assert args is not None
    return build_options(args)


def test_parse_build_args() -> None:
    options = parse_build_args(["--native", "--no-isolation", "--archs", "x86_64"])
    assert options == BuildOptions(native=True, isolation=False, tool_args=("--archs", "x86_64"))
    assert not options.print_identifiers
    assert parse_build_args(["--print-build-identifiers"]).print_identifiers


@pytest.mark.parametrize(
    ("kind", "compiled"),
    [
        ("static", False),
        ("module", False),
        ("hatch_vcs", False),
        ("meson", True),
        ("c_extension", True),
    ],
)
def test_is_compiled(kind: str, compiled: bool) -> None:
    assert build.is_compiled(SAMPLES / kind) is compiled


def test_is_compiled_for_other_backends(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nbuild-backend = "scikit_build_core.build"\n'
    )
    assert build.is_compiled(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.setuptools]\next-modules = [{}]\n")
    assert build.is_compiled(tmp_path)


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        (["--platform", "windows"], {}, "windows"),
        (["--platform=macos"], {}, "macos"),
        ([], {"CIBW_PLATFORM": "linux"}, "linux"),
        (["--only", "cp312-manylinux_x86_64"], {}, "linux"),
        (["--only", "cp312-win_amd64"], {"CIBW_PLATFORM": "auto"}, "auto"),
    ],
)
def test_cibuildwheel_platform(args: list[str], environ: dict[str, str], expected: str) -> None:
    found = build.cibuildwheel_platform(args, environ)
    if expected == "auto":
        expected = {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")
    assert found == expected


def test_cibuildwheel_environment_merges_with_the_callers() -> None:
    variables = {"A": "1.0.dev1"}
    assert build.cibuildwheel_environment({}, {}) == {}
    assert build.cibuildwheel_environment(variables, {}) == {
        "CIBW_ENVIRONMENT": 'A="1.0.dev1"',
        "CIBW_INHERIT": "environment: append",
    }
    mine = {"CIBW_ENVIRONMENT": "X=2", "CIBW_INHERIT": "before-build"}
    assert build.cibuildwheel_environment(variables, mine) == {
        "CIBW_ENVIRONMENT": 'X=2 A="1.0.dev1"',
        "CIBW_INHERIT": "before-build; environment: append",
    }
    theirs = {"CIBW_INHERIT": "environment: prepend"}
    assert (
        build.cibuildwheel_environment(variables, theirs)["CIBW_INHERIT"] == theirs["CIBW_INHERIT"]
    )


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as the engine")
@pytest.mark.parametrize(("code", "works"), [(0, True), (1, False)])
def test_container_engine_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, works: bool
) -> None:
    engine = tmp_path / "my-engine"
    engine.write_text(f"#!/bin/sh\nexit {code}\n")
    engine.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert build.container_engine_works({"CIBW_CONTAINER_ENGINE": "my-engine"}) is works
    assert not build.container_engine_works({"CIBW_CONTAINER_ENGINE": "no-such-engine"})


def test_build_commands() -> None:
    source, out = Path("/src"), Path("/out")
    uv = Environment(Path("/venv/bin/python"), "uv", "/bin/uv")
    assert build.build_command(uv, source, out, compiled=False, options=BuildOptions()) == [
        "/venv/bin/python", "-m", "build", "/src", "--outdir", "/out", "--installer=uv",
    ]  # fmt: skip
    assert build.build_command(HERE, source, out, compiled=True, options=NATIVE)[-2:] == [
        "--wheel",
        "--no-isolation",
    ]
    wheels = build.build_command(
        HERE, source, out, compiled=True, options=BuildOptions(tool_args=("--archs", "native"))
    )
    assert Path(wheels[0]).name == "cibuildwheel"
    assert wheels[1:] == ["/src", "--output-dir", "/out", "--archs", "native"]


def test_build_environment_uses_the_base_index_alone(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"base_index_url": "http://127.0.0.1:9/simple"}, environ={})
    uv = Environment(Path("/venv/bin/python"), "uv", "/bin/uv")
    env = build.build_environment(settings, uv, {"V": "1"}, cibuildwheel=False, environ={})
    assert env["PIP_INDEX_URL"] == env["UV_DEFAULT_INDEX"] == "http://127.0.0.1:9/simple"
    assert env["PIP_FIND_LINKS"] is None
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert (env["UV"], env["V"]) == ("/bin/uv", "1")


def test_collect_moves_only_older_builds_of_the_project(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    old = make_wheel(dist, "demo", "1.0.dev1")
    other = make_wheel(dist, "other", "1.0.dev1")
    staging = tmp_path / "staging"
    new = [make_wheel(staging, "demo", "1.0.dev2"), make_sdist(staging, "demo", "1.0.dev2")]
    logs: list[str] = []
    placed = build.collect(new, dist, "demo", logs.append)
    assert placed == sorted(dist / path.name for path in new)
    assert (dist / "previous" / old.name).is_file()
    assert other.is_file()
    assert logs == [f"Moved the older build {old.name} to {dist / 'previous'}."]


def test_the_tools_are_pinned() -> None:
    assert all("==" in pin for pin in build.TOOLS.values())
    assert set(build.TOOLS) == {"build", "cibuildwheel"}  # what build --install installs


@pytest.fixture(scope="module")
def session_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """A base index with what an isolated build of the static sample needs, and a release."""
    directory = tmp_path_factory.mktemp("session-index")
    for wheel in download_wheels((build.TOOLS["build"], "flit_core==3.12.0")).iterdir():
        shutil.copy(wheel, directory)
    make_wheel(directory, "demo-static", "1.1.0")
    with serve_directory(directory) as server:
        yield server


@pytest.mark.integration
def test_real_nox_session_builds_in_isolation(tmp_path: Path, session_index: PypiServer) -> None:
    """`nox -s build_nightly` installs the pinned build into its env and builds in isolation."""
    root = sample(tmp_path, "static")
    outputs = ("dist", ".nox", "__pycache__")  # nox's environments and its import of the noxfile
    before = tree_state(root, outputs)
    env = {**os.environ, "NIGHTLY_BASE_INDEX_URL": session_index.url}
    nox = [sys.executable, "-m", "nox", "--non-interactive", "-f", str(root / "noxfile.py")]
    built = subprocess.run(
        [*nox, "-s", "build_nightly"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert tree_state(root, outputs) == before
    files = sorted(path.name for path in (root / "dist").iterdir())
    assert len(files) == 2
    assert files[0].startswith("demo_static-1.2.1.dev")
    assert "build==1.6.1" in built.stderr + built.stdout
    checked = subprocess.run(
        [*nox, "-s", "check_dist"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "2 file(s) ready for the nightly channel" in checked.stderr


def test_is_compiled_reads_odd_tables_without_crashing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('build-system = "x"\ntool = 5\n', encoding="utf-8")
    assert build.is_compiled(tmp_path) is False


def test_help_is_ours_not_cibuildwheels() -> None:
    for argv in (["--help"], ["--platform", "linux", "-h"]):
        shown: list[str] = []
        assert session_args("build_nightly", argv, shown.append) is None
        assert "--native" in shown[0]
        assert "--version-only" in shown[0]
        assert "go, in order, to cibuildwheel" in shown[0]
    assert session_args("build_nightly", ["--platform", "linux"]) is not None


# --version-only, and the check before anything compiles.


def test_parse_version_only() -> None:
    options = parse_build_args(["--version-only", "--platform", "linux"])
    assert options.version_only
    assert options.tool_args == ("--platform", "linux")


@pytest.mark.integration
@pytest.mark.parametrize(
    "options",
    [NATIVE, parse_build_args(["--print-build-identifiers", "--platform", "linux"])],
    ids=["build", "print-build-identifiers"],
)
def test_a_computed_version_below_the_release_is_refused_before_compiling(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_index: Callable[[Path], PypiServer],
    options: BuildOptions,
) -> None:
    """scikit-image's layout: meson.build runs a script; it is run first, alone. Printing
    cibuildwheel's identifiers checks it too (it once ended green below the release).
    """
    directory = tmp_path / "index"
    make_wheel(directory, "demo-meson", "0.4.0")
    root = sample(tmp_path, "meson")
    calls = record_build(monkeypatch)
    with pytest.raises(ConfigError) as caught:
        run_build(root, start_index(directory).url, options)
    assert "sorts below 0.4.0" in str(caught.value)
    assert "make the version command in meson.build produce 0.5.0.dev0 or later" in str(
        caught.value
    )
    assert calls == []


@pytest.mark.integration
def test_printing_identifiers_checks_the_version_too(
    tmp_path: Path, start_index: Callable[[Path], PypiServer]
) -> None:
    directory = tmp_path / "index"
    make_wheel(directory, "demo-ext", "2.0.5")
    root = sample(tmp_path, "c_extension")
    options = parse_build_args(["--print-build-identifiers", "--platform", "linux"])
    with pytest.raises(ConfigError, match=r"sorts below 2\.0\.5"):
        run_build(root, start_index(directory).url, options)


@pytest.mark.integration
def test_cli_version_only(
    tmp_path: Path,
    release_index: PypiServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = sample(tmp_path, "versioneer", "v1.3.0.dev0")
    monkeypatch.setenv("NIGHTLY_BASE_INDEX_URL", release_index.url)
    args = ["--project", str(root), "build", "--version-only", "--no-isolation"]
    assert cli.main([*args, "--installer", "pip"]) == 0
    assert "Nightly version of demo-versioneer: 1.3.0.dev0+1.g" in capsys.readouterr().out
    assert not (root / "dist").exists()


def test_a_failed_build_names_no_report(tmp_path: Path, release_index: PypiServer) -> None:
    root = sample(tmp_path, "static")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("flit_core.buildapi", "no_such_backend"))
    with pytest.raises(ToolError) as caught:
        run_build(root, release_index.url)
    message = str(caught.value)
    assert message.startswith("Failed to build the nightly of demo-static (python exited with")
    assert message.endswith("; its output is above.")


# Each piece of advice a refusal gives, carried out on a sample, makes the build work.

IGNORING_SCRIPT = """\
#!/usr/bin/env python3
import pathlib
import subprocess

root = pathlib.Path(__file__).parent.parent
try:
    line = subprocess.check_output(
        ["git", "log", "-1", "--format=%cd %h", "--date=format:%Y%m%d", "--abbrev=7"],
        cwd=root, text=True, stderr=subprocess.DEVNULL,
    )
except (OSError, subprocess.CalledProcessError):  # an sdist: PKG-INFO holds the version
    rows = (root / "PKG-INFO").read_text().splitlines()
    print(next(row for row in rows if row.startswith("Version: "))[len("Version: "):])
else:
    date, commit = line.split()
    print(f"0.5.0.dev0+git{date}.{commit}")
"""


def _index_with(directory: Path, name: str, version: str) -> Path:
    make_wheel(directory, name, version)
    return directory


def _refusal_static(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    return sample(tmp_path, "static"), FAST, {"demo-static": "1.2.1"}


def _refusal_scm(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    return sample(tmp_path, "setuptools_scm", "v1.1.0"), FAST, {"demo-scm": "1.1.5"}


def _refusal_versioneer(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    return sample(tmp_path, "versioneer", "v1.2.0"), FAST, {"demo-versioneer": "1.1.0"}


def _refusal_meson(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    return sample(tmp_path, "meson"), NATIVE, {"demo-meson": "0.4.0"}


def _refusal_meson_script(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    """A version script that works out its own version and ignores setuptools-scm's."""
    root = sample(tmp_path, "meson_scm", "v0.4.0")
    (root / "tools" / "version.py").write_text(IGNORING_SCRIPT)
    commit(root, "own version script")
    return root, FAST, {"demo-meson-scm": "0.3.0"}


def _refusal_same_version(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    root = sample(tmp_path, "static")
    with (root / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.nightly-sessions]\nversion-scheme = "project"\n')
    commit(root, "build the version as it is")
    return root, FAST, {"demo-static": "1.1.0"}


def _refusal_backend(tmp_path: Path) -> tuple[Path, BuildOptions, dict[str, str]]:
    """hatch-vcs settings, but flit builds and reads __version__ from the module."""
    root = sample(tmp_path, "static")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace('version = "1.2.0"', 'dynamic = ["version"]')
    pyproject.write_text(text + '\n[tool.hatch.version]\nsource = "vcs"\n')
    (root / "demo_static" / "__init__.py").write_text('"""Doc."""\n\n__version__ = "7.0.0.dev0"\n')
    commit(root, "flit reads the module, not git")
    git(root, "tag", "v1.2.0")
    return root, FAST, {"demo-static": "1.1.0"}


Refusal = Callable[[Path], tuple[Path, BuildOptions, dict[str, str]]]
REFUSALS: dict[str, Refusal] = {
    "static-below": _refusal_static,
    "scm-below": _refusal_scm,
    "versioneer-release": _refusal_versioneer,
    "same-every-build": _refusal_same_version,
    "meson-below": _refusal_meson,
    "meson-script-ignores-scm": _refusal_meson_script,
    "backend-ignores-source": _refusal_backend,
}


def _set_toml(root: Path, header: str, line: str, key: str) -> None:
    """Set `line` in table `header` of pyproject.toml, in place of the line setting `key`."""
    pyproject = root / "pyproject.toml"
    rows = pyproject.read_text().splitlines()
    if header not in rows:
        rows += ["", header]
    start = rows.index(header) + 1
    end = next((n for n in range(start, len(rows)) if rows[n].startswith("[")), len(rows))
    kept = [row for row in rows[start:end] if not re.match(rf"{re.escape(key)}\s*=", row)]
    rows[start:end] = [line, *kept]
    pyproject.write_text("\n".join(rows) + "\n")


def _drop_table(root: Path, header: str) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    start = text.index(header)
    end = text.find("\n[", start + 1)
    pyproject.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""))


# How a maintainer carries out each fix a sentence can give: (pattern, action).
Advice = Callable[[Path, re.Match[str]], object]
ADVICE: list[tuple[str, Advice]] = [
    (
        r'set version = "(?P<version>[^"]+)" in \[project\] of pyproject.toml',
        lambda root, m: _set_toml(root, "[project]", f'version = "{m["version"]}"', "version"),
    ),
    (
        r'git tag -a (?P<tag>\S+) -m "(?P<message>[^"]+)"',
        lambda root, m: git(root, "tag", "-a", m["tag"], "-m", m["message"]),
    ),
    (
        r'set version-scheme = "(?P<scheme>[^"]+)" under \[tool.nightly-sessions\] in pyproject',
        lambda root, m: _set_toml(
            root, "[tool.nightly-sessions]", f'version-scheme = "{m["scheme"]}"', "version-scheme"
        ),
    ),
    (
        r"make the version command in meson.build produce (?P<version>\S+) or later",
        lambda root, m: (root / "tools" / "version.py").write_text(
            (root / "tools" / "version.py")
            .read_text()
            .replace('BASE = "0.3.0.dev0"', f'BASE = "{m["version"]}"')
        ),
    ),
    (
        r"make it print what setuptools_scm.get_version\(\.\.\.\) returns",
        lambda root, _: shutil.copy(
            SAMPLES / "meson_scm" / "tools" / "version.py", root / "tools" / "version.py"
        ),
    ),
    (
        r"configure the version in pyproject.toml where that backend reads it",
        lambda root, _: _drop_table(root, "[tool.hatch.version]"),
    ),
]


def _pieces(problem: str) -> list[tuple[int, re.Match[str]]]:
    """Every piece of advice for one problem that ADVICE knows how to carry out."""
    return [
        (number, match)
        for number, (pattern, _) in enumerate(ADVICE)
        for match in re.finditer(pattern, problem)
    ]


@pytest.mark.integration
@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_piece_of_advice_works_when_applied(
    tmp_path: Path, start_index: Callable[[Path], PypiServer], case: str
) -> None:
    """A refusal is one sentence, a clause per problem, each with one or more fixes; try
    every fix."""
    make = REFUSALS[case]
    root, options, released = make(tmp_path / "refused")
    [(name, newest)] = released.items()
    index = start_index(_index_with(tmp_path / "index", name, newest))
    with pytest.raises(ConfigError) as caught:
        run_build(root, index.url, options)
    message = str(caught.value)
    assert "\n" not in message
    problems = [_pieces(clause) for clause in message.split(versioning.RULES_JOINER)]
    assert all(problems), f"a problem without advice the test can carry out: {caught.value}"
    for attempt in range(max(map(len, problems))):
        fresh, _, _ = make(tmp_path / f"applied-{attempt}")
        applied = [pieces[attempt % len(pieces)] for pieces in problems]
        for number, match in applied:
            ADVICE[number][1](fresh, match)
        result, _ = run_build(fresh, index.url, options)
        assert result.files, f"{[match.group(0) for _, match in applied]} did not work"
        assert result.version is not None
        assert result.version > Version(newest)


# The interpreter that builds satisfies requires-python.


def _requires(root: Path, spec: str) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace("[project]\n", f'[project]\nrequires-python = "{spec}"\n')
    pyproject.write_text(text)


def test_choose_interpreter() -> None:
    current = build.Interpreter(Version("3.11.7"), Path("/venv/bin/python"))
    older = build.Interpreter(Version("3.10.13"), Path("/usr/bin/python3.10"))
    newer = build.Interpreter(Version("3.13.0"), Path("/usr/bin/python3.13"))
    newest = build.Interpreter(Version("3.14.0rc1"), Path("/usr/bin/python3.14"))
    found = [older, newer, newest]
    assert build.choose_interpreter(SpecifierSet(">=3.10"), current, found) == current
    assert build.choose_interpreter(SpecifierSet(">=3.12"), current, found) == newest
    assert build.choose_interpreter(SpecifierSet(">=3.12,<3.14"), current, found) == newer
    assert build.choose_interpreter(SpecifierSet(">=3.99"), current, found) is None
    assert build.suggest_python(SpecifierSet(">=3.12")) == "3.12"
    assert build.suggest_python(SpecifierSet(">=3.10,!=3.10.*")) == "3.11"


def test_an_invalid_requires_python_is_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = "3.12+"\n')
    with pytest.raises(ConfigError, match=r"requires-python = '3.12\+' in .*pyproject.toml"):
        build.requires_python(tmp_path)


@pytest.mark.integration
def test_no_fitting_python_is_one_sentence(tmp_path: Path, release_index: PypiServer) -> None:
    root = sample(tmp_path, "static")
    _requires(root, ">=3.99")
    with pytest.raises(ConfigError) as caught:
        run_build(root, release_index.url, BuildOptions())
    message = str(caught.value)
    assert message.startswith("demo-static needs Python >=3.99 (requires-python in ")
    assert f"{root / 'pyproject.toml'}), but no installed CPython satisfies it" in message
    assert "`uv python install 3.99`" in message
    assert message.count(". ") == 0
    assert not (root / "dist").exists()


@pytest.mark.integration
def test_no_isolation_with_an_excluded_python_says_what_to_do(
    tmp_path: Path, release_index: PypiServer
) -> None:
    root = sample(tmp_path, "static")
    _requires(root, ">=3.99")
    with pytest.raises(ConfigError, match="drop --no-isolation"):
        run_build(root, release_index.url, FAST)


@pytest.mark.integration
def test_a_fitting_session_python_is_kept(tmp_path: Path, release_index: PypiServer) -> None:
    root = sample(tmp_path, "static")
    _requires(root, ">=3.10")
    result, logs = run_build(root, release_index.url, FAST)
    assert result.files
    assert not any("does not satisfy requires-python" in line for line in logs)


@pytest.mark.integration
def test_another_installed_python_builds_when_the_sessions_is_excluded(
    tmp_path: Path, session_index: PypiServer
) -> None:
    """requires-python names another installed CPython exactly; the build switches to it."""
    uv = find_uv()
    current = Version(platform.python_version())
    others = [p for p in build.installed_pythons(uv or "uv") if p.version != current]
    if uv is None or not others:
        pytest.skip("needs uv and a second installed CPython")
    other = max(others, key=lambda python: python.version)
    root = sample(tmp_path, "static")
    _requires(root, f"=={other.version}")
    env = Environment(Path(sys.executable), "uv", uv)
    result, logs = run_build(root, session_index.url, BuildOptions(), env=env)
    assert result.files
    assert any(f"building with Python {other.version}" in line for line in logs)


def test_meson_argv_runs_python_scripts_with_the_build_python(tmp_path: Path) -> None:
    python = Path("/env/bin/python")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "version.py").write_text("#!/usr/bin/env python3\n")
    (tmp_path / "version.sh").write_text("#!/bin/sh -e\n")
    script = str(tmp_path / "tools" / "version.py")
    assert build.meson_argv(tmp_path, ["tools/version.py", "--x"], python) == [
        str(python), script, "--x",
    ]  # fmt: skip
    assert build.meson_argv(tmp_path, ["python3", "tools/version.py"], python) == [
        str(python), "tools/version.py",
    ]  # fmt: skip
    assert build.meson_argv(tmp_path, ["version.sh"], python) == [
        "/bin/sh", "-e", str(tmp_path / "version.sh"),
    ]  # fmt: skip
    assert build.meson_argv(tmp_path, ["git", "describe"], python) == ["git", "describe"]


def test_a_version_script_missing_a_module_names_the_one_requirement_to_install() -> None:
    """statsmodels' meson version script imports setuptools_scm alone; installing all its
    build requirements (numpy, scipy, Cython) just to print a version would take minutes.
    """
    output = "Traceback (most recent call last):\nModuleNotFoundError: No module named 'setuptools_scm'\n"
    assert build.missing_module(output) == "setuptools_scm"
    assert build.missing_module("SyntaxError: invalid syntax") is None
    assert build._provides("setuptools_scm>=9.2.0,<10", "setuptools_scm")
    assert build._provides("setuptools-scm[toml]", "setuptools_scm.version")
    assert not build._provides("meson-python", "mesonpy")
    assert not build._provides("not a requirement!", "x")
    requires = ["meson-python", "setuptools_scm>=9.2.0,<10", "numpy>=2"]
    assert build.requirement_for("setuptools_scm", requires) == "setuptools_scm>=9.2.0,<10"
    assert build.requirement_for("packaging.version", requires) == "packaging"


def test_pinning_a_meson_version_replaces_the_whole_command() -> None:
    numpy_like = (
        "project(\n  'numpy',\n  'c', 'cpp', 'cython',\n"
        "  version: run_command(\n    # This should become `numpy/_version.py` in NumPy 2.0\n"
        "    ['numpy/_build_utils/gitversion.py'],\n    check: true).stdout().strip(),\n"
        "  license: 'BSD-3-Clause',\n)\n"
    )
    pinned = versioning.pin_meson_version(numpy_like, Version("2.6.0.dev1"))
    assert pinned == (
        "project(\n  'numpy',\n  'c', 'cpp', 'cython',\n  version: '2.6.0.dev1',\n"
        "  license: 'BSD-3-Clause',\n)\n"
    )
    assert versioning.pin_meson_version("project('x', version: '1.0')\n", Version("1")) is None


@pytest.mark.integration
def test_a_meson_version_command_that_never_changes_builds_the_nightly(
    tmp_path: Path, release_index: PypiServer
) -> None:
    """scikit-learn's layout: meson.build runs a script printing `__version__` as it is, the
    same every build; the copy's project() gets the nightly version, the tree is untouched.
    """
    root = sample(tmp_path, "meson")
    (root / "tools" / "version.py").write_text('print("0.5.0.dev0")\n', encoding="utf-8")
    commit(root, "A version script that prints the package's version as it is")
    before = (root / "meson.build").read_text(encoding="utf-8")
    result, logs = run_build(root, release_index.url, NATIVE)
    assert any("prints 0.5.0.dev0 every build" in line for line in logs), logs
    [wheel] = [path for path in result.files if path.suffix == ".whl"]
    version = Version(wheel.name.split("-")[1])
    assert version == result.version
    assert version.base_version == "0.5.0"
    assert version.is_devrelease
    assert version > Version("0.5.0.dev0")
    assert (root / "meson.build").read_text(encoding="utf-8") == before
