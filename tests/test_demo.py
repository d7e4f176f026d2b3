"""The demo is the end-to-end test: every stage of the loop, checked stage by stage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nightly_sessions.demo import MARKER, STAGES, main

pytestmark = pytest.mark.integration


def test_the_whole_loop_runs_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "demo"
    assert main(["--output", str(output)]) == 0
    printed = capsys.readouterr().out
    for number in range(1, len(STAGES) + 1):
        assert f"[{number}/{len(STAGES)}]" in printed
    assert printed.count("      ok (") == len(STAGES)
    assert "tinyarray  1.1.0.dev0+git20261123.badcafe" in printed  # the red run's table
    assert "FAILED tests/test_skymap.py::test_span" in printed
    # The red run names its culprit: the broken nightly, against the green run's version.
    culprit = (
        "Culprit: `tests/test_skymap.py::test_span` fails with tinyarray "
        "1.1.0.dev0+git20261123.badcafe and passes with tinyarray "
        "1.1.0.dev0+git20261120.aaaaaaa (last green run)."
    )
    assert f"    {culprit}\n" in printed
    assert "Every stand-in server has been stopped." in printed
    # What each stage left behind, where the summary says it is.
    project = output / "skymap"
    assert (project / ".github" / "workflows" / "nightly-tests.yml").is_file()
    listed = summary(printed)
    assert outcomes(Path(listed["nightly tests, green"])) == ["passed"]
    assert outcomes(Path(listed["nightly tests, red"])) == ["tests-failed"]
    assert len(list((project / "nightly-reports").rglob("nightly-report.json"))) == 2
    assert Path(listed["tracking issue"]) == output / "tracking-issue.md"
    issue = (output / "tracking-issue.md").read_text()
    assert "test_span" in issue
    assert issue.index(f"- {culprit}") < issue.index("| Job | Python | OS | Result |")
    draft = Path(listed["upstream draft"])
    assert draft == project / "nightly-reports" / "demo-red" / "upstream-tinyarray.md"
    assert "tinyarray==1.1.0.dev0+git20261123.badcafe" in draft.read_text()
    assert list((project / "dist").glob("skymap-*.whl"))
    logs = "".join(path.read_text() for path in (output / "logs").iterdir())
    assert not re.search(r"demo-[0-9a-f]{24}", logs + printed)  # the made-up upload token


def summary(printed: str) -> dict[str, str]:
    """The closing summary's rows: what -> where."""
    rows = printed.split("What it made:\n", 1)[1].split("Every stand-in server", 1)[0]
    found = {}
    for line in rows.splitlines():
        row = re.fullmatch(r"  (.+?)  +(.+)", line)
        assert row, line
        found[row[1]] = row[2]
    return found


def outcomes(folder: Path) -> list[str]:
    """The outcome of every report in `folder`."""
    return [json.loads(path.read_text())["outcome"] for path in folder.rglob("nightly-report.json")]


def test_refuses_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["--output", str(tmp_path)]) == 1
    assert "was not made by the demo; choose another --output" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / MARKER).exists()
