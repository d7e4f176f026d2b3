from __future__ import annotations

from pathlib import Path

import pytest

from nightly_sessions.plan import InstallPlan, PlannedPackage
from nightly_sessions.probe import Distribution, Probe
from nightly_sessions.verify import classify, table_rows, verify

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
