"""The plugin's decisions without building an env: who opts in, in each configuration
format; how the commands' end becomes the run's; which command is pytest."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nightly_sessions.nightly_tests import warnings_plugin
from nightly_sessions.tox_plugin.config import implied
from nightly_sessions.tox_plugin.steps import (
    CommandsEnd,
    job_for,
    judge_commands,
    pytest_arguments,
    pytest_environment,
)
from tox_plugin.tox_world import TOX, nightly_settings

CORPUS = Path(__file__).parents[1] / "corpus"


@pytest.mark.parametrize(
    ("name", "opted_in"),
    [
        ("nightly", True),
        ("py313-nightly", True),
        ("nightly-py313", True),
        ("py313-nightly-lean", True),
        ("py313", False),
        ("py313-nightlyish", False),
        ("devdeps", False),
        (".pkg", False),
        (None, False),
    ],
)
def test_a_nightly_factor_opts_an_env_in(name: str | None, opted_in: bool) -> None:
    assert implied(name) is opted_in


CONFIGS = {
    "tox.ini": """\
[tox]
env_list = py-nightly, py
[testenv:devdeps]
nightly = true
[testenv:py-nightly-off]
nightly = false
""",
    "tox.toml": """\
env_list = ["py-nightly", "py"]
[env.devdeps]
nightly = true
[env.py-nightly-off]
nightly = false
""",
    "pyproject.toml": """\
[tool.tox]
env_list = ["py-nightly", "py"]
[tool.tox.env.devdeps]
nightly = true
[tool.tox.env.py-nightly-off]
nightly = false
""",
}


@pytest.mark.parametrize("file_name", sorted(CONFIGS))
def test_the_setting_reads_alike_in_every_configuration_format(
    tmp_path: Path, file_name: str
) -> None:
    (tmp_path / file_name).write_text(CONFIGS[file_name], encoding="utf-8")
    envs = ["py-nightly", "py", "devdeps", "py-nightly-off"]
    # the factor, no factor, set on an env without it, set off despite it
    assert nightly_settings(tmp_path, envs) == [True, False, True, False]


def test_tox_registers_the_plugin_from_its_entry_point() -> None:
    result = subprocess.run(
        [str(TOX), "--version"], capture_output=True, text=True, check=True, timeout=120
    )
    assert "nightly_sessions/tox_plugin/plugin.py" in result.stdout.replace("\\", "/")


def modules_loaded(imports: str, prefix: str) -> list[str]:
    """The modules named `prefix` or below it that a fresh Python holds after `imports`."""
    code = (
        f"import sys, {imports}; print('\\n'.join(sorted(m for m in sys.modules "
        f"if m == {prefix!r} or m.startswith({prefix!r} + '.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout.split()


def test_importing_the_package_imports_no_tox() -> None:
    imports = "nightly_sessions, nightly_sessions.cli, nightly_sessions.tox_plugin.steps"
    assert modules_loaded(imports, "tox") == []


@pytest.mark.parametrize(
    ("end", "logged", "exit_code", "outcome", "words"),
    [
        (CommandsEnd(0), 0, 0, "passed", None),
        (CommandsEnd(1), 1, 1, "tests-failed", "(pytest exit code 1)."),
        (CommandsEnd(5), 5, 1, "not-run", "No tests ran (pytest exit code 5"),
        (CommandsEnd(4, output="error: unrecognized arguments: --x"), 4, 2, "not-run", "wrong"),
        (CommandsEnd(3), None, 1, "tests-failed", "A command of tox env e failed (exit code 3)"),
        (CommandsEnd(2), 0, 1, "tests-failed", "A command of tox env e failed (exit code 2)"),
    ],
)
def test_the_commands_end_becomes_the_runs(
    end: CommandsEnd, logged: int | None, exit_code: int, outcome: str, words: str | None
) -> None:
    verdict = judge_commands(end, logged, "e")
    assert (verdict.exit_code, verdict.outcome) == (exit_code, outcome)
    assert (verdict.message is None) if words is None else (words in str(verdict.message))


@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        (["/p/.tox/e/bin/pytest", "tests", "-x"], ["tests", "-x"]),
        (["C:\\p\\.tox\\e\\Scripts\\pytest.EXE", "tests"], ["tests"]),
        (["/p/.tox/e/bin/python", "-m", "pytest", "-k", "a"], ["-k", "a"]),
        (["/usr/bin/python3.13", "-m", "pytest"], []),
        (["/p/.tox/e/bin/python", "-c", "import pytest"], None),
        (["/usr/bin/coverage", "run", "-m", "pytest"], None),
        ([], None),
    ],
)
def test_a_pytest_command_is_recognised(command: list[str], arguments: list[str] | None) -> None:
    assert pytest_arguments(command) == arguments


def test_the_options_follow_the_users_and_survive_spaces_in_paths() -> None:
    options = ["--report-log=/my reports/log.jsonl", "-p", "nightly_sessions_warnings"]
    plugin_dir = str(warnings_plugin.PLUGIN_DIR)
    alone = pytest_environment({}, options)
    assert shlex.split(alone["PYTEST_ADDOPTS"]) == options
    assert alone["PYTHONPATH"] == plugin_dir
    theirs = pytest_environment({"PYTEST_ADDOPTS": "-p no:randomly", "PYTHONPATH": "src"}, options)
    assert shlex.split(theirs["PYTEST_ADDOPTS"]) == ["-p", "no:randomly", *options]
    assert theirs["PYTHONPATH"] == os.pathsep.join([plugin_dir, "src"])


def test_the_job_is_the_env_unless_a_ci_matrix_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIGHTLY_JOB", raising=False)
    assert job_for("py313-nightly").startswith("py313-nightly-")
    monkeypatch.setenv("NIGHTLY_JOB", "py3.13-Linux")
    assert job_for("py313-nightly") == "py3.13-Linux"


def test_a_real_devdeps_env_opts_in_with_one_factor_conditional_line(tmp_path: Path) -> None:
    """astropy's tox.ini (tests/corpus) with the migration line docs/tox.md gives: its
    devdeps envs opt in, the others stay as they were."""
    text = (CORPUS / "astropy" / "tox.ini").read_text(encoding="utf-8")
    assert text.count("\n[testenv]\n") == 1
    text = text.replace("\n[testenv]\n", "\n[testenv]\nnightly = devdeps: true\n")
    (tmp_path / "tox.ini").write_text(text, encoding="utf-8")
    envs = ["py313-test-devdeps", "py313-test-devdeps-cov", "py313-test", "py313-test-predeps"]
    assert nightly_settings(tmp_path, envs) == [True, True, False, False]


def test_tox_loads_the_plugin_without_the_run() -> None:
    """tox imports the plugin on every run; the run's modules wait for an env that opts in."""
    assert modules_loaded("nightly_sessions.tox_plugin.plugin", "nightly_sessions") == [
        "nightly_sessions", "nightly_sessions.tox_plugin", "nightly_sessions.tox_plugin.config",
        "nightly_sessions.tox_plugin.plugin",
    ]  # fmt: skip


def test_a_nightly_value_that_is_no_boolean_stops_the_env_with_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "tox.ini").write_text(
        f"[testenv:devdeps]\nbase_python = {sys.executable}\npackage = skip\nnightly = maybe\n"
        "commands = python -c \"open('ran', 'w')\"\n"
    )
    result = subprocess.run(
        [str(TOX), "--colored", "no", "run", "-e", "devdeps"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "devdeps: The tox setting 'nightly' of env devdeps is not true or false (" in output
    assert "value 'maybe' cannot be transformed to bool" in output
    assert "Traceback" not in output
    assert not (tmp_path / "ran").exists()
