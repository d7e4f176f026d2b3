"""A module that no longer imports: an upstream nightly removed a name."""

from __future__ import annotations

from json import removed_in_nightly  # type: ignore[attr-defined]


def test_never_collected() -> None:
    assert removed_in_nightly
