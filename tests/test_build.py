"""Building nightlies of the sample projects, and composing the build tools' invocations."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from build_samples import SAMPLES, commit, git, sample, tree_state
from packaging.version import Version

from nightly_sessions import build, cli, runner
from nightly_sessions.build import BuildOptions, BuildResult
from nightly_sessions.config import load_settings
from nightly_sessions.errors import ConfigError, ToolError
from nightly_sessions.install import Environment
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.wheelhouse import download_wheels, make_sdist, make_wheel
from nightly_sessions.versioning import find_version_source

HERE = Environment(Path(sys.executable), "pip")  # the test environment holds every backend
FAST = BuildOptions(isolation=False)
NATIVE = BuildOptions(native=True, isolation=False)

# The newest release of each sample on the base index.
RELEASES = {
    "demo-static": "1.1.0",
    "demo-module": "0.3.0",
    "demo-scm": "1.1.0",
    "demo-hatch": "1.1.0",
    "demo-versioneer": "1.2.0",
    "demo-meson": "0.2.0",
    "demo-ext": "1.9.0",
}


@pytest.fixture(scope="module")
def release_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """A base index with one release of every sample project."""
    directory = tmp_path_factory.mktemp("releases")
    for name, version in RELEASES.items():
        make_wheel(directory, name, version)
    with serve_directory(directory) as server:
        yield server


def run_build(
    root: Path, index: str, options: BuildOptions = FAST, **settings: str
) -> tuple[BuildResult, list[str]]:
    logs: list[str] = []
    loaded = load_settings(root, {"base_index_url": index, **settings}, environ={})
    return build.build_nightly(loaded, options, HERE, install=False, log=logs.append), logs


CASES = [
    ("static", "demo-static", None, FAST),
    ("module", "demo-module", None, FAST),
    ("setuptools_scm", "demo-scm", "v1.1.0", FAST),
    ("hatch_vcs", "demo-hatch", "v1.1.0", FAST),
    ("versioneer", "demo-versioneer", "v1.3.0.dev0", FAST),
    ("meson", "demo-meson", None, NATIVE),
    ("c_extension", "demo-ext", None, NATIVE),
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
    first, logs = run_build(root, release_index.url, options)
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
    with pytest.raises(
        ToolError, match=r"made version 7\.0\.0\.dev0 instead of the nightly version"
    ):
        run_build(root, release_index.url)


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
    options = build.parse_build_args(["--platform", "linux"])
    with pytest.raises(ConfigError, match="are for cibuildwheel, but demo-static is built with"):
        run_build(root, "http://127.0.0.1:9/simple", options)


def test_linux_without_a_container_engine_says_how_to_build_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = sample(tmp_path, "c_extension")
    monkeypatch.setenv("CIBW_CONTAINER_ENGINE", "no-such-engine; create_args: --privileged")
    options = build.parse_build_args(["--platform", "linux"])
    with pytest.raises(ToolError) as caught:
        run_build(root, "http://127.0.0.1:9/simple", options)
    message = str(caught.value)
    assert message.count(". ") == 0
    assert message.endswith(".")
    assert "`no-such-engine info` failed" in message
    assert "nox -s build_nightly -- --native" in message


@pytest.mark.integration
def test_cibuildwheel_prints_identifiers_without_a_container(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = sample(tmp_path, "c_extension")
    options = build.parse_build_args(["--print-build-identifiers", "--platform", "linux"])
    result, logs = run_build(root, "http://127.0.0.1:9/simple", options)
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
    options = build.parse_build_args(["--print-build-identifiers", "--platform", "linux"])
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
        command: Sequence[str], *, what: str, env: dict[str, str | None], cwd: Path
    ) -> None:
        kept = {name: value for name, value in env.items() if value is not None}
        pyproject = (cwd / "pyproject.toml").read_text()
        calls.append(Invocation(list(command), kept, cwd, pyproject))

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


@pytest.mark.parametrize(("kind", "tag"), [("setuptools_scm", "v1.1.0"), ("c_extension", None)])
def test_the_run_wide_build_date_reaches_cibuildwheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, tag: str | None
) -> None:
    """Every job of a run gets NIGHTLY_BUILD_DATE, so wheels built after midnight match."""
    from cibuildwheel.options import CommandLineArguments, compute_options

    root = scm_with_cibuildwheel(tmp_path) if tag else sample(tmp_path, kind)
    monkeypatch.setenv("NIGHTLY_BUILD_DATE", "2025-03-04T23:59:59Z")
    calls = record_build(monkeypatch)
    options = build.parse_build_args(["--print-build-identifiers", "--platform", "linux"])
    result, _ = run_build(root, "http://127.0.0.1:9/simple", options)
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


def test_parse_build_args() -> None:
    options = build.parse_build_args(["--native", "--no-isolation", "--archs", "x86_64"])
    assert options == BuildOptions(native=True, isolation=False, tool_args=("--archs", "x86_64"))
    assert not options.print_identifiers
    assert build.parse_build_args(["--print-build-identifiers"]).print_identifiers


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
    assert build.wants_help(["--help"])
    assert build.wants_help(["--platform", "linux", "-h"])
    assert not build.wants_help(["--platform", "linux"])
    assert "--native" in build.BUILD_HELP
