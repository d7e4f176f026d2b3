"""`python -m nightly_sessions ...`: the same work without nox."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nightly_world import NEWEST_NIGHTLY, World, build_world

from nightly_sessions import cli
from nightly_sessions.cli import main
from nightly_sessions.core import artifacts, run_report
from nightly_sessions.core.commands import Entry
from nightly_sessions.core.config import load_settings
from nightly_sessions.core.posargs import session_args
from nightly_sessions.nightly_tests import commands as nightly_commands
from nightly_sessions.testing.pypi import PypiServer, free_port
from nightly_sessions.tracking import issue


@pytest.fixture
def world(tmp_path: Path, base_index: PypiServer, nightly_index: PypiServer) -> World:
    return build_world(tmp_path, base_index, nightly_index)


def new_venv(tmp_path: Path) -> Path:
    """An empty virtual environment; its interpreter."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "uv", "venv", "-q", str(venv)], check=True)
    return venv / "bin" / "python"


def use_world(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIGHTLY_INDEX_URL", world.nightly.url)
    monkeypatch.setenv("NIGHTLY_BASE_INDEX_URL", world.base.url)


def test_plan_as_json(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_world(world, monkeypatch)
    assert (
        main(["--project", str(world.project), "plan", "--json", "--python-version", "3.12"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["python"] == "3.12"
    assert data["packages"][0]["newest_nightly"] == NEWEST_NIGHTLY


@pytest.mark.integration
def test_run_then_verify_then_report(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_world(world, monkeypatch)
    python = new_venv(tmp_path)
    project = ["--project", str(world.project)]
    assert (
        main([*project, "run", "--python", str(python), "--", "-q", "-p", "no:cacheprovider"]) == 0
    )
    assert main([*project, "verify", "--python", str(python)]) == 0
    capsys.readouterr()
    assert main([*project, "report"]) == 0
    assert f"| `tinyarray` | `{NEWEST_NIGHTLY}` |" in capsys.readouterr().out


def test_verify_fails_with_exit_4_for_a_release(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_world(world, monkeypatch)
    monkeypatch.setenv("NIGHTLY_PACKAGES", "packaging")  # installed here, but not a nightly
    monkeypatch.setenv("NIGHTLY_ALLOW_MISSING", "")
    code = main(["--project", str(world.project), "verify"])
    assert code == 4
    assert "packaging is" in capsys.readouterr().err


def test_malformed_pyproject_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    assert main(["--project", str(tmp_path), "plan"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nightly-sessions: ")
    assert "is not valid TOML" in err
    assert "Traceback" not in err


def test_unreachable_index_exits_3_and_redacts(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "NIGHTLY_INDEX_URL", f"http://127.0.0.1:{free_port()}/t/secret-tok-42/chan/simple"
    )
    monkeypatch.setenv("NIGHTLY_RETRIES", "0")
    assert main(["--project", str(world.project), "plan"]) == 3
    err = capsys.readouterr().err
    assert "/t/***/chan/simple" in err
    assert "secret-tok-42" not in err


def test_verbose_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n", encoding="utf-8")
    assert main(["--verbose", "--project", str(tmp_path), "plan"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_report_of_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(tmp_path), "report"]) == 2
    assert "No nightly-report.json under" in capsys.readouterr().err


def test_verbose_traceback_is_redacted_too(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "NIGHTLY_INDEX_URL", f"http://127.0.0.1:{free_port()}/t/verbose-tok-77/simple"
    )
    monkeypatch.setenv("NIGHTLY_RETRIES", "0")
    assert main(["--verbose", "--project", str(world.project), "plan"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "verbose-tok-77" not in err


def test_missing_project_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--project", str(tmp_path / "nowhere"), "plan"]) == 2
    assert "No pyproject.toml in" in capsys.readouterr().err


@pytest.mark.integration
def test_unwritable_report_folder_keeps_the_runs_own_failure(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_world(world, monkeypatch)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the report folder should go")
    monkeypatch.setenv("NIGHTLY_REPORT_DIR", str(blocker))
    monkeypatch.setenv("NIGHTLY_BASE_INDEX_URL", f"http://127.0.0.1:{free_port()}/simple")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    python = new_venv(tmp_path)
    code = main(["--project", str(world.project), "run", "--python", str(python)])
    captured = capsys.readouterr()
    assert code == 5  # the install failure, not the report's
    assert "Failed to install the project" in captured.err
    assert "Cannot write the report into" in captured.out


def test_an_unexplained_os_error_is_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    def broken(call: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr(nightly_commands, "PLAN", Entry(lambda parser: None, broken))
    assert main(["--project", str(tmp_path), "plan"]) == 2
    err = capsys.readouterr().err
    assert f"Could not use {tmp_path / 'locked'}: Permission denied" in err
    assert "Traceback" not in err


def test_verify_names_the_channel_for_a_misspelt_package(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_world(world, monkeypatch)
    monkeypatch.setenv("NIGHTLY_PACKAGES", "tinyaray")
    assert main(["--project", str(world.project), "verify"]) == 4
    out, err = capsys.readouterr()
    assert "tinyaray  -          -               missing" in out
    assert "tinyaray is absent (the channel has no wheel of it for this platform)" in err
    assert (
        f"The nightly index {world.nightly.url} has no wheel of tinyaray at all: check the "
        "spelling of the name, or add it to 'allow-missing'"
    ) in err


def test_plan_warns_about_a_misspelt_package_and_exits_0(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_world(world, monkeypatch)
    monkeypatch.setenv("NIGHTLY_PACKAGES", "tinyarray,tinyaray")
    assert main(["--project", str(world.project), "plan"]) == 0
    assert (
        f"Warning: The nightly index {world.nightly.url} has no wheel of tinyaray at all"
        in capsys.readouterr().out
    )


def test_verify_follows_strict(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_world(world, monkeypatch)
    monkeypatch.setenv("NIGHTLY_PACKAGES", "packaging")  # installed here, but not a nightly
    monkeypatch.setenv("NIGHTLY_STRICT", "false")
    assert main(["--project", str(world.project), "verify"]) == 0
    assert "packaging" in capsys.readouterr().out  # the table is still printed


@pytest.mark.parametrize("command", ["verify", "run", "build"])
def test_a_python_that_does_not_exist_is_bad_input(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    missing = tmp_path / "nonexistent" / "python"
    assert main(["--project", str(tmp_path), command, "--python", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"nightly-sessions: --python {missing} does not exist; give the interpreter of the "
        "environment to use, e.g. .venv/bin/python.\n"
    )


def test_installer_auto_without_uv_is_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uv", None)
    monkeypatch.setenv("PATH", str(tmp_path))
    args = argparse.Namespace(python=Path(sys.executable), installer=None)
    env = cli._environment(args, load_settings(tmp_path, environ={}))
    assert env.installer == "pip"
    args.installer = "uv"
    assert cli._environment(args, load_settings(tmp_path, environ={})).installer == "uv"


def test_plan_covers_each_configured_python(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_world(world, monkeypatch)
    pyproject = world.project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'python = ["3.12", "3.13"]\n')
    assert main(["--project", str(world.project), "plan"]) == 0
    out = capsys.readouterr().out
    assert "on Python 3.12" in out
    assert "on Python 3.13" in out
    assert main(["--project", str(world.project), "plan", "--json"]) == 0
    assert [plan["python"] for plan in json.loads(capsys.readouterr().out)] == ["3.12", "3.13"]


def test_a_token_at_the_end_of_a_bad_url_is_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NIGHTLY_INDEX_URL", "htp://x/t/sekrit-TOKEN-123")
    assert main(["--project", str(tmp_path), "plan"]) == 2
    err = capsys.readouterr().err
    assert "'htp://x/t/***'" in err
    assert "sekrit-TOKEN-123" not in err


@pytest.mark.integration
@pytest.mark.parametrize(
    ("pytest_args", "code", "pytest_code", "sentence"),
    [
        (["--bogus-flag"], 2, 4, "The pytest arguments are wrong: pytest refused them"),
        (["-k", "nomatch"], 1, 5, "No tests ran (pytest exit code 5: none collected)"),
    ],
)
def test_pytest_codes_that_collide_with_ours_are_translated(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pytest_args: list[str],
    code: int,
    pytest_code: int,
    sentence: str,
) -> None:
    use_world(world, monkeypatch)
    python = new_venv(tmp_path)
    project = ["--project", str(world.project)]
    assert main([*project, "run", "--python", str(python), "--", *pytest_args]) == code
    assert capsys.readouterr().err.startswith(f"nightly-sessions: {sentence}")
    [path] = artifacts.find_reports(world.project / "nightly-reports")
    data = run_report.read_report(path)  # still a valid schema-1 report
    assert (data["outcome"], data["stage"]) == ("not-run", "tests")
    assert data["pytest"]["exit_code"] == pytest_code
    assert data["error"].startswith(sentence)
    lines: list[str] = []
    parsed = session_args("nightly_issue", [str(path.parent.parent), "--dry-run", "--no-compare"])
    assert parsed is not None
    assert issue.run(parsed, load_settings(world.project), environ={}, log=lines.append) == 0
    assert "The tests never ran: the `tests` step failed." in lines[0]
    assert sentence in lines[0]


def test_a_bad_command_line_is_one_redacted_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["upload", "--jobs", "https://user:cli-tok-9@127.0.0.1:1/"])
    assert stopped.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == (
        "nightly-sessions: The command line is wrong: argument --jobs: invalid int value: "
        "'https://***@127.0.0.1:1/'; see `python -m nightly_sessions upload --help`."
    )
