from __future__ import annotations

from pathlib import Path

import pytest

from nightly_sessions.nightly_tests.plan import InstallPlan, PlannedPackage
from nightly_sessions.nightly_tests.probe import Distribution, Probe
from nightly_sessions.nightly_tests.verify import classify, table_rows, verify

NEWEST = "2.5.0.dev0+git20261123.bbb"
OLDER = "2.5.0.dev0+git20261120.aaa"


def planned(
    name: str = "numpy", newest: str | None = NEWEST, allowed: bool = False
) -> PlannedPackage:
    versions = (OLDER, NEWEST) if newest else ()
    return PlannedPackage(name, "nightly" if newest else "base", newest, versions, allowed, "test")


@pytest.mark.parametrize(
    ("installed", "newest", "expected"),
    [
        (NEWEST, NEWEST, "nightly"),
        ("2.5.0.dev0+git20261123.BBB", NEWEST, "nightly"),  # PEP 440 normalisation
        (OLDER, NEWEST, "older-nightly"),
        ("2.5.0rc1", NEWEST, "release"),
        ("2.4.0", None, "missing"),
        (None, NEWEST, "not-installed"),
        (None, None, "missing"),  # the channel lacks it: say so, not just "not installed"
        ("1.0", "1.0", "release"),  # a release on the channel is still no nightly
        ("2.5.0", NEWEST, "release"),
        ("2.5.0+git20261123.bbb", NEWEST, "release"),  # a local version is no pre-release
    ],
)
def test_classify(installed: str | None, newest: str | None, expected: str) -> None:
    assert classify(planned(newest=newest), installed) == expected


def probe_with(**versions: str) -> Probe:
    dists = {name: Distribution(name, version, ()) for name, version in versions.items()}
    return Probe("3.11", "cpython", {}, dists)


def plan_of(*packages: PlannedPackage) -> InstallPlan:
    return InstallPlan(Path(), "demo", (), (), (), "http://n", "http://b", "3.11", packages)


def test_failures_exclude_allowed_missing() -> None:
    plan = plan_of(planned("numpy"), planned("pandas", newest=None, allowed=True), planned("scipy"))
    report = verify(plan, probe_with(numpy=NEWEST, pandas="2.2.0", scipy="1.15.0"))
    assert [(p.name, p.status) for p in report.packages] == [
        ("numpy", "nightly"),
        ("pandas", "missing"),
        ("scipy", "release"),
    ]
    assert [p.name for p in report.failures] == ["scipy"]
    assert "scipy is 1.15.0 (not a nightly from the channel)" in report.summary()
    assert table_rows(report.packages)[1][3] == "missing (allowed)"


def test_a_release_the_channel_holds_is_not_a_nightly() -> None:
    package = PlannedPackage("tinyarray", "nightly", "1.0", ("1.0",), False, "test")
    report = verify(plan_of(package), probe_with(tinyarray="1.0"))
    assert [p.status for p in report.packages] == ["release"]
    assert "tinyarray is 1.0 (not a nightly from the channel)" in report.summary()


def test_a_name_the_channel_lacks_is_missing_with_what_to_do() -> None:
    typo = planned("tinyaray", newest=None)
    plan = InstallPlan(
        Path(), "demo", (), (), (), "https://h/t/tok-verify-1/chan/simple", "http://b", "3.11",
        (planned("tinyarray"), typo),
    )  # fmt: skip
    report = verify(plan, probe_with(tinyarray=NEWEST))
    assert [(p.name, p.status) for p in report.failures] == [("tinyaray", "missing")]
    summary = report.summary()
    assert "tinyaray is absent (the channel has no wheel of it for this platform)" in summary
    assert (
        "The nightly index https://h/t/***/chan/simple has no wheel of tinyaray at all: "
        "check the spelling of the name, or add it to 'allow-missing'"
    ) in summary
    assert "tok-verify-1" not in summary


def test_a_package_only_for_other_platforms_says_so() -> None:
    other = PlannedPackage("numpy", "base", None, (NEWEST,), False, "test")
    report = verify(plan_of(other), probe_with(numpy="2.4.0"))
    assert report.failures[0].status == "missing"
    assert "has no wheel of numpy for Python 3.11 on this platform" in report.summary()
