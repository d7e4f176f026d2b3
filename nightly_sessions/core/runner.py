"""Run a tool, show its output as it comes (redacted), keep the tail for the report."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from nightly_sessions.core.errors import ToolError
from nightly_sessions.core.redact import redact

TAIL_LINES = 40
# Every exit code a process can end with, for tools whose failure is reported, not raised:
# a crash too (-11 for SIGSEGV on POSIX, 0xC0000005 on Windows).
ANY_EXIT_CODE = range(-(2**31), 2**32)

T = TypeVar("T")


@dataclass(frozen=True)
class Completed:
    """How a command ended: its exit code, its whole output and the last lines of it."""

    returncode: int
    output: str
    tail: str


def merged_environment(overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """The current environment with `overrides` applied; a None value removes the variable."""
    env = dict(os.environ)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(
    args: Sequence[str],
    *,
    what: str,
    env: Mapping[str, str | None] | None = None,
    ok_codes: Collection[int] = (0,),
    echo: bool = True,
    cwd: Path | None = None,
) -> Completed:
    """Run `args`; raise ToolError saying `what` failed, with the tail, on other exit codes."""
    if echo:
        print(f"$ {redact(' '.join(args))}", flush=True)  # noqa: T201
    lines: list[str] = []
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    try:
        process = subprocess.Popen(
            list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=merged_environment(env),
            cwd=cwd,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise ToolError(redact(f"Could not start {args[0]} to {what}: {exc.strerror}.")) from None
    assert process.stdout is not None
    with process:
        for line in process.stdout:
            clean = redact(line)
            lines.append(clean)
            tail.append(clean)
            if echo:
                sys.stdout.write(clean)
                sys.stdout.flush()
    result = Completed(process.returncode, "".join(lines), "".join(tail))
    if result.returncode not in ok_codes:
        # The output is on screen only when echoed; otherwise its last line says why.
        last = next((line.strip() for line in reversed(tail) if line.strip()), "no output")
        shown = "its output is above" if echo else f"it ended with: {last}"
        message = f"Failed to {what} ({args[0]} exited with code {result.returncode}); {shown}."
        raise ToolError(redact(message), detail=result.tail)
    return result


def in_background(name: str, call: Callable[[], T]) -> Future[T]:
    """`call()` in a thread of its own, started now: a step that waits on a process (a
    probe, a check) while the caller goes on. Its one thread ends with the call."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    started = pool.submit(call)
    pool.shutdown(wait=False)
    return started
