from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nightly_sessions.core import runner
from nightly_sessions.core.environment import (
    Environment,
    InstallerName,
    choose_installer,
    find_uv,
    index_environment,
    install_tools,
)
from nightly_sessions.core.errors import ToolError
from nightly_sessions.nightly_tests import install
from nightly_sessions.nightly_tests.install import (
    REPORTLOG_REQUIREMENT,
    base_install_args,
    nightly_install_args,
    repair_args,
    unmet_requirements,
)
from nightly_sessions.nightly_tests.plan import InstallPlan, PlannedPackage
from nightly_sessions.nightly_tests.probe import Distribution, Probe
from nightly_sessions.testing.pypi import free_port

NIGHTLY = "http://127.0.0.1:1/simple"
BASE = "http://127.0.0.1:2/simple"


def plan() -> InstallPlan:
    packages = (
        PlannedPackage("numpy", "nightly", "2.5.0.dev0+git1", ("2.5.0.dev0+git1",), False, "auto"),
        PlannedPackage("pandas", "base", None, (), True, "auto"),
    )
    return InstallPlan(
        Path("/p"), "demo", ("test",), ("dev",), ("ruff",), NIGHTLY, BASE, "3.11", packages
    )


def test_uv_commands() -> None:
    env = Environment(Path("/v/bin/python"), "uv", uv="/bin/uv")
    assert base_install_args(plan(), env) == [
        "/bin/uv", "pip", "install", "--python", "/v/bin/python",
        "--reinstall-package", "demo", "/p[test]", "ruff", "pytest", REPORTLOG_REQUIREMENT,
    ]  # fmt: skip
    assert nightly_install_args(plan(), env) == [
        "/bin/uv", "pip", "install", "--python", "/v/bin/python",
        "--prerelease=allow", "--only-binary", ":all:", "--no-deps", "numpy==2.5.0.dev0+git1",
    ]  # fmt: skip


def test_pip_commands_take_nightlies_from_the_nightly_index_only() -> None:
    env = Environment(Path("/v/bin/python"), "pip")
    args = nightly_install_args(plan(), env)
    assert args[:4] == ["/v/bin/python", "-m", "pip", "install"]
    assert "--pre" in args
    assert "pandas" not in " ".join(args)  # not on the channel: stays from the base index


def test_index_goes_through_the_environment_never_the_command_line() -> None:
    secret_index = "https://pypi.anaconda.org/t/tok-install-123/chan/simple"
    env = index_environment(secret_index)
    assert env["PIP_INDEX_URL"] == env["UV_DEFAULT_INDEX"] == secret_index
    assert env["PIP_EXTRA_INDEX_URL"] is None
    assert env["UV_EXTRA_INDEX_URL"] is None
    assert env["UV_NO_CONFIG"] == "1"
    installers: tuple[InstallerName, ...] = ("uv", "pip")
    for installer in installers:
        environment = Environment(Path("/py"), installer)
        argv = nightly_install_args(plan(), environment) + base_install_args(plan(), environment)
        assert not any("--index-url" in arg or "127.0.0.1" in arg for arg in argv)


@pytest.mark.integration
def test_failed_install_names_the_index_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")  # the port is closed: fail fast
    subprocess.run([sys.executable, "-m", "uv", "venv", "-q", str(tmp_path / "v")], check=True)
    uv = str(Path(sys.executable).with_name("uv"))
    env = Environment(tmp_path / "v" / "bin" / "python", "uv", uv=uv)
    index = f"http://127.0.0.1:{free_port()}/t/tok-install-456/simple"
    with pytest.raises(ToolError) as caught:
        install_tools(env, ["tinyarray==1.0"], index)
    assert "/t/***/simple" in str(caught.value)
    assert "tok-install-456" not in str(caught.value) + str(caught.value.detail)


def test_unmet_requirements_of_nightlies() -> None:
    dists = {
        "numpy": Distribution("numpy", "2.5.0.dev0+git1", ("newdep>=1", "oldok", "toonew>=3")),
        "oldok": Distribution("oldok", "1.0", ()),
        "toonew": Distribution("toonew", "2.0", ()),
    }
    state = Probe("3.11", "cpython", {"python_version": "3.11"}, dists)
    unmet = unmet_requirements(plan(), state)
    assert [(str(req), by) for req, by in unmet] == [("newdep>=1", "numpy"), ("toonew>=3", "numpy")]
    args = repair_args(Environment(Path("/py"), "pip"), unmet, Path("/c.txt"))
    assert args[-4:] == ["-c", "/c.txt", "newdep>=1", "toonew>=3"]


def hide_uv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No uv package to import and no uv on PATH."""
    monkeypatch.setitem(sys.modules, "uv", None)  # `import uv` raises ImportError
    monkeypatch.setenv("PATH", str(tmp_path))


def test_auto_takes_pip_when_uv_cannot_be_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hide_uv(monkeypatch, tmp_path)
    assert find_uv() is None
    assert choose_installer("auto") == ("pip", "uv")
    assert choose_installer("pip") == ("pip", "uv")
    assert choose_installer("uv") == ("uv", "uv")  # asked for: its absence is the error


def test_auto_takes_uv_from_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hide_uv(monkeypatch, tmp_path)
    fake = tmp_path / "uv"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert choose_installer("auto") == ("uv", str(fake))


def test_auto_takes_uv_from_its_python_package(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uv")
    monkeypatch.setenv("PATH", "")
    name, uv = choose_installer("auto")
    assert name == "uv"
    assert Path(uv).name.startswith("uv")


def test_a_failed_check_names_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def failed(args: list[str], **kwargs: object) -> runner.Completed:
        return runner.Completed(1, "x 1.0 requires y<2\n", "")

    monkeypatch.setattr(runner, "run", failed)
    check = install.dependency_check(Environment(Path("/py"), "uv"))
    assert (check.ok, check.output, check.command) == (False, "x 1.0 requires y<2", "uv pip check")
    assert install.dependency_check(Environment(Path("/py"), "pip")).command == "pip check"


def waiting_checker(folder: Path) -> str:
    """A stand-in for uv whose `pip check` passes once the file `go` exists (10 s at most)."""
    script = folder / "uv"
    script.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys, time\n"
        f"go = pathlib.Path({str(folder / 'go')!r})\n"
        "deadline = time.monotonic() + 10\n"
        "while not go.exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "print('checked' if go.exists() else 'never told to go')\n"
        "sys.exit(0 if go.exists() else 1)\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return str(script)


@pytest.mark.skipif(sys.platform == "win32", reason="a script as the uv command needs POSIX")
def test_the_dependency_check_runs_beside_its_caller(tmp_path: Path) -> None:
    """It returns at once; the check ends only after the caller went on (the tests run)."""
    checking = install.start_dependency_check(
        Environment(Path("/py"), "uv", waiting_checker(tmp_path))
    )
    assert not checking.done()
    (tmp_path / "go").touch()
    check = checking.result(timeout=30)
    assert (check.ok, check.output, check.command) == (True, "checked", "uv pip check")


def test_a_check_that_cannot_run_is_a_failed_check_saying_why(tmp_path: Path) -> None:
    """It runs beside the tests: raising would replace their outcome with its own."""
    check = install.dependency_check(Environment(Path("/py"), "uv", str(tmp_path / "no-uv")))
    assert (check.ok, check.command) == (False, "uv pip check")
    assert check.output.startswith("Could not start ")
    assert "to check dependencies" in check.output
