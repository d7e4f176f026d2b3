from __future__ import annotations

from nightly_sessions.core.tables import text_table


def test_columns_align_and_lines_have_no_trailing_spaces() -> None:
    lines = text_table([("package", "status"), ("numpy", "nightly"), ("scipy-extra", "")])
    assert lines == ["  package      status", "  numpy        nightly", "  scipy-extra"]


def test_no_rows_no_lines() -> None:
    assert text_table([]) == []
