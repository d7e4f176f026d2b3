"""The files the jobs leave for each other, by name: one owner for each contract.

`nightly_tests` writes a report folder per job, `nightly_freshness` and `nightly_token`
their own reports, and `nightly_issue` reads them back from downloaded artifacts; all of
them use these names.
"""

from __future__ import annotations

from pathlib import Path

REPORT_NAME = "nightly-report.json"  # the run's report (schema in report.py)
REPORT_MARKDOWN_NAME = "nightly-report.md"
REPORT_LOG_NAME = "pytest-log.jsonl"  # pytest-reportlog's output, beside the report
FRESHNESS_NAME = "freshness-report.json"  # written by `freshness`; a job of kind "freshness"
# Written by `token` (and `upload`); `issue --workflow-run` reads it. A file name, no secret.
TOKEN_NAME = "token-report.json"  # noqa: S105


def find_reports(folder: Path) -> list[Path]:
    """Every run report below `folder`, in a stable order; none when it is not a folder."""
    return sorted(folder.rglob(REPORT_NAME)) if folder.is_dir() else []
