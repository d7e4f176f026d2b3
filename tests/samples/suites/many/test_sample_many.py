"""Hundreds of failures, many with deep tracebacks: more than an issue body can hold."""

from __future__ import annotations

from collections.abc import Callable

import pytest


def _descend(depth: int, tag: int) -> None:
    if depth == 0:
        raise AssertionError(f"deep failure {tag}: " + "x" * 120)
    _descend(depth - 1, tag)


def _deep_test(tag: int) -> Callable[[], None]:
    def test() -> None:
        _descend(25, tag)

    return test


for _tag in range(80):
    globals()[f"test_deep_{_tag:03d}"] = _deep_test(_tag)


@pytest.mark.parametrize("value", range(400))
def test_wide(value: int) -> None:
    assert value < 0, f"value {value} is not negative; " + "y" * 100
