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


def bad_value(env_name: str, reason: str) -> str:
    """The sentence for a `nightly` value tox cannot read as a boolean."""
    return (
        f"The tox setting '{KEY}' of env {env_name} is not true or false ({reason}); write "
        f"'{KEY} = true' or '{KEY} = false', or a factor condition such as "
        f"'{KEY} = devdeps: true'."
    )
