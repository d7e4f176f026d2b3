"""Testing what was published: a pypiserver stands in for the channel's simple index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from nightly_sessions import cli
from nightly_sessions.channel import published as published_module
from nightly_sessions.channel.published import Published, ReadBack, check_published
from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.environment import Environment, find_uv
from nightly_sessions.core.errors import ConfigError, NetworkError, OutcomeError
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.wheelhouse import make_wheel

VERSION = "2.1.0.dev20250304"
PYPROJECT = """\
[project]
name = "skymap"
version = "2.0.0"
dependencies = ["starcat>=1"]

[project.optional-dependencies]
test = ["skytest"]
"""
# The checkout's own copy: a test that imported it instead of the install would see 0.0.0.
TESTS = """\
import skymap
import skytest


def test_the_installed_nightly_runs():
    assert skymap.__version__ == "{version}"
    assert "site-packages" in skymap.__file__
"""

Factory = Callable[[Path], PypiServer]
SAMPLES = Path(__file__).parents[1] / "samples"


def project(tmp_path: Path, built: str | None = VERSION, expected: str = VERSION) -> Path:
    """A checkout with tests, a flat-layout package that must not shadow the install, and
    the build's wheel in dist/."""
    root = tmp_path / "skymap"
    (root / "tests").mkdir(parents=True)
    (root / "skymap").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "skymap" / "__init__.py").write_text('__version__ = "0.0.0"\n')
    (root / "tests" / "test_skymap.py").write_text(TESTS.format(version=expected))
    if built:
        make_wheel(
            root / "dist", "skymap", built, requires=["starcat>=1", "skytest; extra == 'test'"]
        )
    return root


@pytest.fixture
def base(base_index: PypiServer) -> PypiServer:
    """The base index with the project's dependencies (and pytest, from the wheelhouse)."""
    make_wheel(base_index.directory, "starcat", "1.0")
    make_wheel(base_index.directory, "skytest", "3.0")
    return base_index


def channel(tmp_path: Path, start_index: Factory, *versions: str) -> PypiServer:
    folder = tmp_path / "channel"
    folder.mkdir()
    for version in versions:
        make_wheel(
            folder, "skymap", version,
            requires=["starcat>=1", "skytest; extra == 'test'"],
            extra_headers=[("Provides-Extra", "test")],
        )  # fmt: skip
    return start_index(folder)


def environment(tmp_path: Path) -> Environment:
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed")
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(tmp_path / "env")], check=True
    )
    return Environment(tmp_path / "env" / "bin" / "python", "uv", uv)


def settings(root: Path, base: PypiServer, index: PypiServer, **more: object) -> Settings:
    return load_settings(
        root,
        {"base_index_url": base.url, "published_index_url": index.url, "published_wait": 2, **more},
        environ={},
    )


@pytest.mark.integration
def test_the_published_nightly_passes_its_tests(
    tmp_path: Path, base: PypiServer, start_index: Factory, capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path)
    index = channel(tmp_path, start_index, "2.1.0.dev20250301", VERSION)
    logs: list[str] = []
    loaded = settings(root, base, index)
    check_published(loaded, environment(tmp_path), log=logs.append)
    assert logs[0] == f"Testing skymap {VERSION} as published on {index.url}."
    assert any(line.startswith(f"Proven: skymap {VERSION} from {index.url}") for line in logs)
    assert logs[-1] == "The published nightly passes the project's tests."
    assert "1 passed" in capfd.readouterr().out


@pytest.mark.integration
def test_a_broken_published_nightly_fails_with_a_sentence(
    tmp_path: Path, base: PypiServer, start_index: Factory
) -> None:
    """The tests expect another version inside the package than the wheel carries."""
    root = project(tmp_path, expected="9.9.9")
    index = channel(tmp_path, start_index, VERSION)
    with pytest.raises(OutcomeError) as caught:
        check_published(settings(root, base, index), environment(tmp_path), log=lambda _: None)
    assert caught.value.exit_code == 1
    assert str(caught.value).startswith(
        "The published nightly fails the project's tests (exit code 1)"
    )


@pytest.mark.integration
def test_a_smoke_command_runs_instead_of_pytest(
    tmp_path: Path, base: PypiServer, start_index: Factory
) -> None:
    root = project(tmp_path, expected="9.9.9")  # the tests would fail; they do not run
    index = channel(tmp_path, start_index, VERSION)
    logs: list[str] = []
    smoke = "python -c \"import skymap; assert skymap.__version__ == '" + VERSION + "'\""
    loaded = settings(root, base, index, published_smoke=smoke)
    check_published(loaded, environment(tmp_path), log=logs.append)
    assert logs[-1] == f"The published nightly passes the smoke command `{smoke}`."


@pytest.mark.parametrize(
    ("listed", "says"),
    [
        (("2.1.0.dev20250301",), "its newest is 2.1.0.dev20250301"),
        ((), "it lists no version of skymap"),
    ],
)
def test_an_index_without_the_version_is_a_sentence(
    tmp_path: Path, base: PypiServer, start_index: Factory, listed: tuple[str, ...], says: str
) -> None:
    root = project(tmp_path)
    index = channel(tmp_path, start_index, *listed)
    env = Environment(Path(sys.executable), "pip")  # never reached
    with pytest.raises(NetworkError) as caught:
        check_published(settings(root, base, index, published_wait=1), env, log=lambda _: None)
    assert str(caught.value) == (
        f"After 1 s, {index.url} still does not list skymap {VERSION} ({says}); check that "
        "the upload succeeded, then run `nox -s nightly_published` again."
    )


def test_waiting_ends_when_the_version_shows(
    tmp_path: Path, start_index: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channel's CDN lags: the index lists the version on the third look."""
    index = channel(tmp_path, start_index)
    now = [0.0]
    looks = []

    def sleep(seconds: float) -> None:
        looks.append(seconds)
        now[0] += seconds
        if len(looks) == 2:
            make_wheel(tmp_path / "channel", "skymap", VERSION)

    target = Published("skymap", Version(VERSION), index.url)
    waited, files = published_module.wait_for_version(
        target, wait=60, timeout=5, retries=0, clock=lambda: now[0], sleep=sleep
    )
    assert looks == [3.0, 3.0]
    assert waited == 6.0
    assert [dist.filename for dist in files] == [f"skymap-{VERSION}-py3-none-any.whl"]


def test_a_version_without_a_wheel_for_this_platform_is_a_sentence(
    tmp_path: Path, base: PypiServer, start_index: Factory
) -> None:
    """With upload_when any, a platform whose build failed has no wheel on the channel."""
    root = project(tmp_path)
    folder = tmp_path / "channel"
    make_wheel(folder, "skymap", VERSION, tag="cp313-cp313-win_arm64")
    index = start_index(folder)
    with pytest.raises(OutcomeError) as caught:
        check_published(settings(root, base, index), environment(tmp_path), log=lambda _: None)
    assert caught.value.exit_code == 1
    message = str(caught.value)
    assert message.startswith(
        f"{index.url} has skymap {VERSION} only as skymap-{VERSION}-cp313-cp313-win_arm64.whl, "
        f"none of which installs on this Python {sys.version_info[0]}.{sys.version_info[1]} ("
    )
    assert message.endswith("the build or the upload for this platform failed, see those jobs.")


def test_the_version_comes_from_the_dist_folder(tmp_path: Path) -> None:
    root = project(tmp_path)
    files = sorted((root / "dist").iterdir())
    assert published_module.built_version(files, "skymap", root / "dist") == Version(VERSION)
    make_wheel(root / "dist", "skymap", "2.1.0.dev20250305", tag="cp313-cp313-win_amd64")
    with pytest.raises(ConfigError, match=r"in several versions .* pass --version"):
        published_module.built_version(sorted((root / "dist").iterdir()), "skymap", root / "dist")
    with pytest.raises(ConfigError, match="holds no wheel of skymap"):
        published_module.built_version([], "skymap", root / "dist")


def test_the_default_index_is_the_channels(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    default = load_settings(tmp_path, environ={})
    assert published_module.channel_index(default, None) == (
        "https://pypi.anaconda.org/scientific-python-nightly-wheels/simple"
    )
    labelled = load_settings(tmp_path, {"channel": "me", "channel_label": "nightly"}, environ={})
    assert published_module.channel_index(labelled, None) == (
        "https://pypi.anaconda.org/me/label/nightly/simple"
    )
    assert published_module.channel_index(labelled, "http://127.0.0.1:9/simple/") == (
        "http://127.0.0.1:9/simple"
    )


def test_read_back_problems_catch_the_checkout_shadowing_the_install() -> None:
    target = Published("skymap", Version(VERSION), "http://127.0.0.1:9/simple")
    site = "/venv/lib/python3.13/site-packages"
    good = ReadBack(VERSION, site, {"skymap": f"{site}/skymap/__init__.py"})
    assert published_module.read_back_problems(good, target) == []
    shadowed = ReadBack("2.0.0", site, {"skymap": "/work/skymap/skymap/__init__.py"})
    assert published_module.read_back_problems(shadowed, target) == [
        f"skymap is 2.0.0, not {VERSION}",
        f"its module skymap imports from /work/skymap/skymap/__init__.py, not from {site}",
    ]
    assert published_module.read_back_problems(ReadBack(None, "", {}), target) == [
        "skymap is not installed"
    ]


def test_pytest_paths_and_the_smoke_command(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.pytest.ini_options]\ntestpaths = ["checks"]\n'
    )
    assert published_module.pytest_paths(tmp_path) == [str(tmp_path / "checks")]
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "tests").mkdir()
    assert published_module.pytest_paths(tmp_path) == [str(tmp_path / "tests")]
    python = Path("/env/bin/python")
    assert published_module.smoke_command("python -c 'import skymap'", python) == [
        str(python), "-c", "import skymap",
    ]  # fmt: skip


def test_bad_inputs_are_one_sentence(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    assert cli.main(["--project", str(root), "published", "--version", "tomorrow"]) == 2
    assert "--version 'tomorrow' is not a PEP 440 version" in capfd.readouterr().err
    (root / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.nightly-sessions]\npublished-smoke = "python -c \'unclosed"\n'
    )
    assert cli.main(["--project", str(root), "published"]) == 2
    assert "Setting 'published-smoke'" in capfd.readouterr().err
    (root / "pyproject.toml").write_text(
        PYPROJECT + "\n[tool.nightly-sessions]\npublished-wait = 0\n"
    )
    assert cli.main(["--project", str(root), "published"]) == 2
    assert "Setting 'published-wait'" in capfd.readouterr().err


@pytest.mark.integration
def test_the_nox_session_tests_the_published_wheel(
    tmp_path: Path, base: PypiServer, start_index: Factory
) -> None:
    """`nox -s nightly_published` as the workflow's job runs it: the version from dist/, a
    smoke command from the environment, the session's own virtualenv."""
    root = tmp_path / "static"
    shutil.copytree(SAMPLES / "static", root)
    version = "1.2.1.dev20250304"
    make_wheel(root / "dist", "demo-static", version)
    folder = tmp_path / "channel"
    make_wheel(folder, "demo-static", version)
    index = start_index(folder)
    env = {
        **os.environ,
        "NIGHTLY_BASE_INDEX_URL": base.url,
        "NIGHTLY_PUBLISHED_INDEX_URL": index.url,
        "NIGHTLY_PUBLISHED_SMOKE": f"python -c \"import demo_static; assert demo_static.__version__ == '{version}'\"",
    }
    nox = [sys.executable, "-m", "nox", "--non-interactive", "-f", str(root / "noxfile.py")]
    done = subprocess.run(
        [*nox, "-s", "nightly_published"], cwd=root, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"Proven: demo-static {version} from {index.url}" in output
    assert "The published nightly passes the smoke command" in output
