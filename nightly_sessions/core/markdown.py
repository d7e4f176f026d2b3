"""Markdown pieces shared by the run report and the tracking issues.

Text from test runs and installers goes into code fences, where nothing in it can ping a
person, link an issue or break the Markdown around it.
"""

from __future__ import annotations

import re


def fenced(text: str, info: str = "text") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"
