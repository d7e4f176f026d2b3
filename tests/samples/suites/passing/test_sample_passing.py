"""Everything passes."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", [1, 2, 3])
def test_positive(value: int) -> None:
    assert value > 0


def test_text() -> None:
    assert "nightly".upper() == "NIGHTLY"
