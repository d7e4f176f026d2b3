"""The wheels' command: build, an `Entry` of the command table (`core/commands.py`)."""

from __future__ import annotations

import argparse
import dataclasses

from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings, parse_option
from nightly_sessions.wheels.build import TOOLS, BuildOptions, build_nightly


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version-only", action="store_true",
        help="print the nightly version and check it against the releases, without building",
    )  # fmt: skip
    parser.add_argument(
        "--native", action="store_true",
        help="build a plain wheel for this machine instead of running cibuildwheel",
    )  # fmt: skip
    parser.add_argument(
        "--no-isolation", action="store_true",
        help="build with the backend installed in the environment (no isolated build)",
    )  # fmt: skip
    parser.add_argument(
        "--nightly-build-deps", metavar="NAMES",
        help=(
            "build requirements to take at their newest nightly from the nightly index, "
            "comma-separated (over the build-nightly-packages setting; \"\" for none)"
        ),
    )  # fmt: skip
    parser.add_argument(
        "--install", action="store_true",
        help=(
            f"first install the pinned build tool into the environment: {TOOLS['build']}, or "
            f"{TOOLS['cibuildwheel']} for a compiled project without --native (a nox "
            "session always does)"
        ),
    )  # fmt: skip


def build_options(args: argparse.Namespace) -> BuildOptions:
    """What the parsed command line asks of the build."""
    return BuildOptions(
        native=args.native,
        isolation=not args.no_isolation,
        tool_args=tuple(args.passthrough),
        version_only=args.version_only,
    )


def build_settings(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with what the command line overrides."""
    if args.nightly_build_deps is None:
        return settings
    names = () if not args.nightly_build_deps.strip() else parse_option(
        "build_nightly_packages", args.nightly_build_deps, "--nightly-build-deps"
    )  # fmt: skip
    assert isinstance(names, tuple)
    return dataclasses.replace(settings, build_nightly_packages=names)


def _build(call: Call) -> None:
    args = call.args
    options = build_options(args)
    install = call.own_environment or args.install
    settings = build_settings(args, call.settings)
    build_nightly(settings, options, call.environment(), install=install, log=call.log)


BUILD = Entry(_build_arguments, _build)
