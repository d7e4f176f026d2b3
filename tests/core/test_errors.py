from __future__ import annotations

from nightly_sessions.core.errors import (
    ConfigError,
    NetworkError,
    ProofError,
    ToolError,
    describe_os_error,
)


def test_exit_codes_are_the_documented_ones() -> None:
    assert [e.exit_code for e in (ConfigError, NetworkError, ProofError, ToolError)] == [2, 3, 4, 5]


def test_os_errors_name_the_file() -> None:
    error = FileNotFoundError(2, "No such file or directory", "/p/dist")
    assert describe_os_error(error) == (
        "Could not use /p/dist: No such file or directory; check that it exists and is readable."
    )
    assert describe_os_error(OSError("disk on fire")).startswith("Could not use: disk on fire")


def test_detail_travels_with_the_sentence() -> None:
    error = ToolError("Failed to build.", detail="last lines")
    assert (str(error), error.detail) == ("Failed to build.", "last lines")
