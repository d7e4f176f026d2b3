"""The interpreter dies in the middle of a test, as on a segfault in a compiled nightly."""

from __future__ import annotations

import ctypes
import resource


def test_before_the_crash() -> None:
    assert True


def test_crashes() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file
    ctypes.string_at(0)  # read address 0: SIGSEGV


def test_after_the_crash() -> None:
    assert True
