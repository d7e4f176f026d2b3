"""Building against nightly build requirements: the build environment made, read back, proven."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, cast

import pytest
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from nightly_sessions.core import runner
from nightly_sessions.core.config import load_settings
from nightly_sessions.core.environment import Environment, find_uv, index_environment
from nightly_sessions.core.errors import ConfigError, NightlyError, ProofError, ToolError
from nightly_sessions.core.index import DistFile
from nightly_sessions.core.interpreter import WheelTarget
from nightly_sessions.core.posargs import session_args
from nightly_sessions.testing.pypi import PypiServer, serve_directory
from nightly_sessions.testing.wheelhouse import download_wheels, make_wheel
from nightly_sessions.wheels import build, build_deps
from nightly_sessions.wheels.build import BuildOptions, BuildResult
from nightly_sessions.wheels.build_deps import BuildEnvironment, NightlyPin
from nightly_sessions.wheels.commands import build_options, build_settings
from wheels.build_samples import commit, sample

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
NIGHTLY = "1.1.dev20250301"
# A build backend that says which version of it builds: flit_core's hooks, announced.
BACKEND = '''"""flit_core's build, announced with this backend's version."""
import sys
from flit_core import buildapi

__version__ = "{version}"
get_requires_for_build_wheel = buildapi.get_requires_for_build_wheel
get_requires_for_build_sdist = buildapi.get_requires_for_build_sdist
prepare_metadata_for_build_wheel = buildapi.prepare_metadata_for_build_wheel


def build_wheel(*args, **kwargs):
    print("BUILT-BY demo-backend " + __version__, file=sys.stderr)
    return buildapi.build_wheel(*args, **kwargs)


def build_sdist(*args, **kwargs):
    print("BUILT-BY demo-backend " + __version__, file=sys.stderr)
    return buildapi.build_sdist(*args, **kwargs)
'''


def backend_wheel(directory: Path, version: str) -> Path:
    return make_wheel(
        directory, "demo-backend", version,
        modules={"demo_backend/__init__.py": BACKEND.format(version=version)},
        requires=["flit_core>=3.4,<4"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PypiServer, PypiServer]]:
    """A base index (build, flit_core, releases) and a nightly one (the backend's nightlies)."""
    base = tmp_path_factory.mktemp("base")
    for wheel in download_wheels((build.TOOLS["build"], "flit_core==3.12.0")).iterdir():
        shutil.copy(wheel, base)
    make_wheel(base, "demo-static", "1.1.0")
    backend_wheel(base, "1.0")
    nightly = tmp_path_factory.mktemp("nightly")
    backend_wheel(nightly, "1.1.dev20250201")
    backend_wheel(nightly, NIGHTLY)
    with serve_directory(base) as base_server, serve_directory(nightly) as nightly_server:
        yield base_server, nightly_server


def uv_environment() -> Environment:
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed")
    return Environment(Path(sys.executable), "uv", uv)


def project(tmp_path: Path, requires: str = '"flit_core>=3.4,<4", "demo-backend>=1.0"') -> Path:
    """The static sample, built by demo-backend."""
    root = sample(tmp_path, "static")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text().replace(
        'requires = ["flit_core>=3.4,<4"]', f"requires = [{requires}]"
    )
    pyproject.write_text(text.replace('"flit_core.buildapi"', '"demo_backend"'))
    commit(root, "built by demo-backend")
    return root


def run(
    root: Path, indexes: tuple[PypiServer, PypiServer], **settings: object
) -> tuple[BuildResult, list[str]]:
    base, nightly = indexes
    loaded = load_settings(
        root,
        {"base_index_url": base.url, "nightly_index_url": nightly.url, **settings},
        environ={},
    )
    logs: list[str] = []
    result = build.build_nightly(
        loaded, BuildOptions(), uv_environment(), install=False, now=NOW, log=logs.append
    )
    return result, logs


@pytest.mark.integration
def test_the_build_runs_with_the_proven_nightly(
    tmp_path: Path, indexes: tuple[PypiServer, PypiServer], capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path)
    result, logs = run(root, indexes, build_nightly_packages=["demo-backend"])
    output = capfd.readouterr()
    assert result.files
    assert f"BUILT-BY demo-backend {NIGHTLY}" in output.out + output.err
    assert "BUILT-BY demo-backend 1.0" not in output.out + output.err
    [proof] = [line for line in logs if line.startswith("Building against the nightly")]
    assert f"demo-backend {NIGHTLY} (demo_backend-{NIGHTLY}-py3-none-any.whl)" in proof


@pytest.mark.integration
def test_without_the_setting_the_release_builds(
    tmp_path: Path, indexes: tuple[PypiServer, PypiServer], capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path)
    result, logs = run(root, indexes)
    output = capfd.readouterr()
    assert result.files
    assert "BUILT-BY demo-backend 1.0" in output.out + output.err
    assert not any("nightly demo-backend" in line for line in logs)


@pytest.mark.integration
def test_a_missing_nightly_stops_the_strict_build_with_a_sentence(
    tmp_path: Path, indexes: tuple[PypiServer, PypiServer]
) -> None:
    root = project(tmp_path, '"flit_core>=3.4,<4", "demo-backend>=1.0", "flit_core"')
    with pytest.raises(ConfigError) as caught:
        run(root, indexes, build_nightly_packages=["demo-backend", "flit-core"])
    message = str(caught.value)
    assert message.startswith(f"The nightly index {indexes[1].url} has no wheel of flit-core")
    assert "drop it from build-nightly-packages" in message
    assert not (root / "dist").exists()


@pytest.mark.integration
def test_a_missing_nightly_warns_when_not_strict(
    tmp_path: Path, indexes: tuple[PypiServer, PypiServer], capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path)
    result, logs = run(root, indexes, build_nightly_packages=["flit-core"], strict=False)
    assert result.files
    assert any(line.startswith("Warning: The nightly index") for line in logs)
    assert "BUILT-BY demo-backend 1.0" in "".join(capfd.readouterr())


@pytest.mark.integration
def test_a_named_package_the_build_never_installs_fails_the_proof(
    tmp_path: Path, indexes: tuple[PypiServer, PypiServer]
) -> None:
    """Named, on the nightly index, but nothing requires it: the read-back finds it absent."""
    root = project(tmp_path, '"flit_core>=3.4,<4"')
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace('"demo_backend"', '"flit_core.buildapi"')
    )
    commit(root, "back to flit_core")
    with pytest.raises(ProofError) as caught:
        run(root, indexes, build_nightly_packages=["demo-backend"])
    assert str(caught.value) == (
        "The build environment does not hold every nightly build requirement: demo-backend is "
        "no build requirement (neither [build-system] requires, the backend nor another build "
        "requirement asks for it); check [build-system] requires of pyproject.toml."
    )


def test_no_isolation_is_refused_with_the_setting(tmp_path: Path) -> None:
    root = sample(tmp_path, "static")
    loaded = load_settings(root, {"build_nightly_packages": ["numpy"]}, environ={})
    with pytest.raises(ConfigError, match="drop --no-isolation"):
        build.build_nightly(
            loaded, BuildOptions(isolation=False), uv_environment(), install=False, now=NOW
        )


def test_the_option_overrides_the_setting(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, {"build_nightly_packages": "numpy"}, environ={})
    args = session_args("build_nightly", ["--nightly-build-deps", "Cython, numpy"])
    assert args is not None
    assert build_settings(args, loaded).build_nightly_packages == ("cython", "numpy")
    cleared = session_args("build_nightly", ["--nightly-build-deps", ""])
    assert cleared is not None
    assert build_settings(cleared, loaded).build_nightly_packages == ()
    assert build_options(cleared).tool_args == ()
    bad = session_args("build_nightly", ["--nightly-build-deps", "num py!"])
    assert bad is not None
    with pytest.raises(ConfigError, match="--nightly-build-deps"):
        build_settings(bad, loaded)


def test_the_setting_and_its_variable(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, environ={"NIGHTLY_BUILD_NIGHTLY_PACKAGES": "numpy,scipy"})
    assert loaded.build_nightly_packages == ("numpy", "scipy")
    with pytest.raises(ConfigError, match="'build-nightly-packages'"):
        load_settings(tmp_path, {"build_nightly_packages": 3}, environ={})


# The pure parts.


def dist(name: str, version: str, tag: str) -> DistFile:
    filename = f"{name}-{version}-{tag}.whl"
    return DistFile(
        filename, f"http://127.0.0.1:9/{filename}", canonicalize_name(name), Version(version),
        frozenset(parse_tag(tag)), True, None, False, None, None,
    )  # fmt: skip


FILES = {
    "numpy": [
        dist("numpy", "2.4.0.dev0", "cp313-cp313-manylinux_2_28_x86_64"),
        dist("numpy", "2.5.0.dev0", "cp314-cp314-manylinux_2_28_x86_64"),
        dist("numpy", "2.5.0.dev0", "cp314-cp314-macosx_14_0_arm64"),
        dist("numpy", "2.6.0.dev0", "cp314-cp314-win_amd64"),
    ]
}


def test_choose_pins_takes_the_newest_wheel_the_build_python_installs() -> None:
    target = WheelTarget("3.13", tuple(parse_tag("cp313-cp313-manylinux_2_28_x86_64")))
    pins, absent = build_deps.choose_pins(FILES, ["numpy", "cython"], target)
    assert pins == [
        NightlyPin(
            "numpy", Version("2.4.0.dev0"), "numpy-2.4.0.dev0-cp313-cp313-manylinux_2_28_x86_64.whl"
        )
    ]
    assert absent == ["cython"]


@pytest.mark.parametrize(
    ("platform", "version"),
    [("linux", "2.5.0.dev0"), ("macos", "2.5.0.dev0"), ("windows", "2.6.0.dev0")],
)
def test_newest_for_platform(platform: str, version: str) -> None:
    pins, absent = build_deps.newest_for_platform(FILES, ["numpy"], platform)
    assert [pin.requirement for pin in pins] == [f"numpy=={version}"]
    assert absent == []
    assert build_deps.newest_for_platform(FILES, ["numpy"], "ios") == ([], ["numpy"])


def test_proof_problems_name_each_package() -> None:
    pins = [
        NightlyPin("numpy", Version("2.5.0.dev0"), "x"),
        NightlyPin("cython", Version("3.2.0a0"), "y"),
        NightlyPin("scipy", Version("1.17.0.dev0"), "z"),
    ]
    required = frozenset({"numpy", "cython", "scipy"})
    versions = {"numpy": "2.5.0.dev0", "cython": "3.2.0a0", "scipy": "1.17.0.dev0"}
    assert build_deps.proof_problems(pins, BuildEnvironment(versions, required)) == []
    state = BuildEnvironment(
        {"numpy": "2.4.0", "cython": None, "scipy": "1.17.0.dev0"}, required - {"scipy"}
    )
    problems = build_deps.proof_problems(pins, state)
    assert problems == [
        "numpy is 2.4.0, not the nightly 2.5.0.dev0",
        "cython is not installed",
        (
            "scipy is no build requirement (neither [build-system] requires, the backend nor "
            "another build requirement asks for it)"
        ),
    ]


def record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str], str]]:
    """The cibuildwheel call, with the constraints file it would read (the build stops after)."""
    calls: list[tuple[list[str], dict[str, str], str]] = []

    def fake_run(
        command: Sequence[str], *, what: str, env: dict[str, str | None], cwd: Path, **_: object
    ) -> runner.Completed:
        constraints = cwd / build_deps.CONSTRAINTS
        text = constraints.read_text() if constraints.is_file() else ""
        calls.append((list(command), {k: v for k, v in env.items() if v is not None}, text))
        return runner.Completed(0, "", "")

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


def build_compiled(
    tmp_path: Path, start_index: Callable[[Path], PypiServer], platform: str,
    expected: type[NightlyError],
) -> tuple[Path, NightlyError, PypiServer, PypiServer]:  # fmt: skip
    """Build the compiled sample with numpy from tmp_path/nightly; the error it ends with."""
    root = sample(tmp_path, "c_extension")
    make_wheel(tmp_path / "base", "demo-ext", "1.9.0")
    base, nightly = start_index(tmp_path / "base"), start_index(tmp_path / "nightly")
    loaded = load_settings(
        root,
        {"base_index_url": base.url, "nightly_index_url": nightly.url,
         "build_nightly_packages": ["numpy"]},
        environ={},
    )  # fmt: skip
    options = BuildOptions(tool_args=("--platform", platform))
    with pytest.raises(expected) as caught:
        build.build_nightly(loaded, options, uv_environment(), install=False, now=NOW)
    return root, caught.value, base, nightly


@pytest.mark.parametrize("platform", ["linux", "macos"])
def test_cibuildwheel_gets_the_pins_in_its_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_index: Callable[[Path], PypiServer],
    platform: str,
) -> None:
    """cibuildwheel itself reads the variables: the constraint file's path where it builds."""
    from cibuildwheel.options import CommandLineArguments, compute_options

    nightly = tmp_path / "nightly"
    make_wheel(nightly, "numpy", "2.5.0.dev0", tag="cp313-cp313-manylinux_2_28_x86_64")
    make_wheel(nightly, "numpy", "2.5.0.dev0", tag="cp313-cp313-macosx_14_0_arm64")
    make_wheel(nightly, "numpy", "2.6.0.dev0", tag="cp313-cp313-win_amd64")
    monkeypatch.setattr(build, "container_engine_works", lambda environ: True)
    calls = record(monkeypatch)
    built = build_compiled(tmp_path, start_index, platform, ToolError)
    root, error, base_server, nightly_server = built
    assert "made no wheel" in str(error)  # the recorder builds nothing
    [(command, env, constraints)] = calls
    assert Path(command[0]).name == "cibuildwheel"
    assert constraints == "numpy==2.5.0.dev0\n"
    arguments = dataclasses.replace(CommandLineArguments.defaults(), package_dir=root)
    identifier = "cp313-manylinux_x86_64" if platform == "linux" else "cp313-macosx_arm64"
    chosen = cast(Literal["linux", "macos"], platform)
    seen = compute_options(chosen, arguments, env).build_options(identifier)
    variables = seen.environment.as_dictionary({})
    where = "/project" if platform == "linux" else command[1]
    assert variables["PIP_CONSTRAINT"] == f"{Path(where).as_posix()}/{build_deps.CONSTRAINTS}"
    for name in ("PIP_BUILD_CONSTRAINT", "UV_CONSTRAINT", "UV_BUILD_CONSTRAINT"):
        assert variables[name] == variables["PIP_CONSTRAINT"]
    assert variables["PIP_EXTRA_INDEX_URL"] == nightly_server.url
    assert variables["UV_INDEX"] == nightly_server.url
    assert variables["PIP_INDEX_URL"] == base_server.url


def test_cibuildwheel_without_the_nightly_stops_when_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_index: Callable[[Path], PypiServer]
) -> None:
    (tmp_path / "nightly").mkdir()
    calls = record(monkeypatch)
    _, error, _, _ = build_compiled(tmp_path, start_index, "macos", NightlyError)
    assert "has no wheel of numpy for the platform macos" in str(error)
    assert calls == []


@pytest.mark.integration
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_cibuildwheel_variables_give_an_isolated_build_the_nightly(
    tmp_path: Path,
    indexes: tuple[PypiServer, PypiServer],
    capfd: pytest.CaptureFixture[str],
    installer: str,
) -> None:
    """What cibuildwheel's `build` frontend runs in each build environment (`python -m build
    --wheel`, `--installer=uv` for build[uv]), with the variables the session passes it:
    the isolated build environment gets the pinned nightly, not the base index's release."""
    base, nightly = indexes
    root = project(tmp_path)
    env = build.new_environment(
        Path(sys.executable), uv_environment(), tmp_path / "env", base.url, [build.TOOLS["build"]]
    )
    constraints = tmp_path / build_deps.CONSTRAINTS
    pins = [NightlyPin("demo-backend", Version(NIGHTLY), "")]
    constraints.write_text(build_deps.constraints_text(pins))
    variables = build_deps.cibuildwheel_variables(pins, nightly.url, str(constraints))
    command = [
        str(env.python),
        "-m",
        "build",
        str(root),
        "--wheel",
        "--outdir",
        str(tmp_path / "out"),
    ]
    runner.run(
        [*command, f"--installer={installer}"],
        what="build as cibuildwheel does",
        env={**index_environment(base.url), **variables, "UV": env.uv},
        cwd=root,
    )
    output = "".join(capfd.readouterr())
    assert f"BUILT-BY demo-backend {NIGHTLY}" in output
    assert "BUILT-BY demo-backend 1.0" not in output
    assert len(list((tmp_path / "out").glob("*.whl"))) == 1
