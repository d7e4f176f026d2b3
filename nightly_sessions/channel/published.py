"""Test what we published: install the nightly back from the channel and run its tests.

After the upload, the channel's simple index is polled (bounded) until it lists the
version just built; that version is installed from the channel alone, pinned, as a
binary, without dependencies; its dependencies (and the test extras and groups) come
from the base index with the nightly held by a constraints file. The environment is
read back (the version, and that the package imports from the environment, not from
the checkout) before pytest, or a stated smoke command, runs outside the checkout.
A broken upload is then caught by the project, not by its users.
"""

from __future__ import annotations

import argparse
import json
import shlex
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from nightly_sessions.channel.upload_job import UploadOptions
from nightly_sessions.core import runner
from nightly_sessions.core.commands import Call, Entry, how_to_run
from nightly_sessions.core.config import Settings, parse_option
from nightly_sessions.core.distfiles import find_dist_files, project_of
from nightly_sessions.core.environment import Environment, index_environment
from nightly_sessions.core.errors import (
    ConfigError,
    NetworkError,
    NightlyError,
    OutcomeError,
    ProofError,
    ToolError,
)
from nightly_sessions.core.index import DistFile, IndexClient, newest_compatible
from nightly_sessions.core.interpreter import WheelTarget, wheel_target
from nightly_sessions.core.log import Log
from nightly_sessions.core.pyproject import ProjectInfo, read_project, read_pyproject, table
from nightly_sessions.core.redact import redact

MARKER = "NIGHTLY-SESSIONS-PUBLISHED:"
# The installed version of a distribution, and where its top-level modules import from.
_READ_BACK = f"""
import importlib.util, json, sys
from importlib import metadata
name = sys.argv[1]
try:
    dist = metadata.distribution(name)
except metadata.PackageNotFoundError:
    print({MARKER!r} + json.dumps({{"version": None, "modules": {{}}}}))
    raise SystemExit
tops = set()
for path in dist.files or []:
    first = path.parts[0]
    if len(path.parts) == 1 and first.endswith(".py"):
        tops.add(first[:-3])
    elif len(path.parts) > 1 and not first.endswith((".dist-info", ".data")) and first.isidentifier():
        tops.add(first)
modules = {{}}
for top in sorted(tops):
    spec = importlib.util.find_spec(top)
    modules[top] = spec.origin if spec and spec.origin else None
print({MARKER!r} + json.dumps({{"version": dist.version, "location": str(dist.locate_file("")),
    "modules": modules}}))
"""


@dataclass(frozen=True)
class Published:
    """What the command tests: the project, its version, and the index it comes from."""

    name: str
    version: Version
    index_url: str


@dataclass(frozen=True)
class ReadBack:
    """The installed project, as the environment's interpreter reads it."""

    version: str | None
    location: str
    modules: dict[str, str | None]


# Pure decisions.


def built_version(files: Sequence[Path], name: str, folder: Path) -> Version:
    """The one version of `name`'s wheels among `files` (the dist folder's)."""
    versions = {
        parse_wheel_filename(path.name)[1]
        for path in files
        if path.suffix == ".whl" and project_of(path) == name
    }
    if not versions:
        raise ConfigError(
            f"{folder} holds no wheel of {name}, so the version to test is unknown; build "
            f"first ({how_to_run('build')}), download the build's wheels there, or pass "
            "--version."
        )
    if len(versions) > 1:
        listed = ", ".join(str(version) for version in sorted(versions))
        raise ConfigError(
            f"{folder} holds wheels of {name} in several versions ({listed}); pass --version "
            "to say which to test."
        )
    return versions.pop()


def channel_index(settings: Settings, override: str | None) -> str:
    """The index the nightly is installed from: the option, the setting, else the channel's."""
    if override:
        return override.rstrip("/")
    if settings.published_index_url:
        return settings.published_index_url
    return UploadOptions(
        settings.dist_path, settings.channel, settings.channel_label, settings.anaconda_api_url
    ).simple_url


def require_platform(files: Sequence[DistFile], published: Published, target: WheelTarget) -> str:
    """The channel's file of the version that this interpreter installs, or a sentence."""
    chosen = newest_compatible(files, target.tags, target.python)
    if chosen is not None:
        return chosen.filename
    names = ", ".join(sorted(dist.filename for dist in files))
    raise OutcomeError(
        f"{redact(published.index_url)} has {published.name} {published.version} only as "
        f"{names}, none of which installs on this Python {target.python} ({target.best}); "
        "the build or the upload for this platform failed, see those jobs.",
        1,
    )


def read_back_problems(state: ReadBack, published: Published) -> list[str]:
    """What says the environment does not hold the published nightly; [] when proven."""
    if state.version is None:
        return [f"{published.name} is not installed"]
    problems = []
    if Version(state.version) != published.version:
        problems.append(f"{published.name} is {state.version}, not {published.version}")
    location = Path(state.location).resolve()
    for module, origin in state.modules.items():
        if origin is None:
            problems.append(f"its module {module} does not import")
        elif location not in Path(origin).resolve().parents:
            problems.append(f"its module {module} imports from {origin}, not from {location}")
    return problems


def pytest_paths(root: Path) -> list[str]:
    """What pytest collects: the configured testpaths, else tests/ or test/, else the root."""
    pytest_table = table(read_pyproject(root / "pyproject.toml"), "tool", "pytest")
    options = pytest_table.get("ini_options", pytest_table)
    configured = options.get("testpaths") if isinstance(options, dict) else None
    if isinstance(configured, str):
        configured = configured.split()
    if isinstance(configured, list) and configured:
        return [str(root / str(path)) for path in configured]
    for name in ("tests", "test"):
        if (root / name).is_dir():
            return [str(root / name)]
    return [str(root)]


def smoke_command(text: str, python: Path) -> list[str]:
    """The smoke command, with `python` meaning the environment's interpreter."""
    words = shlex.split(text)
    if words and words[0] in {"python", "python3"}:
        words[0] = str(python)
    return words


# The steps.


def wait_for_version(
    published: Published,
    *,
    wait: float,
    timeout: float,
    retries: int,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[float, list[DistFile]]:
    """Poll the index until it lists the version; the seconds that took and the version's
    files. A sentence saying what the index does list when it never shows in time."""
    index = IndexClient(published.index_url, timeout=timeout, retries=retries)
    started = clock()
    interval = min(10.0, max(wait / 20, 0.5))
    files: list[DistFile] = []
    last_error = ""
    while True:
        try:
            files = [dist for dist in index.files(published.name) if not dist.yanked]
            last_error = ""
        except NightlyError as exc:
            last_error = f" (last error: {exc})"
        found = [dist for dist in files if dist.version == published.version]
        if found:
            return clock() - started, found
        if clock() - started >= wait:
            break
        sleep(interval)
    listed = [dist.version for dist in files]
    newest = (
        f"its newest is {max(listed)}" if listed else f"it lists no version of {published.name}"
    )
    raise NetworkError(
        f"After {wait:.0f} s, {redact(published.index_url)} still does not list "
        f"{published.name} {published.version} ({newest}){redact(last_error)}; check that the "
        f"upload succeeded, then run {how_to_run('published')} again."
    )


def install(
    published: Published, env: Environment, info: ProjectInfo, settings: Settings, tests: bool
) -> None:
    """The nightly from the channel alone; then the rest from the base index, pinned around it."""
    pin = f"{published.name}=={published.version}"
    reinstall = ["--reinstall-package", published.name] if env.installer == "uv" else [
        "--force-reinstall"
    ]  # fmt: skip
    runner.run(
        env.install(env.prerelease_flag(), "--only-binary", ":all:", "--no-deps", *reinstall, pin),
        what=f"install {pin} from {redact(published.index_url)}",
        env=index_environment(published.index_url),
    )
    extras = info.default_extras() if settings.extras is None else settings.extras
    groups = info.default_groups() if settings.groups is None else settings.groups
    requirement = f"{published.name}[{','.join(extras)}]" if extras else published.name
    others = [str(item) for item in info.requirements((), groups)]
    with tempfile.TemporaryDirectory(prefix="nightly-published-") as folder:
        constraints = Path(folder) / "published-constraints.txt"
        constraints.write_text(f"{pin}\n", encoding="utf-8")
        runner.run(
            env.install(
                "-c", str(constraints), requirement, *others, *(["pytest"] if tests else [])
            ),
            what=f"install what {published.name} needs from {redact(settings.base_index_url)}",
            env=index_environment(settings.base_index_url),
        )


def read_back(env: Environment, name: str, cwd: Path) -> ReadBack:
    result = runner.run(
        [str(env.python), "-c", _READ_BACK, name],
        what=f"read {name} back from the environment", echo=False, cwd=cwd,
    )  # fmt: skip
    for line in reversed(result.output.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            return ReadBack(data["version"], str(data.get("location", "")), data["modules"])
    raise ToolError(f"Could not read {name} back from {env.python}; report this.")


def check_published(
    settings: Settings,
    env: Environment,
    *,
    version: Version | None = None,
    index_url: str | None = None,
    smoke: str | None = None,
    pytest_args: Sequence[str] = (),
    log: Log = print,
) -> None:
    """Wait for the channel to list the build, install it from there, prove it, test it."""
    root = settings.project_root
    info = read_project(root)
    if not info.name:
        raise ConfigError(f"[project] name is missing in {root / 'pyproject.toml'}; add it.")
    name = canonicalize_name(info.name)
    if version is None:
        version = built_version(find_dist_files(settings.dist_path), name, settings.dist_path)
    published = Published(name, version, channel_index(settings, index_url))
    log(f"Testing {name} {version} as published on {redact(published.index_url)}.")
    waited, files = wait_for_version(
        published, wait=settings.published_wait, timeout=settings.timeout,
        retries=settings.retries,
    )  # fmt: skip
    log(f"{redact(published.index_url)} lists {name} {version} (after {waited:.0f} s).")
    log(f"This Python installs {require_platform(files, published, wheel_target(env.python))}.")
    command = smoke if smoke is not None else settings.published_smoke
    install(published, env, info, settings, tests=not command)
    with tempfile.TemporaryDirectory(prefix="nightly-published-") as outside:
        here = Path(outside)  # not the checkout: its sources must not shadow the install
        state = read_back(env, name, here)
        problems = read_back_problems(state, published)
        if problems:
            raise ProofError(
                f"The environment does not hold {name} {version} from "
                f"{redact(published.index_url)}: {'; '.join(problems)}; report this with the "
                "output above."
            )
        log(
            f"Proven: {name} {version} from {redact(published.index_url)} imports from {state.location}."
        )
        _run_tests(
            env, root, smoke=command, pytest_args=pytest_args, cwd=here, settings=settings, log=log
        )


def _run_tests(
    env: Environment,
    root: Path,
    *,
    smoke: str,
    pytest_args: Sequence[str],
    cwd: Path,
    settings: Settings,
    log: Log,
) -> None:
    if smoke:
        argv, what = smoke_command(smoke, env.python), f"the smoke command `{smoke}`"
    else:
        argv = [
            str(env.python), "-m", "pytest", "-p", "no:cacheprovider", "--import-mode=importlib",
            *settings.pytest_args, *pytest_args, *pytest_paths(root),
        ]  # fmt: skip
        what = "the project's tests"
    try:
        result = runner.run(argv, what=f"run {what}", cwd=cwd, ok_codes=range(-255, 256))
    except ToolError as exc:  # it could not start
        raise ConfigError(f"{exc} Check the published-smoke setting.") from None
    if result.returncode != 0:
        raise OutcomeError(
            f"The published nightly fails {what} (exit code {result.returncode}); its output is "
            "above: fix the build or the upload before users install it.",
            1,
        )
    log(f"The published nightly passes {what}.")


# The command.


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version", metavar="VERSION",
        help="the version to test (default: that of the project's wheels in the dist folder)",
    )  # fmt: skip
    parser.add_argument(
        "--index-url", metavar="URL",
        help="the simple index to install from (over the published-index-url setting)",
    )  # fmt: skip
    parser.add_argument(
        "--smoke", metavar="COMMAND",
        help='run this instead of pytest, e.g. "python -c \'import skymap\'" (over published-smoke)',
    )  # fmt: skip


def _version(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(
            f"--version {text!r} is not a PEP 440 version; pass one such as 1.2.1.dev20250304."
        ) from None


def _run(call: Call) -> None:
    args = call.args
    index_url = None
    if args.index_url is not None:
        index_url = str(parse_option("published_index_url", args.index_url, "--index-url"))
    check_published(
        call.settings,
        call.environment(),
        version=_version(args.version),
        index_url=index_url or None,
        smoke=args.smoke,
        pytest_args=args.passthrough,
        log=call.log,
    )


PUBLISHED = Entry(_arguments, _run)
