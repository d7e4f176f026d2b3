"""Hash-locked requirement files: read their pins, and write them with `uv pip compile`.

Every environment that holds a token installs from such a lock, with hash checking, so
that no dependency can float to a version, or a file, that nobody reviewed:

- `nightly_sessions/channel/locks/anaconda-client.txt`: the anaconda-client that the
  upload session installs into its own environment (`nightly_sessions.channel.client`);
- `template/.github/nightly-sessions-lock.txt` (TOOL_LOCK): the tool environment that the
  generated workflows' token-bearing jobs run nox from: the template's nox, every
  runtime dependency of nightly-sessions, and its build backend. The template copies it
  to the project's `.github/`, so `copier update` moves it with the workflows.

`nox -s lock` in a checkout of nightly-sessions rewrites both from PyPI (network; never
in CI). Each lock is universal from LOCK_PYTHON up, so the tool Python of the workflows
(TOOL_PYTHON in copier-includes/workflows.jinja) may move without a new lock.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from nightly_sessions.core import runner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LOCK_PYTHON = "3.10"  # the oldest supported Python; `--universal` covers the newer ones
COMPILE_COMMAND = f"nox -s lock (uv pip compile --universal --generate-hashes --python-version {LOCK_PYTHON})"  # fmt: skip
# Paths in a checkout of nightly-sessions.
TOOL_LOCK = Path("template/.github/nightly-sessions-lock.txt")
WORKFLOW_MACROS = Path("copier-includes/workflows.jinja")
# The one place the template's nox version is written: `{%- set NOX = 'nox==...' -%}`.
_NOX_PIN = re.compile(r"set NOX = '([^']+)'")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})\b")
TOOL_LOCK_HEADER = """\
# The tool environment of the nightly workflows' jobs that hold a token (the upload,
# the tracking issues, keepalive): nox, nightly-sessions's dependencies and its build
# backend, each file pinned by its hash. Those jobs install it with `uv pip sync
# --require-hashes`, then nightly-sessions itself from git at the template's commit.
# Written by `nox -s lock` in nightly-sessions; `copier update` brings a new one.
"""


def hashed_requirements(lock: Path) -> list[tuple[str, list[str]]]:
    """(requirement line, its sha256 hashes) for every requirement of a requirements file."""
    found: list[tuple[str, list[str]]] = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace():
            if not found:
                raise ValueError(f"{lock}: a continuation line before any requirement: {line!r}")
            found[-1][1].extend(_HASH.findall(line))
        else:
            found.append((line.removesuffix("\\").strip(), _HASH.findall(line)))
    return found


def locked_requirements(lock: Path) -> list[str]:
    """The lock's pins without their hashes (`name==version ; marker`), e.g. to download them."""
    return [line for line, _ in hashed_requirements(lock)]


def lock_command(uv: str, source: Path, output: Path) -> list[str]:
    """The `uv pip compile` that writes a lock: universal, hashed, from `source`."""
    return [
        uv, "pip", "compile", str(source), "--output-file", str(output), "--universal",
        "--generate-hashes", "--python-version", LOCK_PYTHON, "--no-cache", "--quiet",
        "--custom-compile-command", COMPILE_COMMAND,
    ]  # fmt: skip


def compile_lock(
    requirements: Sequence[str], lock: Path, *, uv: str | None = None, header: str = ""
) -> None:
    """Resolve `requirements` from PyPI and write them, with hashes, to `lock` (network)."""
    from nightly_sessions.core.environment import ISOLATION, find_uv

    lock = lock.resolve()
    with tempfile.TemporaryDirectory(prefix="nightly-lock-") as temporary:
        # Relative to the working folder, so the lock says `# via -r <name>.in`.
        source = Path(lock.stem + ".in")
        (Path(temporary) / source).write_text("\n".join(requirements) + "\n", encoding="utf-8")
        command = lock_command(uv or find_uv() or "uv", source, lock)
        what = f"lock {', '.join(requirements)}"
        runner.run(command, what=what, env=ISOLATION, cwd=Path(temporary))
    if header:
        lock.write_text(header + lock.read_text(encoding="utf-8"), encoding="utf-8")


def template_nox(root: Path) -> str:
    """The nox requirement of the generated workflows (`nox==...`), read from `root`."""
    found = _NOX_PIN.search((root / WORKFLOW_MACROS).read_text(encoding="utf-8"))
    if found is None:
        raise ValueError(f"No `set NOX = '...'` in {root / WORKFLOW_MACROS}.")
    return found[1]


def tool_requirements(root: Path) -> list[str]:
    """What the tool lock resolves, read from the checkout of nightly-sessions at `root`.

    The template's nox, nightly-sessions's runtime dependencies, and its build backend:
    the jobs build nightly-sessions from git without build isolation, so the backend
    comes from the lock too.
    """
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]["dependencies"]
    build = pyproject["build-system"]["requires"]
    return [template_nox(root), *project, *build]


def refresh_tool_lock(root: Path, uv: str | None = None) -> None:
    """Rewrite `root`'s TOOL_LOCK from PyPI (`nox -s lock`; network)."""
    compile_lock(tool_requirements(root), root / TOOL_LOCK, uv=uv, header=TOOL_LOCK_HEADER)
