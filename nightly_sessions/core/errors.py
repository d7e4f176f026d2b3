"""Failures a user can act on: each is one sentence, printed without a traceback.

Exit codes (docs/cli.md shows this table):
    0  success
    1  the tests failed, crashed or none ran (pytest's own code is in the report, never
       passed through: its 2 to 5 would collide with the codes below); another check
       (mypy, a docs build) failed or could not run against the nightlies; the freshness
       check found the channel's nightlies stale or missing
    2  bad input: settings, pyproject.toml, command-line arguments (pytest's too), files
    3  an index or API could not be reached or answered with an error
    4  the proof failed: a planned package is not the newest nightly (strict mode)
    5  an installer or build tool failed
"""

from __future__ import annotations


class NightlyError(Exception):
    """A failure explained in one sentence: what failed, where, and what to do.

    `detail` holds supporting output (a tool's last lines) for reports, not for the sentence.
    """

    exit_code = 1

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


class ConfigError(NightlyError):
    """Bad settings, a malformed file or a bad argument."""

    exit_code = 2


class NetworkError(NightlyError):
    """An index or API was unreachable or answered with an error."""

    exit_code = 3


class ProofError(NightlyError):
    """Installed packages are not the nightlies the plan asked for."""

    exit_code = 4


def describe_os_error(error: OSError) -> str:
    """One sentence for an OSError nothing closer to it explained."""
    where = f" {error.filename}" if error.filename else ""
    return f"Could not use{where}: {error.strerror or error}; check that it exists and is readable."


class ToolError(NightlyError):
    """An installer, build tool or uploader exited with an error."""

    exit_code = 5


class OutcomeError(NightlyError):
    """A command that ran to its end with a failing outcome (tests failed, nightlies
    stale): the sentence, and the exit code that outcome has in the table above."""

    def __init__(self, message: str, exit_code: int, *, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.exit_code = exit_code
