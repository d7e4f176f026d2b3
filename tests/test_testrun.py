from __future__ import annotations

from pathlib import Path

import pytest

from nightly_sessions.config import load_settings
from nightly_sessions.errors import ProofError
from nightly_sessions.install import DependencyCheck
from nightly_sessions.plan import InstallPlan, PlannedPackage
from nightly_sessions.testrun import dependency_warning, require_channel

NIGHTLY = "https://h/t/tok-testrun-1/chan/simple"


def plan_with(*packages: PlannedPackage) -> InstallPlan:
    return InstallPlan(Path(), "demo", (), (), (), NIGHTLY, "http://b", "3.11", packages)


def package(name: str, newest: str | None, *, allowed: bool = False) -> PlannedPackage:
    versions = (newest,) if newest else ()
    return PlannedPackage(name, "nightly" if newest else "base", newest, versions, allowed, "x")


def test_strict_mode_stops_before_installing_a_name_the_channel_lacks(tmp_path: Path) -> None:
    plan = plan_with(package("tinyarray", "1.1.dev0"), package("tinyaray", None))
    with pytest.raises(ProofError) as caught:
        require_channel(plan, load_settings(tmp_path, environ={}))
    message = str(caught.value)
    assert message.startswith(
        "The nightly index https://h/t/***/chan/simple has no wheel of tinyaray at all: "
        "check the spelling of the name, or add it to 'allow-missing'"
    )
    assert "before installing anything" in message
    assert "tok-testrun-1" not in message


def test_allowed_or_lenient_runs_go_on(tmp_path: Path) -> None:
    plan = plan_with(package("tinyarray", "1.1.dev0"), package("pandas", None, allowed=True))
    require_channel(plan, load_settings(tmp_path, environ={}))
    lenient = load_settings(tmp_path, environ={"NIGHTLY_STRICT": "false"})
    require_channel(plan_with(package("tinyaray", None)), lenient)


def test_dependency_warning_shows_the_redacted_output() -> None:
    output = "consumer 1.0 has requirement tinyarray<1.1 (from https://h/t/tok-dep-2/x)"
    warning = dependency_warning(DependencyCheck(ok=False, output=output, command="pip check"))
    assert warning.startswith("Warning: the dependency check (`pip check`) found conflicts")
    assert "  consumer 1.0 has requirement tinyarray<1.1" in warning
    assert "tok-dep-2" not in warning
