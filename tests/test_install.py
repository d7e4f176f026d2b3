from __future__ import annotations

from pathlib import Path

from nightly_sessions.install import (
    ISOLATION,
    REPORTLOG_REQUIREMENT,
    Environment,
    base_install_args,
    nightly_install_args,
    repair_args,
    unmet_requirements,
)
from nightly_sessions.plan import InstallPlan, PlannedPackage
from nightly_sessions.probe import Distribution, Probe

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
        "/bin/uv", "pip", "install", "--python", "/v/bin/python", "--index-url", BASE,
        "--reinstall-package", "demo", "/p[test]", "ruff", "pytest", REPORTLOG_REQUIREMENT,
    ]  # fmt: skip
    assert nightly_install_args(plan(), env) == [
        "/bin/uv", "pip", "install", "--python", "/v/bin/python", "--index-url", NIGHTLY,
        "--prerelease=allow", "--only-binary", ":all:", "--no-deps", "numpy==2.5.0.dev0+git1",
    ]  # fmt: skip


def test_pip_commands_take_nightlies_from_the_nightly_index_only() -> None:
    env = Environment(Path("/v/bin/python"), "pip")
    args = nightly_install_args(plan(), env)
    assert args[:4] == ["/v/bin/python", "-m", "pip", "install"]
    assert "--extra-index-url" not in args
    assert args[args.index("--index-url") + 1] == NIGHTLY
    assert "--pre" in args
    assert "pandas" not in " ".join(args)  # not on the channel: stays from the base index


def test_isolation_switches_off_machine_indexes() -> None:
    assert ISOLATION["PIP_EXTRA_INDEX_URL"] is None
    assert ISOLATION["UV_EXTRA_INDEX_URL"] is None
    assert ISOLATION["UV_NO_CONFIG"] == "1"


def test_unmet_requirements_of_nightlies() -> None:
    dists = {
        "numpy": Distribution("numpy", "2.5.0.dev0+git1", ("newdep>=1", "oldok", "toonew>=3")),
        "oldok": Distribution("oldok", "1.0", ()),
        "toonew": Distribution("toonew", "2.0", ()),
    }
    state = Probe("3.11", "cpython", {"python_version": "3.11"}, dists)
    unmet = unmet_requirements(plan(), state)
    assert [(str(req), by) for req, by in unmet] == [("newdep>=1", "numpy"), ("toonew>=3", "numpy")]
    args = repair_args(plan(), Environment(Path("/py"), "pip"), unmet, Path("/c.txt"))
    assert args[-4:] == ["-c", "/c.txt", "newdep>=1", "toonew>=3"]
    assert args[args.index("--index-url") + 1] == BASE
