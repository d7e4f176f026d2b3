"""Assertion failures: parametrized variants, a message that pings and links."""

from __future__ import annotations

import pytest


def test_addition() -> None:
    assert 1 + 1 == 2


@pytest.mark.parametrize("value", [0, 1, 2, 3])
def test_is_zero(value: int) -> None:
    assert value == 0, f"@someone please look, see #123 (value {value})"


def test_chained() -> None:
    table: dict[str, int] = {}
    try:
        table["missing"]
    except KeyError as exc:
        raise ValueError("conversion failed after a lookup") from exc


@pytest.mark.skip(reason="not on this platform")
def test_skipped() -> None:
    raise AssertionError


@pytest.mark.xfail(reason="known upstream bug", strict=False)
def test_known_bug() -> None:
    raise AssertionError
