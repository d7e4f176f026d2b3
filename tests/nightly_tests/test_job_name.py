"""The report's job name carries a free-threaded build's "t", as the workflow's NIGHTLY_JOB does."""

from __future__ import annotations

import platform

import pytest

from nightly_sessions.nightly_tests.run import job_name


@pytest.mark.parametrize("python", ["3.13", "3.14t"])
def test_the_job_name_shows_the_variant(python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NIGHTLY_JOB", raising=False)
    assert job_name(python) == f"py{python}-{platform.system()}"


def test_nightly_job_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NIGHTLY_JOB", "py3.14t-Linux")
    assert job_name("3.14") == "py3.14t-Linux"
