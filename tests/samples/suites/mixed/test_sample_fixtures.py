"""Errors in fixtures: at setup and at teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def database() -> None:
    raise RuntimeError("the fixture could not connect")


@pytest.fixture
def scratch() -> Iterator[None]:
    yield
    raise OSError("cleanup failed")


def test_query(database: None) -> None:
    pass


def test_scratch(scratch: None) -> None:
    pass
