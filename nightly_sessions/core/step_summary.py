"""What a run shows on its GitHub Actions page: the step summary and notices.

The summary is a convenience on the run page: a path that cannot be written (a full disk,
a runner quirk) must not turn a successful upload or report into a failed step, so the
error becomes one warning line and the work goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from nightly_sessions.core.redact import redact


def append_step_summary(
    markdown: str, environ: Mapping[str, str], log: Callable[[str], None]
) -> None:
    """Append `markdown` (redacted, newline-terminated) to $GITHUB_STEP_SUMMARY, when set."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    text = redact(markdown)
    if not text.endswith("\n"):
        text += "\n"
    try:
        with Path(path).open("a", encoding="utf-8") as summary:
            summary.write(text)
    except OSError as exc:
        log(
            redact(
                f"warning: could not write the step summary {path} "
                f"({exc.strerror or exc}); the summary was left out and the step goes on."
            )
        )


def notice(message: str, title: str, environ: Mapping[str, str]) -> str:
    """`message` as a notice: an annotation titled `title` on GitHub Actions, else a line."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return f"::notice title={title}::{message}"
    return f"notice: {message}"
