"""Markdown pieces shared by the run report and the tracking issues.

Text from test runs and installers goes into code fences, where nothing in it can ping a
person, link an issue or break the Markdown around it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def fenced(text: str, info: str = "text") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def plain_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table, header first; a `|` inside a cell is escaped."""
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:]
    ]
    return lines
