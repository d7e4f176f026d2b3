"""pytest-reportlog's file read line by line: one JSON object per line.

The run counts outcomes from it and the culprit search reads its failing tests; a line
that is not a JSON object (a run cut short mid-line) is skipped, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def log_entries(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects among `lines`, in order."""
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry
