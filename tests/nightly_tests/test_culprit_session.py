"""The culprit search for real: `nox -s nightly_tests` on a sample project with two nightly
dependencies, one broken, and a flaky test; the nightly index carries a token in its URL."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nightly_world import (
    ALPHA_NIGHTLY,
    BETA_BROKEN_NIGHTLY,
    BETA_GREEN_NIGHTLY,
    World,
    build_culprit_world,
    run_nox,
)

from nightly_sessions.nightly_tests.probe import probe
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.testing.simple_index import serve_simple_index
from nightly_sessions.tracking import decisions, issue_body, job_reports

pytestmark = pytest.mark.integration

TOKEN = "tok-c4lpr1t-5ecret"
HALF = "tests/test_starmap.py::test_half"
FLAKY = "tests/test_starmap.py::test_flaky"
MENTION = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]")


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer) -> Iterator[World]:
    with serve_simple_index(tmp_path / "nightly-index", prefix=f"/t/{TOKEN}/chan") as nightly:
        yield build_culprit_world(tmp_path, base_index, nightly)


def last_green_report(folder: Path) -> Path:
    """A green run's report as an older artifact holds it (schema 1): beta was older then."""
    folder.mkdir(parents=True)
    rows = [("alpha", ALPHA_NIGHTLY), ("beta", BETA_GREEN_NIGHTLY)]
    data = {
        "schema": 1, "project": "starmap", "job": "py3.X-Linux",
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}", "platform": "linux-x86_64",
        "stage": "tests", "outcome": "passed", "nightly_index": "http://127.0.0.1:1/simple",
        "packages": [{"name": n, "installed": v, "status": "nightly"} for n, v in rows],
        "repairs": [],
    }  # fmt: skip
    (folder / "nightly-report.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def job_folder(world: World) -> Path:
    [folder] = (world.project / "nightly-reports").iterdir()
    return folder


def report_of(world: World) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((job_folder(world) / "nightly-report.json").read_text())
    return data


def test_the_broken_nightly_is_named_and_the_flaky_test_called_flaky(
    world: World, tmp_path: Path
) -> None:
    # The last green run's report: beta changed since, alpha did not.
    green = last_green_report(tmp_path / "green")
    # Our option and pytest's, mixed after `--`: --last-green is taken, the rest is pytest's.
    result = run_nox(
        world, "-s", "nightly_tests", "--", "-p", "no:cacheprovider", "--last-green", str(green)
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert TOKEN not in output
    culprit = (
        f"Culprit: `{HALF}` fails with beta {BETA_BROKEN_NIGHTLY} and passes with "
        f"beta {BETA_GREEN_NIGHTLY} (last green run)."
    )
    flaky = (
        f"Flaky: `{FLAKY}` is flaky: it failed, then passed when re-run with the same "
        "versions; no package is blamed."
    )
    assert culprit in output
    assert flaky in output
    report = report_of(world)
    assert report["schema"] == 3
    assert report["outcome"] == "tests-failed"
    assert report["culprit"]["verdict"][:2] == [culprit, flaky]
    tried = [[p["name"] for p in trial["put_back"]] for trial in report["culprit"]["trials"]]
    # The plain re-run, then beta: changed since the last green run, so tried first.
    assert tried == [[], ["beta"]]
    # The version table and the environment are what the tests ran with.
    installed = {p["name"]: p["installed"] for p in report["packages"]}
    assert installed == {"alpha": ALPHA_NIGHTLY, "beta": BETA_BROKEN_NIGHTLY}
    python = world.project / ".nox" / "nightly_tests" / "bin" / "python"
    assert probe(python).version_of("beta") == BETA_BROKEN_NIGHTLY
    # The draft for beta's tracker: no token, no mention.
    draft = (job_folder(world) / "upstream-beta.md").read_text(encoding="utf-8")
    assert draft == report["culprit"]["drafts"][0]["text"]
    assert f"beta=={BETA_BROKEN_NIGHTLY}" in draft
    assert "AssertionError: ask @\u200boctocat about halve()" in draft
    assert TOKEN not in draft
    assert "/t/***/chan/simple" in draft
    assert not MENTION.search(draft), MENTION.findall(draft)
    # The tracking issue: the culprit first, the draft collapsed, the evidence after.
    body = issue_body.render_body(
        job_reports.load_jobs(world.project / "nightly-reports"), decisions.RunInfo()
    )
    assert body.index("### Culprit search") < body.index("| Job | Python | OS | Result |")
    assert f"- {culprit}" in body
    assert "<details><summary>Draft report for beta's tracker</summary>" in body
    assert TOKEN not in body


def test_one_switch_turns_the_search_off(world: World) -> None:
    result = run_nox(
        world, "-s", "nightly_tests", "--", "-p", "no:cacheprovider", NIGHTLY_CULPRIT="false"
    )
    assert result.returncode == 1
    assert "Culprit search" not in result.stdout + result.stderr
    assert report_of(world)["culprit"] is None
    assert not list(job_folder(world).glob("upstream-*.md"))
