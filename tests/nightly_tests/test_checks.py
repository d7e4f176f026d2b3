"""Other checks against the nightlies: the setting, the choice, the run, the report, the issue."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from nightly_world import World

from nightly_sessions.core.artifacts import REPORT_MARKDOWN_NAME, REPORT_NAME
from nightly_sessions.core.config import Check, Settings, load_settings
from nightly_sessions.core.environment import Environment
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.posargs import session_args
from nightly_sessions.core.pyproject import read_project
from nightly_sessions.core.run_report import load_report, schema_problem
from nightly_sessions.nightly_tests import checks
from nightly_sessions.nightly_tests.checks import CheckResult, PreparedCheck
from nightly_sessions.nightly_tests.plan import InstallPlan
from nightly_sessions.nightly_tests.report import render_markdown
from nightly_sessions.nightly_tests.run import PytestEnd, with_checks
from nightly_sessions.nightly_tests.verify import PackageVersion, VersionReport
from nightly_sessions.testing.github import FakeGitHub
from nightly_sessions.testing.pypi import PypiServer
from nightly_sessions.tracking import decisions, issue, issue_body
from nightly_sessions.tracking.job_reports import JobReport
from nightly_tests.checks_world import ALPHA_NIGHTLY, build_checks_world, new_venv, run_cli

MYPY = Check("mypy", ("mypy", "src"), requires=("mypy",))
DOCS = Check("docs", ("sphinx-build", "docs", "out"), groups=("docs",))


def write_settings(folder: Path, table: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\n\n[dependency-groups]\n'
        'docs = ["sphinx>=8", "demo[plot]"]\n\n' + table,
        encoding="utf-8",
    )
    return folder


# The setting.


def test_checks_read_from_pyproject_in_both_forms(tmp_path: Path) -> None:
    root = write_settings(
        tmp_path,
        '[tool.nightly-sessions.checks]\napi = ["python", "tools/check.py"]\n\n'
        "[tool.nightly-sessions.checks.mypy]\ncommand = \"mypy src --config-file 'my file.ini'\"\n"
        'requires = ["mypy>=1.10"]\ngroups = ["Docs"]\n',
    )
    assert load_settings(root, environ={}).checks == (
        Check("api", ("python", "tools/check.py")),
        Check("mypy", ("mypy", "src", "--config-file", "my file.ini"), ("mypy>=1.10",), ("docs",)),
    )


@pytest.mark.parametrize(
    ("table", "sentence"),
    [
        ('checks = "mypy"', "is 'mypy', but it must be a table of named checks"),
        ('checks = { "My Check" = "mypy" }', "the check name 'My Check' is not lowercase"),
        ('checks = { mypy = "mypy \'src" }', "the command of check 'mypy' cannot be split"),
        ('checks = { mypy = "" }', "check 'mypy' has no command"),
        ('checks = { mypy = ["mypy", ""] }', "check 'mypy' has no command"),
        ('checks = { mypy = { requires = ["mypy"] } }', "check 'mypy' has no command"),
        ('checks = { mypy = { command = "mypy", require = [] } }', "unknown field 'require'"),
        (
            'checks = { mypy = { command = "mypy", requires = "mypy" } }',
            "not a list of requirements",
        ),
        ('checks = { mypy = { command = "m", requires = ["my py"] } }', "'my py' in the requires"),
        (
            'checks = { mypy = { command = "mypy", groups = [1] } }',
            "not a list of dependency group",
        ),
    ],
)
def test_bad_checks_are_one_sentence(tmp_path: Path, table: str, sentence: str) -> None:
    root = write_settings(tmp_path, f"[tool.nightly-sessions]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(root, environ={})
    message = str(caught.value)
    assert sentence in message
    assert message.startswith("Setting 'checks' in [tool.nightly-sessions] of ")
    assert message.count(". ") == 0
    assert message.endswith(".")


# Which checks run.


def test_all_checks_run_unless_picked_or_switched_off() -> None:
    defined = (MYPY, DOCS)
    assert checks.select(defined, [], none=False) == defined
    assert checks.select(defined, ["docs"], none=False) == (DOCS,)
    assert checks.select(defined, ["docs", "mypy"], none=False) == defined  # the setting's order
    assert checks.select(defined, [], none=True) == ()


@pytest.mark.parametrize(
    ("defined", "names", "none", "sentence"),
    [
        ((MYPY, DOCS), ["mpy"], False, "--check mpy names no check in the 'checks' setting; did you mean 'mypy'?"),
        ((MYPY, DOCS), ["lint"], False, "--check lint names no check in the 'checks' setting; defined: docs, mypy."),
        ((), ["mypy"], False, "--check mypy: no check is defined; add [tool.nightly-sessions.checks.mypy]"),
        ((MYPY,), ["mypy"], True, "The command line is wrong: --no-checks and --check exclude each other; give one."),
    ],
)  # fmt: skip
def test_a_bad_choice_is_one_sentence(
    defined: tuple[Check, ...], names: list[str], none: bool, sentence: str
) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(sentence)):
        checks.select(defined, names, none=none)


def test_the_session_takes_check_options_before_pytests_arguments() -> None:
    args = session_args("nightly_tests", ["--check", "mypy", "--check", "docs", "--", "-x"])
    assert args is not None
    assert (args.check, args.no_checks, args.passthrough) == (["mypy", "docs"], False, ["-x"])


# What a check installs.


def plan_for(root: Path, extras: tuple[str, ...] = ("test",)) -> InstallPlan:
    return InstallPlan(
        project_root=root, project_name="demo", extras=extras, groups=(), group_requirements=(),
        nightly_index_url="http://127.0.0.1:1/simple", base_index_url="http://127.0.0.1:2/simple",
        python="3.12", packages=(),
    )  # fmt: skip


def test_a_group_on_the_project_itself_installs_it_from_its_folder(tmp_path: Path) -> None:
    root = write_settings(tmp_path, "")
    check = Check("docs", ("sphinx-build",), requires=("furo",), groups=("docs",))
    found = checks.requirements_for(check, read_project(root), plan_for(root))
    assert found == ("furo", "sphinx>=8", f"{root}[plot,test]")


def test_a_group_the_project_lacks_stops_before_the_install(tmp_path: Path) -> None:
    root = write_settings(tmp_path, "")
    with pytest.raises(ConfigError) as caught:
        checks.prepare((Check("types", ("mypy",), groups=("typing",)),), plan_for(root))
    assert str(caught.value) == (
        f"Check 'types' names dependency group 'typing', which {root / 'pyproject.toml'} does "
        "not define (defined: docs); fix the check's groups."
    )


def version(name: str, installed: str | None) -> PackageVersion:
    return PackageVersion(name, "nightly", installed, "2.0.dev0", "nightly", False)


def test_a_planned_package_an_install_changed_is_named() -> None:
    before = VersionReport((version("alpha", "2.0.dev0"), version("beta", None)))
    held = checks.held_versions(before)
    assert held == {"alpha": "2.0.dev0"}  # nothing to hold of what is not installed
    assert checks.changed_packages(held, before) == []
    after = VersionReport((version("alpha", "1.9"), version("beta", "1.0")))
    assert checks.changed_packages(held, after) == ["alpha 2.0.dev0 -> 1.9"]
    assert checks.changed_packages(held, VersionReport(())) == ["alpha 2.0.dev0 -> absent"]


def run_commands(root: Path, *commands: tuple[str, ...]) -> list[CheckResult]:
    """Run checks without requirements in this interpreter's environment."""
    env = Environment(Path(sys.executable), "pip")
    prepared = [PreparedCheck(Check(f"c{i}", command), ()) for i, command in enumerate(commands)]
    return checks.run_checks(prepared, env, plan_for(root), VersionReport(()), log=lambda _: None)


def test_a_check_runs_in_the_project_root_and_its_output_is_redacted(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(
        "import os, sys\nprint(os.getcwd())\nprint('https://user:s3cr3t@127.0.0.1/simple')\n"
        "sys.exit(3)\n",
        encoding="utf-8",
    )
    [ran] = run_commands(tmp_path, ("python", "probe.py"))
    assert (ran.outcome, ran.exit_code) == ("failed", 3)
    assert ran.output_tail is not None
    assert str(tmp_path) in ran.output_tail
    assert "s3cr3t" not in json.dumps(ran.to_dict())
    assert "https://***@127.0.0.1/simple" in ran.output_tail


def test_a_command_found_nowhere_does_not_run_and_the_next_check_still_runs(
    tmp_path: Path,
) -> None:
    missing, ran = run_commands(tmp_path, ("no-such-tool-x1", "src"), ("python", "-c", "pass"))
    assert (missing.outcome, missing.exit_code) == ("not-run", None)
    assert missing.problem == (
        "'no-such-tool-x1' is neither in the nightly environment nor on PATH; add the package "
        "that provides it to the check's requires"
    )
    assert (ran.outcome, ran.exit_code) == ("passed", 0)


# How the run ends.

PASSED = PytestEnd(0, "passed", None)
FAILED = PytestEnd(
    1, "tests-failed", "The tests failed against the nightlies (pytest exit code 1)."
)


def result(name: str, outcome: checks.CheckOutcome) -> CheckResult:
    return CheckResult(name, (name,), outcome, exit_code=None if outcome == "not-run" else 1)


def test_a_failing_check_fails_a_run_whose_tests_passed() -> None:
    assert with_checks(PASSED, [result("mypy", "passed")]) == PASSED
    end = with_checks(PASSED, [result("mypy", "failed"), result("docs", "passed")])
    assert (end.exit_code, end.outcome) == (1, "checks-failed")
    assert end.message == (
        "The tests passed, but check 'mypy' failed against the nightlies; its last lines are "
        "above and in the report."
    )
    several = [result("mypy", "failed"), result("api", "failed"), result("docs", "not-run")]
    assert with_checks(PASSED, several).message == (
        "The tests passed, but checks 'mypy' and 'api' failed against the nightlies and check "
        "'docs' could not run; its last lines are above and in the report."
    )


def test_failing_tests_keep_their_code_and_name_the_check_too() -> None:
    end = with_checks(FAILED, [result("mypy", "failed")])
    assert (end.exit_code, end.outcome) == (1, "tests-failed")
    assert end.message == (
        "The tests failed against the nightlies (pytest exit code 1). Also, check 'mypy' "
        "failed against the nightlies."
    )


# The report.


def report_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": 2, "project": "demo", "job": "py3.12-Linux", "python": "3.12",
        "platform": "linux-x86_64", "stage": "tests", "nightly_index": "http://127.0.0.1:1/simple",
        "outcome": "checks-failed", "packages": [], "repairs": [],
        "pytest": {"exit_code": 0, "report_log": "pytest-log.jsonl", "passed": 3, "failed": 0,
                   "errors": 0, "skipped": 0},
        "checks": [
            CheckResult("mypy", ("mypy", "src"), "failed", 1, 4.2, "src/demo.py:3: error: ```x").to_dict(),
            CheckResult("docs", ("sphinx-build", "docs"), "passed", 0, 9.0).to_dict(),
        ],
    }  # fmt: skip
    data.update(changes)
    return data


def test_the_markdown_shows_each_check_and_a_failures_last_lines() -> None:
    markdown = render_markdown(report_data())
    assert "## Nightly tests: demo, py3.12-Linux: tests passed, checks failed" in markdown
    assert "| mypy | `mypy src` | failed (exit code 1) | 4.2 |" in markdown
    assert "| docs | `sphinx-build docs` | passed | 9.0 |" in markdown
    assert "<details><summary>Last lines of mypy</summary>" in markdown
    assert "````\nsrc/demo.py:3: error: ```x\n````" in markdown  # its fence outlasts the text
    assert "Last lines of docs" not in markdown


@pytest.mark.parametrize(
    "entries",
    [[{"name": "mypy", "outcome": "broken", "command": []}], [{"outcome": "passed"}], ["mypy"]],
)
def test_a_damaged_checks_entry_is_a_sentence(entries: list[Any]) -> None:
    assert schema_problem(report_data(checks=entries)) == (
        "an entry of 'checks' is not a table with a name, an outcome and a command"
    )
    assert schema_problem(report_data(checks=None)) is None  # an older report has none


def test_a_check_that_starts_failing_is_a_new_failure() -> None:
    passing = report_data(outcome="passed", checks=[report_data()["checks"][1]])
    failing = report_data()
    before = decisions.failure_state([JobReport("py3.12-Linux", data=passing)])
    after = decisions.failure_state([JobReport("py3.12-Linux", data=failing)])
    assert before.count == 0
    assert after.count == 2  # the job's outcome and the check
    assert not after.keys <= before.keys


def test_the_issue_gives_a_failing_check_its_own_entry_apart_from_failing_tests() -> None:
    only_checks = JobReport("py3.12-Linux", data=report_data())
    body = issue_body.render_body([only_checks], decisions.RunInfo())
    assert "## Nightly checks failed" in body
    assert (
        "| `py3.12-Linux` | `3.12` | `Linux` | tests passed (3 passed); check failed: `mypy` |"
        in body
    )
    assert "The tests passed (3 passed); other checks did not." in body
    assert (
        "**Check `mypy` failed against the nightlies** (`mypy src`, exit code 1). Its last "
        "lines:\n\n````text\nsrc/demo.py:3: error: ```x\n````" in body
    )
    not_run = CheckResult("docs", ("sphinx-build",), "not-run", problem="no @octocat here")
    both = report_data(outcome="tests-failed", checks=[not_run.to_dict()])
    body = issue_body.render_body([JobReport("py3.12-Linux", data=both)], decisions.RunInfo())
    assert "## Nightly tests failed" in body
    assert "**Check `docs` could not run** (`sphinx-build`): `no @octocat here`." in body


def test_a_run_that_failed_after_passing_tests_without_a_failed_check_says_why() -> None:
    data = report_data(checks=[], error="2 new deprecation warning(s) since the last green run.")
    body = issue_body.render_body([JobReport("py3.12-Linux", data=data)], decisions.RunInfo())
    assert "| tests passed (3 passed); failed after the tests |" in body
    assert (
        "The tests passed (3 passed), but the run failed after them:\n\n```text\n2 new "
        "deprecation warning(s) since the last green run.\n```" in body
    )


def test_register_passes_checks_like_the_table(tmp_path: Path) -> None:
    root = write_settings(tmp_path, "")
    settings = load_settings(root, {"checks": {"mypy": {"command": ["mypy", "src"]}}}, {})
    assert settings.checks == (Check("mypy", ("mypy", "src")),)


# End to end: `python -m nightly_sessions run` on real loopback indexes, then the issue.


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> World:
    return build_checks_world(tmp_path, base_index, nightly_index)


def read_job(world: World) -> tuple[dict[str, Any], str]:
    folder = world.project / "nightly-reports" / "py-checks"
    data, problem = load_report(folder / REPORT_NAME)
    assert data is not None, problem
    return data, (folder / REPORT_MARKDOWN_NAME).read_text(encoding="utf-8")


@pytest.mark.integration
def test_a_check_failing_against_a_nightly_fails_the_run_and_reaches_the_issue(
    world: World, tmp_path: Path, github_server: FakeGitHub
) -> None:
    python = new_venv(tmp_path / "venv")
    summary = tmp_path / "summary.md"
    run = run_cli(world, python, GITHUB_STEP_SUMMARY=str(summary))
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.strip() == (
        "nightly-sessions: The tests passed, but check 'contract' failed against the "
        "nightlies; its last lines are above and in the report."
    )
    assert "Traceback" not in run.stderr
    data, markdown = read_job(world)
    assert data["outcome"] == "checks-failed"
    assert data["pytest"]["passed"] == 1
    contract, api = data["checks"]
    assert contract["command"] == ["python", "tools/check_contract.py"]
    assert (contract["outcome"], contract["exit_code"]) == ("failed", 1)
    assert f"alpha {ALPHA_NIGHTLY}: mean([1, 2]) = 1" in contract["output_tail"]
    assert (api["name"], api["outcome"], api["exit_code"]) == ("api", "passed", 0)
    assert "2 of 2 names found" in api["output_tail"]  # the group's console script ran
    assert [p["status"] for p in data["packages"]] == ["nightly"]  # the checks kept it
    assert "| contract | `python tools/check_contract.py` | failed (exit code 1) |" in markdown
    assert "### Other checks" in summary.read_text(encoding="utf-8")

    github = github_server
    parsed = session_args("nightly_issue", [str(world.project / "nightly-reports")])
    assert parsed is not None
    environ = {
        "GITHUB_API_URL": github.url, "GITHUB_TOKEN": github.token,
        "GITHUB_REPOSITORY": github.repository, "GITHUB_SERVER_URL": github.root_url,
        "GITHUB_RUN_ID": "41",
    }  # fmt: skip
    assert issue.run(parsed, Settings(), environ=environ, sleep=lambda _: None, log=print) == 0
    [opened] = github.issues(state="open", label="nightly-failure")
    assert "## Nightly checks failed\n\nThe tests passed, but other checks failed" in opened.body
    assert "| `py-checks` | " in opened.body
    assert "tests passed (1 passed); check failed: `contract`" in opened.body
    assert (
        "**Check `contract` failed against the nightlies** "
        "(`python tools/check_contract.py`, exit code 1). Its last lines:" in opened.body
    )
    assert "AssertionError: alpha.mean([1, 2]) should be 1.5, got 1" in opened.body
    assert "Check `api`" not in opened.body


@pytest.mark.integration
def test_picked_checks_alone_run_and_no_checks_runs_none(world: World, tmp_path: Path) -> None:
    python = new_venv(tmp_path / "venv")
    picked = run_cli(world, python, "--check", "api", "--", "-q")
    assert picked.returncode == 0, picked.stdout + picked.stderr
    data, _ = read_job(world)
    assert (data["outcome"], [c["name"] for c in data["checks"]]) == ("passed", ["api"])
    none = run_cli(world, python, "--no-checks")
    assert none.returncode == 0, none.stdout + none.stderr
    data, markdown = read_job(world)
    assert (data["outcome"], data["checks"]) == ("passed", [])
    assert "Other checks" not in markdown


@pytest.mark.integration
@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_a_checks_install_keeps_the_nightlies_or_does_not_run(
    world: World, tmp_path: Path, installer: str
) -> None:
    from nightly_sessions.testing.wheelhouse import make_wheel

    make_wheel(world.base.directory, "alphaplugin", "1.0", requires=["alpha>=1"])
    with (world.project / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write(
            '\n[tool.nightly-sessions.checks.plugin]\nrequires = ["alphaplugin"]\n'
            'command = ["python", "-c", "import alpha, alphaplugin; print(\'on\', alpha.__version__)"]\n'
            '\n[tool.nightly-sessions.checks.old]\ncommand = "python -c pass"\n'
            'requires = ["alpha<2"]\n'
        )
    python = new_venv(tmp_path / "venv", pip=installer == "pip")
    run = run_cli(world, python, "--check", "plugin", "--check", "old", NIGHTLY_INSTALLER=installer)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.strip().endswith("but check 'old' could not run; its last lines are "
                                       "above and in the report.")  # fmt: skip
    data, markdown = read_job(world)
    plugin, old = data["checks"]
    assert plugin["outcome"] == "passed"
    assert f"on {ALPHA_NIGHTLY}" in plugin["output_tail"]  # its dependency kept the nightly
    assert (old["outcome"], old["exit_code"]) == ("not-run", None)
    assert old["problem"].startswith("its requirements (alpha<2) could not be installed")
    assert "alpha" in old["output_tail"]  # the installer's own explanation
    assert "`old` did not run: its requirements (alpha<2)" in markdown
    assert [p["installed"] for p in data["packages"]] == [ALPHA_NIGHTLY]


def test_report_round_trip_keeps_the_checks(tmp_path: Path) -> None:
    path = tmp_path / REPORT_NAME
    path.write_text(json.dumps(report_data()), encoding="utf-8")
    data, problem = load_report(path)
    assert problem is None
    assert data is not None
    assert [c["outcome"] for c in data["checks"]] == ["failed", "passed"]
