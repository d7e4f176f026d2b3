# /// script
# dependencies = ["nox>=2025.2.9"]
# ///
"""Development tasks for nightly-sessions itself: `nox -s ci` is what CI runs."""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["ci"]


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


def _tests(session: nox.Session) -> None:
    args = session.posargs or ["-n", "2", "--durations=15"]
    session.run("pytest", *args)


@nox.session
def ci(session: nox.Session) -> None:
    """Lint, type-check and run the whole test suite, then build the docs (what .ci/run calls).

    The docs build in an environment of its own: Sphinx pins docutils, which the tests'
    README rendering (readme_renderer) must not share.
    """
    session.notify("docs", posargs=[])
    session.install("-e", ".[test,lint]")
    _lint(session)
    _tests(session)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy --strict."""
    session.install("-e", ".[test,lint]")
    _lint(session)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite; arguments after -- go to pytest."""
    session.install("-e", ".[test]")
    _tests(session)


@nox.session
def docs(session: nox.Session) -> None:
    """The user guide (Sphinx, MyST) into docs/_build/html, warnings as errors."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def demo(session: nox.Session) -> None:
    """The whole SPEC 4 loop offline on examples/skymap; arguments after -- go to the demo."""
    session.install("-e", ".[demo]")
    session.run("python", "-m", "nightly_sessions.demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks (or those named after --) and print ratios of medians."""
    session.install("-e", ".[test]")
    scripts = session.posargs or sorted(str(path) for path in Path("benchmarks").glob("bench_*.py"))
    for script in scripts:
        session.run("python", script)


@nox.session
def refresh_pins(session: nox.Session) -> None:
    """Move each action pin to its newest release via the GitHub API (network; never in CI).

    Rewrites copier-includes/pins.jinja and the action.yml snapshots the tests read,
    refusing any action on node20 or older; GITHUB_TOKEN, if set, raises the rate limit.
    Review the diff and the actions' release notes, then run `nox -s ci`.
    """
    session.install("jinja2", "pyyaml")
    session.run("python", "maintainer/refresh_pins.py", *session.posargs)


@nox.session
def lock(session: nox.Session) -> None:
    """Refresh the hash-checked locks from PyPI (network; never in CI).

    nightly_sessions/channel/locks/anaconda-client.txt: the anaconda-client that the upload
    session installs into its own environment. template/.github/nightly-sessions-lock.txt:
    the tool environment of the generated workflows' token-bearing jobs (the template's
    NOX from copier-includes/workflows.jinja, the [project] dependencies and the build
    backend of pyproject.toml). Both environments hold a token and install with
    --require-hashes. Review the diff, then run `nox -s ci`.
    """
    session.install("-e", ".", "uv")
    code = (
        "from pathlib import Path\n"
        "from nightly_sessions.channel.client import refresh_lock\n"
        "from nightly_sessions.core.locks import refresh_tool_lock\n"
        "refresh_lock()\n"
        "refresh_tool_lock(Path.cwd())\n"
    )
    session.run("python", "-c", code)
