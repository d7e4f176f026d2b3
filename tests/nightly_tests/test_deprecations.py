"""The run's warnings: the plugin in real pytest runs (also under xdist), the report's
section (keys, owners, new / known / gone), the settings, and whole runs of a sample whose
nightly dependency starts and stops deprecating what it calls."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nightly_sessions.core.config import Settings, load_settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.core.run_report import schema_problem
from nightly_sessions.core.warning_keys import normalise, warning_key
from nightly_sessions.nightly_tests import deprecations
from nightly_sessions.nightly_tests.run import run_nightly_tests
from nightly_sessions.nightly_tests.warnings_plugin import (
    WARNINGS_LOG_NAME,
    plugin_args,
    plugin_environment,
)
from nightly_sessions.testing.github import FakeGitHub, IssueRecord
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.tracking import issue
from nightly_tests.deprecations_world import (
    GONE,
    MESSAGE,
    TEST,
    WARNS,
    WarningsWorld,
    build_warnings_world,
)

SUITE = """
import warnings

import pytest


def emit(address):
    warnings.warn(f"handle at {address} is deprecated", DeprecationWarning)


def test_one():
    emit(hex(id(object())))


@pytest.mark.parametrize("n", range(3))
def test_many(n):
    emit(hex(id(object()) + n))
    warnings.warn("the future is near", FutureWarning)


def test_user():
    warnings.warn("just so you know", UserWarning)


def test_pending():
    warnings.warn("pending for now", PendingDeprecationWarning)
"""


JOB = f"py{sys.version_info[0]}.{sys.version_info[1]}-Linux"


def run_suite(folder: Path, *args: str, ini: str = "") -> tuple[int, list[dict[str, Any]]]:
    """pytest on SUITE with the plugin, as the run loads it; its exit code and records."""
    (folder / "test_suite.py").write_text(SUITE, encoding="utf-8")
    (folder / "pytest.ini").write_text(f"[pytest]\n{ini}", encoding="utf-8")
    log = folder / WARNINGS_LOG_NAME
    as_errors = [args[i + 1] for i, a in enumerate(args) if a == "--as-error"]
    rest = [
        a for i, a in enumerate(args) if a != "--as-error" and args[i - 1 : i] != ("--as-error",)
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin_args(log, as_errors), *rest],
        cwd=folder, capture_output=True, text=True, check=False,
        env={**os.environ, **plugin_environment()},
    )  # fmt: skip
    return done.returncode, deprecations.read_records(log)


def section(records: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "planned": [], "project": None, "as_errors": (), "earlier": None,
        "earlier_problem": "no last green run",
    }  # fmt: skip
    return deprecations.summarise(records, **{**options, **kwargs})


def test_numbers_and_addresses_do_not_split_a_warning() -> None:
    assert normalise("handle at 0x7f3a12 is deprecated since 2.3") == (
        "handle at 0x… is deprecated since N.N"
    )
    assert warning_key("DeprecationWarning", "pkg.mod", "x  at 0xAB") == (
        "DeprecationWarning|pkg.mod|x at 0x…"
    )


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_plugin_keeps_each_warning_with_its_first_test(
    tmp_path: Path, xdist: tuple[str, ...]
) -> None:
    code, records = run_suite(tmp_path, *xdist)
    assert code == 0
    data = section(records)
    by_message = {e["message"].split(" at ")[0]: e for e in data["deprecations"]}
    # Four raw records (one address each) of one warning become one entry, counted four times.
    handle = by_message["handle"]
    assert handle["count"] == 4
    assert handle["key"] == "DeprecationWarning|test_suite|handle at 0x… is deprecated"
    assert handle["test"] in {
        "test_suite.py::test_one",
        *(f"test_suite.py::test_many[{n}]" for n in range(3)),
    }
    assert by_message["the future is near"]["count"] == 3
    assert by_message["pending for now"]["category"] == "PendingDeprecationWarning"
    assert len(data["deprecations"]) == 3
    assert data["other"] == 1  # the UserWarning, counted only
    assert [e["new"] for e in data["deprecations"]] == [None] * 3
    assert data["comparison_problem"] == "no last green run"


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_warning_made_an_error_is_the_failure_it_caused_and_listed_once(
    tmp_path: Path, xdist: tuple[str, ...]
) -> None:
    code, records = run_suite(tmp_path, "--as-error", "FutureWarning", *xdist)
    assert code == 1  # test_many's three variants fail on the FutureWarning
    data = section(records, as_errors=("FutureWarning",))
    assert data["filters"] == ["error::FutureWarning"]
    assert sorted(e["test"] for e in data["errors"]) == [
        f"test_suite.py::test_many[{n}]" for n in range(3)
    ]
    assert {e["category"] for e in data["errors"]} == {"FutureWarning"}
    assert all(e["key"] != data["errors"][0]["key"] for e in data["deprecations"])
    assert "FutureWarning" not in {e["category"] for e in data["deprecations"]}


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_module_whose_import_warns_is_a_collection_error_told_once(
    tmp_path: Path, xdist: tuple[str, ...]
) -> None:
    (tmp_path / "test_old_api.py").write_text(
        "import warnings\n\nwarnings.warn('old module api', DeprecationWarning)\n\n\n"
        "def test_x():\n    pass\n",
        encoding="utf-8",
    )
    code, records = run_suite(tmp_path, "--as-error", "DeprecationWarning", *xdist)
    assert code == (1 if xdist else 2)  # pytest: collection errors; xdist: failures
    data = section(records, as_errors=("DeprecationWarning",))
    # Under xdist each worker collects the module; it is one failure all the same (and
    # xdist goes on with the other module, whose deprecations fail its tests).
    collected = [e for e in data["errors"] if not str(e["test"]).startswith("test_suite.py")]
    assert [(e["test"], e["message"], e["lineno"]) for e in collected] == [
        ("test_old_api.py", "old module api", 3)
    ]


def test_the_projects_own_filters_win_over_warnings_as_errors(tmp_path: Path) -> None:
    # The ini file ignores FutureWarning; -W (the project's pytest args) ignores the pending one.
    ini = "filterwarnings =\n    ignore::FutureWarning\n"
    code, records = run_suite(
        tmp_path, "--as-error", "FutureWarning", "--as-error", "PendingDeprecationWarning",
        "-W", "ignore::PendingDeprecationWarning", ini=ini,
    )  # fmt: skip
    assert code == 0
    data = section(records)
    assert data["errors"] == []
    assert {e["category"] for e in data["deprecations"]} == {"DeprecationWarning"}
    # Without the project's filters the same categories fail the tests.
    code, _ = run_suite(tmp_path, "--as-error", "PendingDeprecationWarning")
    assert code == 1


def test_a_category_the_environment_cannot_import_is_reported_not_fatal(tmp_path: Path) -> None:
    code, records = run_suite(tmp_path, "--as-error", "nowhere.NoSuchWarning")
    assert code == 0
    data = section(records, as_errors=("nowhere.NoSuchWarning",))
    assert (data["unknown_categories"], data["filters"]) == (["nowhere.NoSuchWarning"], [])
    assert (
        "**Not applied:** 'warnings-as-errors' names nowhere.NoSuchWarning, which the test "
        "environment cannot import, so it stays a warning"
    ) in "\n".join(deprecations.markdown(data))


def test_the_owner_is_the_category_the_file_or_a_nightly_the_message_names() -> None:
    raised = {"kind": "warning", "deprecation": True, "count": 1, "nodeid": "t.py::t"}
    records = [
        {**raised, "category": "pandas.errors.Pandas4Warning", "message": "m1",
         "module": "app.a", "distribution": "app", "category_distribution": "pandas"},
        {**raised, "category": "DeprecationWarning", "message": "m2", "module": "scipy.x",
         "distribution": "scipy", "category_distribution": None},
        {**raised, "category": "DeprecationWarning", "module": "app.b", "distribution": "app",
         "message": "numpy.linalg.foo is deprecated", "category_distribution": None},
        {**raised, "category": "DeprecationWarning", "module": "app.c", "distribution": "app",
         "message": "foo is deprecated", "category_distribution": None},
    ]  # fmt: skip
    data = section(records, planned=["numpy", "pandas"], project="app")
    owners = {e["message"]: (e["package"], e["nightly"]) for e in data["deprecations"]}
    assert owners == {
        "m1": ("pandas", True),
        "m2": ("scipy", False),
        "numpy.linalg.foo is deprecated": ("numpy", True),
        "foo is deprecated": ("app", False),  # the project's own
    }


def test_an_older_last_green_report_compares_with_nothing() -> None:
    raised = {"kind": "warning", "deprecation": True, "count": 1, "category": "FutureWarning"}
    data = section([{**raised, "message": "m", "module": "a"}], earlier={"schema": 2})
    assert data["compared"] is False
    assert data["comparison_problem"] == (
        "the last green run's report predates the list of warnings"
    )
    assert data["deprecations"][0]["new"] is None
    assert "Not compared with a green run: the last green run's report predates" in "\n".join(
        deprecations.markdown(data)
    )


@pytest.mark.parametrize(
    ("key", "value", "accepted"),
    [
        ("warnings-as-errors", "Deprecation Warning!", "a list of warning categories"),
        ("warnings-as-errors", [3], "a list of warning categories"),
        ("warnings-as-errors", "Deprecation", "a list of warning categories"),  # a typo
        ("fail-on-new-deprecations", "sometimes", "true or false"),
    ],
)
def test_bad_warning_settings_are_one_sentence(
    tmp_path: Path, key: str, value: object, accepted: str
) -> None:
    text = json.dumps(value)
    (tmp_path / "pyproject.toml").write_text(f"[tool.nightly-sessions]\n{key} = {text}\n")
    with pytest.raises(ConfigError, match=f"Setting '{key}' in .* must be {accepted}"):
        load_settings(tmp_path, environ={})


def test_warning_settings_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        environ={
            "NIGHTLY_WARNINGS_AS_ERRORS": "DeprecationWarning, numpy.exceptions.RankWarning",
            "NIGHTLY_FAIL_ON_NEW_DEPRECATIONS": "true",
        },
    )
    assert settings.warnings_as_errors == ("DeprecationWarning", "numpy.exceptions.RankWarning")
    assert settings.fail_on_new_deprecations is True


# Whole runs against real loopback indexes.


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> WarningsWorld:
    return build_warnings_world(tmp_path, base_index, nightly_index)


def nightly_run(
    world: WarningsWorld, keep: Path, *, last_green: Path | None = None, **environ: str
) -> tuple[int, dict[str, Any], str]:
    """One run; its exit code, its report and Markdown; the job's folder copied to `keep`."""
    if last_green is not None:
        environ["NIGHTLY_LAST_GREEN"] = str(last_green / "nightly-report.json")
    lines: list[str] = []
    result = run_nightly_tests(world.settings(**environ), world.env, log=lines.append)
    assert result.report_path is not None, "\n".join(lines)
    shutil.copytree(result.report_path.parent, keep)
    report = json.loads((keep / "nightly-report.json").read_text(encoding="utf-8"))
    assert schema_problem(report) is None
    return result.exit_code, report, (keep / "nightly-report.md").read_text(encoding="utf-8")


class Tracker:
    """The reporting job on the GitHub stand-in: each run's reports, the one before as the
    last green run (an artifact of a successful run), `nightly_issue` in-process."""

    def __init__(self, server: FakeGitHub, root: Path) -> None:
        self.server, self.root, self.lines = server, root, list[str]()

    def __call__(self, run: Path, run_id: int, green: Path | None = None) -> str:
        if green is not None:
            report = (green / "nightly-report.json").read_bytes()
            self.server.add_run(
                artifacts={f"nightly-reports-{JOB}": {"nightly-report.json": report}}
            )
        folder = self.root / str(run_id)
        shutil.copytree(run, folder / f"nightly-reports-{JOB}")
        parsed = session_args("nightly_issue", [str(folder)])
        assert parsed is not None
        self.lines.clear()
        environ = {
            "GITHUB_API_URL": self.server.url, "GITHUB_TOKEN": self.server.token,
            "GITHUB_REPOSITORY": self.server.repository, "GITHUB_RUN_ID": str(run_id),
            "GITHUB_SERVER_URL": self.server.root_url, "GITHUB_EVENT_NAME": "schedule",
            "GITHUB_WORKFLOW_REF": "octo/project/.github/workflows/nightly.yml@refs/heads/main",
            "GITHUB_STEP_SUMMARY": str(self.root / f"summary-{run_id}.md"),
        }  # fmt: skip
        assert issue.run(parsed, Settings(), environ=environ, log=self.lines.append) == 0
        return "\n".join(self.lines)

    def issue(self, state: str) -> IssueRecord:
        [found] = self.server.issues(state=state, label="nightly-deprecations")
        return found


@pytest.mark.integration
def test_a_new_deprecation_is_new_then_known_then_gone_while_the_run_stays_green(
    world: WarningsWorld, tmp_path: Path, github_server: FakeGitHub
) -> None:
    runs = tmp_path / "runs"
    track = Tracker(github_server, tmp_path / "tracking")
    code, green, markdown = nightly_run(world, runs / "green")
    assert (code, green["outcome"], green["warnings"]["deprecations"]) == (0, "passed", [])
    assert "Deprecation warnings" not in markdown  # nothing to say: no section
    assert green["warnings"]["other"] == 0  # "gamma is slow": the project's filter ignores it
    assert "deprecation" not in track(runs / "green", 101)  # none raised, none open: silent

    world.publish(WARNS, deprecates=True)
    code, warned, markdown = nightly_run(world, runs / "warned", last_green=runs / "green")
    assert (code, warned["outcome"]) == (0, "passed")
    [entry] = warned["warnings"]["deprecations"]
    assert entry["new"] is True
    assert (entry["category"], entry["message"], entry["test"]) == (
        "DeprecationWarning", MESSAGE, TEST,
    )  # fmt: skip
    assert (entry["module"], entry["package"], entry["nightly"]) == ("quillmap", "gamma", True)
    assert f"| **new** | DeprecationWarning | `{MESSAGE}` | gamma (nightly) | {TEST} | 1 |" in (
        markdown
    )
    # The reporting job: the failure issue stays closed, the deprecations issue opens.
    assert "Opened issue #1" in track(runs / "warned", 102, green=runs / "green")
    opened = track.issue("open")
    assert opened.title == "Nightly dependencies raise deprecation warnings in the tests"
    row = f"| **new** | `DeprecationWarning` | `{MESSAGE}` | `gamma` (nightly) | `{TEST}` | {JOB} |"
    assert row in opened.body
    assert github_server.issues(label="nightly-failure") == []
    assert row in (tmp_path / "tracking" / "summary-102.md").read_text(encoding="utf-8")

    code, known, markdown = nightly_run(world, runs / "known", last_green=runs / "warned")
    assert code == 0
    assert [e["new"] for e in known["warnings"]["deprecations"]] == [False]
    assert "| known |" in markdown
    assert "Nothing to do: no deprecation warning came or went since issue #1" in track(
        runs / "known", 103, green=runs / "warned"
    )
    assert f"|  | `DeprecationWarning` | `{MESSAGE}` |" not in track.issue("open").body  # as before

    world.publish(GONE, deprecates=False)
    code, gone, markdown = nightly_run(world, runs / "gone", last_green=runs / "known")
    assert (code, gone["warnings"]["deprecations"]) == (0, [])
    assert [g["message"] for g in gone["warnings"]["gone"]] == [MESSAGE]
    assert f"Gone since the last green run:\n\n- DeprecationWarning: `{MESSAGE}`" in markdown
    assert "Closed issue #1" in track(runs / "gone", 104, green=runs / "known")
    closed = track.issue("closed")
    assert closed.comments[-1].startswith(
        f"No deprecation warning is raised any more in [run 104]({github_server.root_url}"
    )
    gone_line = f"- `DeprecationWarning` `{MESSAGE}` (`gamma` (nightly))"
    assert f"Gone since the last green run:\n\n{gone_line}" in closed.comments[-1]


@pytest.mark.integration
def test_new_deprecations_fail_on_request_and_warnings_become_errors_once(
    world: WarningsWorld, tmp_path: Path, github_server: FakeGitHub
) -> None:
    runs = tmp_path / "runs"
    nightly_run(world, runs / "green")
    world.publish(WARNS, deprecates=True)

    code, strict, _ = nightly_run(
        world, runs / "strict", last_green=runs / "green", NIGHTLY_FAIL_ON_NEW_DEPRECATIONS="1"
    )
    assert (code, strict["outcome"], strict["pytest"]["failed"]) == (1, "checks-failed", 0)
    assert strict["error"].startswith(
        "1 new deprecation warning(s) since the last green run (from gamma), and "
        "'fail-on-new-deprecations' is on"
    )

    code, errors, markdown = nightly_run(
        world, runs / "errors", last_green=runs / "green",
        NIGHTLY_WARNINGS_AS_ERRORS="DeprecationWarning,UserWarning",
    )  # fmt: skip
    # The UserWarning stays ignored (the project's filter wins); the deprecation fails the test.
    assert (code, errors["outcome"], errors["pytest"]["failed"]) == (1, "tests-failed", 1)
    section_ = errors["warnings"]
    assert section_["filters"] == ["error::DeprecationWarning", "error::UserWarning"]
    assert section_["deprecations"] == []  # reported as the failure, not twice
    [error] = section_["errors"]
    assert (error["test"], error["message"], error["package"]) == (TEST, MESSAGE, "gamma")
    assert "Warnings that became errors (failures above):" in markdown
    # The culprit search re-runs with the same filters, so gamma is named, not "flaky".
    assert errors["culprit"]["status"] == "found"
    assert [c["name"] for c in errors["culprit"]["culprits"]] == ["gamma"]
    # The failure issue tells this failure apart from others.
    Tracker(github_server, tmp_path / "tracking")(runs / "errors", 201, green=runs / "green")
    [failure] = github_server.issues(state="open", label="nightly-failure")
    told = (
        "**Failed because a warning became an error** (`warnings-as-errors`):\n\n"
        f"- `{TEST}`: `DeprecationWarning` `{MESSAGE}` (from `gamma`, a nightly)"
    )
    assert told in failure.body
    assert github_server.issues(label="nightly-deprecations") == []  # no warning raised as one
