"""Fixtures for the tracking tests: real pytest runs of the sample suites, and report folders
of three matrix jobs made from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_reports import SampleRuns, three_jobs


@pytest.fixture(scope="session")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> SampleRuns:
    """Real pytest runs (with --report-log) of tests/samples/suites, each once per session."""
    return SampleRuns(tmp_path_factory.mktemp("sample-runs"))


@pytest.fixture
def reports(tmp_path: Path, sample_runs: SampleRuns) -> Path:
    """Three jobs: failures in one, a collection error in another, one passing."""
    return three_jobs(tmp_path / "reports", sample_runs)
