"""Where the culprit goes: the upstream draft, nightly-report.json (schema 2) and its
Markdown; older schema-1 reports still read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from nightly_sessions.core.run_report import SCHEMA, load_report, schema_problem
from nightly_sessions.nightly_tests.culprit import Budget, Culprit, Finding, PutBack, Trial
from nightly_sessions.nightly_tests.probe import Probe
from nightly_sessions.nightly_tests.report import RunReport, render_markdown, write_report
from nightly_sessions.nightly_tests.rerun import FailingTest
from nightly_sessions.nightly_tests.run import python_text
from nightly_sessions.nightly_tests.upstream import (
    ZERO_WIDTH_SPACE,
    DraftContext,
    drafts_for,
    neutralise_mentions,
    render_draft,
)
from nightly_sessions.nightly_tests.verify import PackageVersion, VersionReport

TOKEN = "tok-5ecret-42"
NIGHTLY_INDEX = f"https://pypi.anaconda.org/t/{TOKEN}/scientific-python-nightly-wheels/simple"
NUMPY_NIGHTLY = "2.5.0.dev0+git20261205.abc1234"
TEST = "tests/test_fft.py::test_fft[float32-@octocat]"
# A GitHub mention: `@` and a name after the start or a character that is not a name's.
MENTION = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9]")

PUT_BACK = PutBack("numpy", NUMPY_NIGHTLY, "2.4.1", "last-green", "base", changed=True)
CULPRIT = Culprit(PUT_BACK, (TEST,))
FAILING = FailingTest(
    TEST,
    "call",
    "AssertionError: ask @numpy-team",
    ">       assert fft(x) == y, 'ask @numpy-team'\nE       AssertionError: ask @numpy-team\n"
    "tests/test_fft.py:12: AssertionError",
)


def context(**fields: Any) -> DraftContext:
    values: dict[str, Any] = {
        "project": "skymap", "python": "3.13.2", "platform": "linux-x86_64", "os": "Linux",
        "installer": "pip", "nightly_index": NIGHTLY_INDEX, "base_index": "https://pypi.org/simple",
        "nightly_pins": (("numpy", NUMPY_NIGHTLY), ("scipy", "1.17.0.dev0")),
        "install": ("pytest",), "extras": ("test",),
    }  # fmt: skip
    return DraftContext(**{**values, **fields})


def test_the_draft_has_tests_excerpt_versions_commands_and_platform() -> None:
    draft = render_draft(CULPRIT, {TEST: FAILING}, context())
    assert draft.startswith(
        "Title: nightly numpy 2.5.0.dev0+git20261205.abc1234 breaks skymap's "
        "test_fft[float32-@\u200boctocat] (2.4.1 passes)\n"
    )
    assert "with **numpy 2.4.1** (last green run)" in draft
    assert ">       assert fft(x) == y, 'ask @\u200bnumpy-team'" in draft
    assert "(Python 3.13.2 on linux-x86_64)" in draft
    commands = draft.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert commands == [
        "# in a checkout of skymap",
        "python3.13 -m venv .venv && . .venv/bin/activate",
        "# an index below needs a token: put yours where it says ***",
        "python -m pip install --index-url https://pypi.org/simple '.[test]' pytest",
        (
            "python -m pip install --pre --only-binary :all: --no-deps --index-url "
            "'https://pypi.anaconda.org/t/***/scientific-python-nightly-wheels/simple' "
            f"numpy=={NUMPY_NIGHTLY} scipy==1.17.0.dev0"
        ),
        (
            f"python -m pytest 'tests/test_fft.py::test_fft[float32-@\u200boctocat]'  # fails with "
            f"numpy {NUMPY_NIGHTLY}"
        ),
        (
            "python -m pip install --only-binary :all: --no-deps --index-url "
            "https://pypi.org/simple numpy==2.4.1"
        ),
        (
            "python -m pytest 'tests/test_fft.py::test_fft[float32-@\u200boctocat]'  # passes with "
            "numpy 2.4.1"
        ),
    ]


def test_the_draft_holds_no_secret_and_pings_no_one() -> None:
    draft = render_draft(CULPRIT, {TEST: FAILING}, context())
    assert TOKEN not in draft
    assert not MENTION.search(draft), MENTION.findall(draft)
    assert "@\u200bnumpy-team" in draft


def test_the_draft_speaks_uv_or_windows_and_names_the_source() -> None:
    draft = render_draft(
        CULPRIT,
        {},
        context(
            installer="uv", os="Windows", source="https://github.com/org/skymap", commit="abc123"
        ),
    )
    assert "git clone https://github.com/org/skymap && cd skymap\ngit checkout abc123" in draft
    assert "uv venv --python 3.13 .venv && .venv\\Scripts\\activate" in draft
    assert (
        "uv pip install --prerelease=allow --only-binary :all: --no-deps --default-index" in draft
    )
    assert "- skymap: https://github.com/org/skymap at abc123" in draft
    assert "```pytb" not in draft  # no excerpt known: none quoted


def test_one_draft_per_culprit_package() -> None:
    other = Culprit(PUT_BACK, ("tests/test_other.py::test_x",))
    drafts = drafts_for([CULPRIT, other], [FAILING], context())
    assert [(d.package, d.file) for d in drafts] == [("numpy", "upstream-numpy.md")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ask @octocat", f"ask @{ZERO_WIDTH_SPACE}octocat"),
        ("@org/team", f"@{ZERO_WIDTH_SPACE}org/team"),
        ("(@a)", f"(@{ZERO_WIDTH_SPACE}a)"),
        ("mail me@example.org", "mail me@example.org"),
        ("@@x", f"@@{ZERO_WIDTH_SPACE}x"),
        ("test[a-@b]", f"test[a-@{ZERO_WIDTH_SPACE}b]"),
        ("pkg @ https://x", "pkg @ https://x"),
    ],
)
def test_mentions_are_neutralised(text: str, expected: str) -> None:
    assert neutralise_mentions(text) == expected


def finding() -> Finding:
    plain = Trial((), (TEST, "tests/test_b.py::test_flaky"), (TEST,), 1.5)
    tried = Trial((PUT_BACK,), (TEST,), (), 2.25)
    return Finding(
        "found", Budget(60, "50% of the failing run's 40 s, at least 1 min"),
        (TEST, "tests/test_b.py::test_flaky"), 2, flaky=("tests/test_b.py::test_flaky",),
        culprits=(CULPRIT,), trials=(plain, tried), spent=3.75,
        notes=(f"the nightly index {NIGHTLY_INDEX} answered slowly",),
    )  # fmt: skip


def report_with_culprit() -> RunReport:
    versions = VersionReport(
        (PackageVersion("numpy", "nightly", NUMPY_NIGHTLY, NUMPY_NIGHTLY, "nightly", False),)
    )
    report = RunReport(
        project="skymap", job="py3.13-Linux", python="3.13", nightly_index=NIGHTLY_INDEX,
        base_index="https://pypi.org/simple", stage="tests", outcome="tests-failed",
        versions=versions,
    )  # fmt: skip
    report.culprit = finding()
    report.drafts = drafts_for(finding().culprits, [FAILING], context())
    return report


def test_the_report_is_schema_2_with_the_culprit_and_no_token(tmp_path: Path) -> None:
    path = write_report(report_with_culprit(), tmp_path, environ={})
    text = path.read_text(encoding="utf-8")
    assert TOKEN not in text
    data = json.loads(text)
    assert data["schema"] == SCHEMA == 3
    assert schema_problem(data) is None
    culprit = data["culprit"]
    assert culprit["status"] == "found"
    assert culprit["verdict"][0] == (
        f"Culprit: `{TEST}` fails with numpy {NUMPY_NIGHTLY} and passes with numpy 2.4.1 "
        "(last green run)."
    )
    assert culprit["notes"] == [
        (
            "the nightly index https://pypi.anaconda.org/t/***/scientific-python-nightly-wheels/"
            "simple answered slowly"
        )
    ]
    assert culprit["culprits"][0]["tests"] == [TEST]
    assert [len(t["put_back"]) for t in culprit["trials"]] == [0, 1]
    [draft] = culprit["drafts"]
    assert draft["file"] == "upstream-numpy.md"
    assert (tmp_path / "upstream-numpy.md").read_text(encoding="utf-8") == draft["text"]
    assert TOKEN not in draft["text"]


def test_the_markdown_puts_the_culprit_first_then_the_evidence(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    write_report(report_with_culprit(), tmp_path, environ={"GITHUB_STEP_SUMMARY": str(summary)})
    markdown = (tmp_path / "nightly-report.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8").startswith(markdown)
    culprit = markdown.index("### Culprit search")
    assert culprit < markdown.index("| package | installed |")
    assert f"- Culprit: `{TEST}` fails with numpy" in markdown
    assert "- Flaky: `tests/test_b.py::test_flaky` is flaky" in markdown
    assert "The search made 2 re-runs in 3.8 s of its 1 min budget" in markdown
    assert "Draft report for numpy's tracker (<code>upstream-numpy.md</code>)" in markdown
    assert "| nothing (as installed) | 2 | 1 | 1.5 |" in markdown
    assert "| numpy 2.4.1 | 1 | 0 | 2.25 |" in markdown


def test_a_schema_1_report_still_reads_and_renders(tmp_path: Path) -> None:
    report = report_with_culprit()
    data = report.to_dict()
    old = {key: value for key, value in data.items() if key != "culprit"}
    path = tmp_path / "nightly-report.json"
    path.write_text(json.dumps({**old, "schema": 1}), encoding="utf-8")
    read, problem = load_report(path)
    assert problem is None
    assert read is not None
    assert "### Culprit search" not in render_markdown(read)


@pytest.mark.parametrize(
    ("culprit", "problem"),
    [
        ({"verdict": []}, "'culprit' has no status"),
        ({"status": "found", "trials": {}}, "'culprit' has a 'trials' that is not a list"),
        ({"status": "found", "verdict": [3]}, "'culprit' has a verdict that is not text"),
        ({"status": "found", "drafts": [{"package": "x"}]}, "'culprit' has a draft without its"),
        ({"status": "found", "trials": [{"put_back": ["x"]}]}, "'culprit' has a trial that is"),
    ],
)
def test_a_damaged_culprit_section_is_one_sentence(culprit: dict[str, Any], problem: str) -> None:
    data = {**report_with_culprit().to_dict(), "culprit": culprit}
    found = schema_problem(data)
    assert found is not None
    assert found.startswith(problem)


@pytest.mark.parametrize(
    ("python", "expected"), [("3.13", "3.13.1"), ("3.14t", "3.14.0 (free-threaded)")]
)
def test_the_draft_names_a_free_threaded_python(python: str, expected: str) -> None:
    full = "3.14.0" if python.endswith("t") else "3.13.1"
    state = Probe(python, "cpython", {"python_full_version": full}, {})
    assert python_text(state) == expected
