"""Reading the job reports: every job, a missing or broken report counting as failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.tracking import decisions as tracking
from nightly_sessions.tracking import job_reports


def test_load_jobs_reads_every_report(reports: Path) -> None:
    jobs = job_reports.load_jobs(reports)
    assert [(j.job, j.outcome, j.python, j.os) for j in jobs] == [
        ("py3.11-Linux", "passed", "3.11", "Linux"),
        ("py3.12-Linux", "tests-failed", "3.12", "Linux"),
        ("py3.13-Linux", "tests-failed", "3.13", "Linux"),
    ]
    assert jobs[1].log is not None
    assert jobs[1].log.failed == 5


def test_missing_and_broken_reports_count_as_failing(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    (root / "nightly-reports-py3.12-Windows").mkdir(parents=True)  # uploaded, but no report
    broken = root / "nightly-reports-py3.10-Linux"
    broken.mkdir()
    (broken / "nightly-report.json").write_text("{not json")
    other = root / "nightly-reports-py3.9-Linux"
    other.mkdir()
    (other / "nightly-report.json").write_text(json.dumps({"schema": 99}))
    jobs = {j.job: j for j in job_reports.load_jobs(root, ["py3.13-macOS", "py3.12-Windows"])}
    assert {name: j.outcome for name, j in jobs.items()} == dict.fromkeys(
        ["py3.10-Linux", "py3.12-Windows", "py3.13-macOS", "py3.9-Linux"], "absent"
    )
    assert (
        jobs["py3.10-Linux"].problem == "nightly-report.json is unreadable (it is not valid JSON)"
    )
    assert (
        jobs["py3.12-Windows"].problem
        == "the artifact nightly-reports-py3.12-Windows holds no nightly-report.json"
    )
    assert jobs["py3.13-macOS"].problem == "no report was uploaded for this job"
    assert (
        jobs["py3.9-Linux"].problem
        == "nightly-report.json is not a nightly report of schema 1, 2 or 3"
    )
    assert (jobs["py3.13-macOS"].python, jobs["py3.13-macOS"].os) == ("3.13", "macOS")
    assert tracking.is_failing(list(jobs.values()), None)


def test_a_file_instead_of_a_folder_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match=r"is not a folder; give the folder"):
        job_reports.load_jobs(tmp_path / "file")


def test_the_culprit_section_is_read_from_schema_2_reports_only_when_it_is_a_table(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "reports" / "py3.13-Linux"
    folder.mkdir(parents=True)
    report = {
        "schema": 2, "job": "py3.13-Linux", "python": "3.13", "platform": "linux-x86_64",
        "stage": "tests", "outcome": "tests-failed", "nightly_index": "http://127.0.0.1:1/simple",
        "packages": [], "repairs": [], "culprit": {"status": "flaky", "verdict": ["Flaky: x."]},
    }  # fmt: skip
    (folder / "nightly-report.json").write_text(json.dumps(report), encoding="utf-8")
    [job] = job_reports.load_jobs(tmp_path / "reports")
    assert job.culprit == {"status": "flaky", "verdict": ["Flaky: x."]}
    (folder / "nightly-report.json").write_text(
        json.dumps({**report, "schema": 1, "culprit": None}), encoding="utf-8"
    )
    [old] = job_reports.load_jobs(tmp_path / "reports")
    assert old.problem is None
    assert old.culprit is None
