"""The step summary: appended, redacted, and never fatal."""

from __future__ import annotations

from pathlib import Path

from nightly_sessions.core.redact import add_secret
from nightly_sessions.core.step_summary import append_step_summary, notice


def test_appends_redacted_markdown_ending_in_a_newline(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n")
    add_secret("summary-secret-9Tq")
    logged: list[str] = []
    environ = {"GITHUB_STEP_SUMMARY": str(summary)}
    append_step_summary("| a | summary-secret-9Tq |", environ, logged.append)
    append_step_summary("### Next\n", environ, logged.append)
    assert summary.read_text() == "# Earlier step\n| a | *** |\n### Next\n"
    assert logged == []


def test_without_the_variable_nothing_is_written(tmp_path: Path) -> None:
    logged: list[str] = []
    append_step_summary("text", {}, logged.append)
    append_step_summary("text", {"GITHUB_STEP_SUMMARY": ""}, logged.append)
    assert logged == []
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_summary_is_one_warning(tmp_path: Path) -> None:
    logged: list[str] = []
    append_step_summary("text", {"GITHUB_STEP_SUMMARY": str(tmp_path)}, logged.append)
    [line] = logged
    assert line.startswith(f"warning: could not write the step summary {tmp_path} (")
    assert line.endswith("the summary was left out and the step goes on.")


def test_a_notice_is_an_annotation_on_github_actions_and_a_line_elsewhere() -> None:
    on_actions = notice("Left x.yml disabled.", "Workflow not enabled", {"GITHUB_ACTIONS": "true"})
    assert on_actions == "::notice title=Workflow not enabled::Left x.yml disabled."
    assert notice("Left x.yml disabled.", "Workflow not enabled", {}) == (
        "notice: Left x.yml disabled."
    )
