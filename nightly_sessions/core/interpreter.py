"""Which wheels an environment's interpreter installs: its Python version and its tags.

The interpreter itself answers, with this process's `packaging` lent to it for that one
script (packaging is pure Python), so an environment without packaging answers too,
and a free-threaded or foreign Python gives its own tags, not ours.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import packaging
from packaging.tags import Tag, parse_tag

from nightly_sessions.core import runner
from nightly_sessions.core.errors import ToolError

MARKER = "NIGHTLY-SESSIONS-TAGS:"
_SCRIPT = f"""
import json, sys
from packaging import tags
print({MARKER!r} + json.dumps({{"python": "%d.%d" % sys.version_info[:2],
    "tags": [str(tag) for tag in tags.sys_tags()]}}))
"""


@dataclass(frozen=True)
class WheelTarget:
    """An interpreter's Python version ("3.13") and the wheel tags it installs, best first."""

    python: str
    tags: tuple[Tag, ...]

    @property
    def best(self) -> str:
        """The most specific tag, for messages: cp313-cp313-manylinux_2_39_x86_64."""
        return str(self.tags[0]) if self.tags else "none"


def wheel_target(python: Path) -> WheelTarget:
    """Ask the interpreter at `python` which wheels it installs."""
    lent = str(Path(packaging.__file__).parent.parent)
    path = os.pathsep.join(part for part in (lent, os.environ.get("PYTHONPATH", "")) if part)
    result = runner.run(
        [str(python), "-c", _SCRIPT],
        what=f"read the wheel tags of {python}", echo=False, env={"PYTHONPATH": path},
    )  # fmt: skip
    for line in reversed(result.output.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            tags = tuple(tag for text in data["tags"] for tag in parse_tag(text))
            return WheelTarget(str(data["python"]), tags)
    raise ToolError(f"Could not read the wheel tags of {python}; is it a working Python?")
