"""Output full of ANSI colour codes, as rich or colorama print it."""

from __future__ import annotations

RED = "\x1b[31m"
BOLD = "\x1b[1m"
RESET = "\x1b[0m"


def test_coloured_failure() -> None:
    print(f"{RED}warning:{RESET} ping @someone about {BOLD}#456{RESET}")
    raise ValueError(f"{BOLD}{RED}shape mismatch{RESET}: (3,) vs (4,)")
