from __future__ import annotations

import sys
import threading

import pytest

from nightly_sessions.core import runner
from nightly_sessions.core.errors import ToolError
from nightly_sessions.core.redact import add_secret


def test_output_is_streamed_redacted_and_kept(capfd: pytest.CaptureFixture[str]) -> None:
    add_secret("runner-secret-xyz")
    script = "print('token runner-secret-xyz'); print('http://127.0.0.1/t/abc123/simple')"
    result = runner.run([sys.executable, "-c", script], what="print things")
    out = capfd.readouterr().out
    assert "runner-secret-xyz" not in out
    assert "abc123" not in out
    assert "token ***" in result.output
    assert result.returncode == 0


def test_failure_names_what_failed_and_keeps_the_tail() -> None:
    script = "import sys; [print(i) for i in range(100)]; sys.exit(3)"
    with pytest.raises(
        ToolError, match=r"Failed to do the thing \(.* exited with code 3\)"
    ) as caught:
        runner.run([sys.executable, "-c", script], what="do the thing", echo=False)
    assert caught.value.detail is not None
    assert caught.value.detail.splitlines()[-1] == "99"
    assert len(caught.value.detail.splitlines()) == runner.TAIL_LINES
    # Not echoed, the output is nowhere on screen: the sentence carries its last line.
    assert str(caught.value).endswith("exited with code 3); it ended with: 99.")


def test_a_failure_on_screen_points_above(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ToolError) as caught:
        runner.run([sys.executable, "-c", "print('why'); raise SystemExit(2)"], what="run it")
    assert str(caught.value).endswith("exited with code 2); its output is above.")
    assert "why" in capfd.readouterr().out


def test_missing_program_is_a_sentence() -> None:
    with pytest.raises(ToolError, match="Could not start no-such-program-here to run it"):
        runner.run(["no-such-program-here"], what="run it")


def test_environment_overrides_can_remove_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIGHTLY_TEST_VAR", "present")
    env = runner.merged_environment({"NIGHTLY_TEST_VAR": None, "OTHER": "x"})
    assert "NIGHTLY_TEST_VAR" not in env
    assert env["OTHER"] == "x"


def test_failure_message_is_redacted() -> None:
    what = "install x from http://127.0.0.1:1/t/runner-tok-55/simple"
    with pytest.raises(ToolError) as caught:
        runner.run([sys.executable, "-c", "raise SystemExit(1)"], what=what, echo=False)
    assert "runner-tok-55" not in str(caught.value)
    with pytest.raises(ToolError) as caught:
        runner.run(["no-such-program-here"], what=what)
    assert "runner-tok-55" not in str(caught.value)


def test_in_background_runs_in_a_thread_of_its_own_and_hands_back_errors() -> None:
    names: list[str] = []

    def record() -> str:
        names.append(threading.current_thread().name)
        return "done"

    def fail() -> str:
        raise ToolError("Could not start x to do y.")

    assert runner.in_background("probe", record).result(timeout=10) == "done"
    assert names[0].startswith("probe")
    with pytest.raises(ToolError, match="Could not start x"):
        runner.in_background("check", fail).result(timeout=10)
