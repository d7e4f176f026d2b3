"""The tox setting that opts an env in: `nightly`, implied by a `nightly` factor."""

from __future__ import annotations

KEY = "nightly"
FACTOR = "nightly"
DESCRIPTION = (
    "run the nightly-sessions steps around the commands: install the nightlies strictly "
    "from the nightly index, prove them, and write the nightly report (default: true when "
    "the env name has a 'nightly' factor)"
)


def implied(env_name: str | None) -> bool:
    """Whether the env's name opts it in: `nightly` is one of its dash-separated factors.

    `py313-nightly` and `nightly` do; `py313-nightlyish` and `.pkg` do not.
    """
    return FACTOR in (env_name or "").split("-")
