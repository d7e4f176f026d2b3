"""The files the jobs leave for each other, by name: one owner for each contract.

`nightly_tests` writes a report folder per job, `nightly_freshness` its own report, and
`nightly_issue` reads them back from downloaded artifacts; all three use these names.
"""

from __future__ import annotations

from pathlib import Path

REPORT_NAME = "nightly-report.json"  # the run's report (schema in report.py)
REPORT_MARKDOWN_NAME = "nightly-report.md"
REPORT_LOG_NAME = "pytest-log.jsonl"  # pytest-reportlog's output, beside the report
FRESHNESS_NAME = "freshness-report.json"  # written by `freshness`; a job of kind "freshness"


def find_reports(folder: Path) -> list[Path]:
    """Every run report below `folder`, in a stable order; none when it is not a folder."""
    return sorted(folder.rglob(REPORT_NAME)) if folder.is_dir() else []
