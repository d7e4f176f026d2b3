"""Build nightly wheels: stamp the version, run the build tool, check what it made.

The working tree is never edited: every build runs in a temporary copy of the project
(with its git state), a static version is stamped into that copy, an scm-based one is
passed through the backend's own override variables, and a version the build computes
is read back from the built files. Nothing reaches the dist folder
unless every file passes `wheels.check_files` and the version rules.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nightly_sessions import runner, versioning, wheels
from nightly_sessions.config import DEFAULT_BASE_INDEX, Settings
from nightly_sessions.errors import ConfigError, ToolError
from nightly_sessions.install import Environment, index_environment, install_tools
from nightly_sessions.project_copy import copy_project
from nightly_sessions.pyproject import read_pyproject, table
from nightly_sessions.versioning import GitState, VersionSource

# The tools sessions install, pinned: one place to update them.
TOOLS = {"build": "build==1.6.1", "cibuildwheel": "cibuildwheel==4.3.3"}
COMPILED_BACKENDS = ("scikit_build_core", "maturin", "enscons", "py_build_cmake", "pymsbuild")
PREVIOUS = "previous"

Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked for on the command line (`nox -s build_nightly -- ...`)."""

    native: bool = False
    isolation: bool = True
    tool_args: tuple[str, ...] = ()

    @property
    def print_identifiers(self) -> bool:
        return "--print-build-identifiers" in self.tool_args


BUILD_HELP = """\
nox -s build_nightly -- [--native] [--no-isolation] [CIBUILDWHEEL OPTIONS]

  --native         build a plain wheel for this machine instead of running cibuildwheel
  --no-isolation   build with the session's installed backend (no isolated environment)
  anything else    goes to cibuildwheel (compiled projects), e.g. --platform linux,
                   --archs auto64, --print-build-identifiers
"""


def wants_help(args: Sequence[str]) -> bool:
    """Whether `nox -s build_nightly -- ...` asks for BUILD_HELP rather than a build."""
    return "--help" in args or "-h" in args


def parse_build_args(args: Sequence[str]) -> BuildOptions:
    """Our own flags (--native, --no-isolation); everything else goes to cibuildwheel."""
    ours = {"--native", "--no-isolation"}
    return BuildOptions(
        native="--native" in args,
        isolation="--no-isolation" not in args,
        tool_args=tuple(arg for arg in args if arg not in ours),
    )


@dataclass(frozen=True)
class BuildResult:
    """The files now in the dist folder and their version."""

    files: list[Path]
    version: Version | None


# What kind of project this is.


def _meson_builds_extensions(root: Path) -> bool:
    for path in root.rglob("meson.build"):
        parts = path.relative_to(root).parts
        if any(part.startswith((".", "build")) for part in parts[:-1]):
            continue
        if "extension_module(" in path.read_text(encoding="utf-8", errors="replace"):
            return True
    return False


def is_compiled(root: Path) -> bool:
    """Whether the project builds extension modules, so wheels need cibuildwheel."""
    data = read_pyproject(root / "pyproject.toml")
    tool = table(data, "tool")
    backend = str(table(data, "build-system").get("build-backend", ""))
    if "cibuildwheel" in tool or backend.startswith(COMPILED_BACKENDS):
        return True
    if backend == "mesonpy":
        return _meson_builds_extensions(root)
    if table(tool, "setuptools").get("ext-modules"):
        return True
    setup = root / "setup.py"
    text = setup.read_text(encoding="utf-8", errors="replace") if setup.is_file() else ""
    return "Extension(" in text or "ext_modules" in text


# cibuildwheel.


def cibuildwheel_platform(args: Sequence[str], environ: Mapping[str, str]) -> str:
    """The platform cibuildwheel will build for: linux, macos, windows, ..."""
    platform = environ.get("CIBW_PLATFORM", "auto")
    only = ""
    for flag, value in itertools.pairwise([*args, ""]):
        if flag == "--platform":
            platform = value
        elif flag.startswith("--platform="):
            platform = flag.partition("=")[2]
        elif flag == "--only":
            only = value
    if platform != "auto":
        return platform
    if "linux" in only:
        return "linux"
    return {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")


def container_engine_works(environ: Mapping[str, str]) -> bool:
    """Whether the engine cibuildwheel would use for Linux builds answers."""
    engine = environ.get("CIBW_CONTAINER_ENGINE", "docker").split(";")[0].strip() or "docker"
    executable = shutil.which(engine)
    if executable is None:
        return False
    try:
        result = subprocess.run([executable, "info"], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def no_container_error(environ: Mapping[str, str]) -> ToolError:
    engine = environ.get("CIBW_CONTAINER_ENGINE", "docker").split(";")[0].strip() or "docker"
    return ToolError(
        f"cibuildwheel builds Linux wheels inside manylinux containers, but no container "
        f"engine answers here (`{engine} info` failed); start Docker or Podman, or run "
        "`nox -s build_nightly -- --native` to build a wheel for this machine only "
        "(fine for local testing, refused for upload)."
    )


def cibuildwheel_environment(
    variables: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, str]:
    """CIBW_ENVIRONMENT and CIBW_INHERIT that add `variables` to the project's own settings.

    `environment=append` makes cibuildwheel append ours to [tool.cibuildwheel] environment
    (and any overrides) instead of replacing them.
    """
    if not variables:
        return {}
    ours = " ".join(f'{name}="{value}"' for name, value in variables.items())
    existing = environ.get("CIBW_ENVIRONMENT", "").strip()
    inherit = environ.get("CIBW_INHERIT", "").strip()
    if not re.search(r"(^|;)\s*environment\s*(:|;|$)", inherit):
        inherit = "; ".join(part for part in (inherit, "environment: append") if part)
    return {
        "CIBW_ENVIRONMENT": f"{existing} {ours}".strip(),
        "CIBW_INHERIT": inherit,
    }


# Commands and environments.


def version_variables(source: VersionSource, version: Version | None) -> dict[str, str]:
    """The override variables through which an scm backend takes the nightly version."""
    if version is None or source.kind != "scm":
        return {}
    return dict.fromkeys(source.overrides, str(version))


def build_command(
    env: Environment,
    source_dir: Path,
    output_dir: Path,
    *,
    compiled: bool,
    options: BuildOptions,
) -> list[str]:
    """`python -m build` (pure Python, or --native) or `cibuildwheel` (compiled)."""
    if compiled and not options.native:
        cibuildwheel = shutil.which("cibuildwheel", path=str(env.python.parent)) or "cibuildwheel"
        return [cibuildwheel, str(source_dir), "--output-dir", str(output_dir), *options.tool_args]
    command = [str(env.python), "-m", "build", str(source_dir), "--outdir", str(output_dir)]
    if compiled:
        command.append("--wheel")
    if not options.isolation:
        command.append("--no-isolation")
    elif env.installer == "uv":
        command.append("--installer=uv")
    return command


def build_environment(
    settings: Settings,
    env: Environment,
    variables: Mapping[str, str],
    *,
    cibuildwheel: bool,
    environ: Mapping[str, str],
) -> dict[str, str | None]:
    """The environment of the build command."""
    composed = index_environment(settings.base_index_url)
    if env.installer == "uv":
        composed["UV"] = env.uv
    if not cibuildwheel:
        composed.update(variables)
        return composed
    inside = dict(variables)
    if settings.base_index_url != DEFAULT_BASE_INDEX:
        inside.update(
            PIP_INDEX_URL=settings.base_index_url, UV_DEFAULT_INDEX=settings.base_index_url
        )
    composed.update(cibuildwheel_environment(inside, environ))
    return composed


def stamp_version(copy: Path, source: VersionSource, version: Version) -> None:
    """Write `version` into the copy where the version lives."""
    assert source.stamp is not None
    source.stamp.write(copy, version)
    written = source.stamp.read(copy)
    if written is None or Version(written) != version:
        raise ConfigError(
            f"Writing the nightly version into {source.stamp.file} did not take effect; "
            "write the version there as a plain string."
        )


# Reading back what was built.


def built_version(files: Sequence[Path]) -> Version:
    """The one version all built files carry (their metadata, not their names)."""
    versions: set[Version] = set()
    for path in files:
        text = str(wheels.read_metadata(path).get("Version", ""))
        try:
            versions.add(Version(text))
        except InvalidVersion:
            raise ConfigError(
                f"{path.name}: the metadata Version {text!r} is not a PEP 440 version; "
                "fix the project's version so it is one."
            ) from None
    if len(versions) != 1:
        listed = ", ".join(sorted(map(str, versions)))
        raise ToolError(f"The build made files of several versions ({listed}); report this.")
    return versions.pop()


def collect(files: Sequence[Path], dist_dir: Path, name: str, log: Log) -> list[Path]:
    """Move the built files into `dist_dir`, older builds of the project into previous/."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    new_names = {path.name for path in files}
    for old in wheels.find_dist_files(dist_dir):
        if old.name in new_names or wheels.project_of(old) != name:
            continue
        (dist_dir / PREVIOUS).mkdir(exist_ok=True)
        shutil.move(old, dist_dir / PREVIOUS / old.name)
        log(f"Moved the older build {old.name} to {dist_dir / PREVIOUS}.")
    placed = []
    for path in files:
        target = dist_dir / path.name
        shutil.move(path, target)
        placed.append(target)
    return sorted(placed)


# The whole step.


def _released(settings: Settings, name: str) -> list[Version]:
    return versioning.released_versions(
        settings.base_index_url, name, timeout=settings.timeout, retries=settings.retries
    )


def _check_rules(
    version: Version, source: VersionSource, settings: Settings, git: GitState | None, now: datetime
) -> None:
    versioning.require_rules(
        version,
        source,
        released=_released(settings, source.name),
        index_url=settings.base_index_url,
        git=git,
        now=now,
    )


@dataclass(frozen=True)
class _Job:
    """Everything decided before the build runs."""

    source: VersionSource
    git: GitState | None
    compiled: bool
    version: Version | None  # None when the build computes it


def _prepare(settings: Settings, options: BuildOptions, now: datetime, log: Log) -> _Job:
    root = settings.project_root
    source = versioning.find_version_source(root)
    git = versioning.git_state(root)
    versioning.require_history(root, source, git)
    compiled = is_compiled(root)
    if options.tool_args and not (compiled and not options.native):
        raise ConfigError(
            f"The arguments {' '.join(options.tool_args)} are for cibuildwheel, but {source.name} "
            "is built with `python -m build` here; drop them."
        )
    container = compiled and not options.native and not options.print_identifiers
    linux = container and cibuildwheel_platform(options.tool_args, os.environ) == "linux"
    if linux and not container_engine_works(os.environ):
        raise no_container_error(os.environ)
    version: Version | None = None
    if source.stamped and settings.version_scheme != "project":
        assert source.current is not None
        if source.stamp is not None:
            source.stamp.require(root)
        version = versioning.nightly_version(
            source.current, scheme=settings.version_scheme, git=git, now=now
        )
        log(
            f"Nightly version of {source.name}: {version} (from {source.current} in {source.where})."
        )
        if not options.print_identifiers:
            _check_rules(version, source, settings, git, now)
    else:
        log(f"The build computes the version of {source.name} ({source.where}); checking it after.")
    return _Job(source, git, compiled, version)


def build_nightly(
    settings: Settings,
    options: BuildOptions,
    env: Environment,
    *,
    install: bool = True,
    now: datetime | None = None,
    log: Log = print,
) -> BuildResult:
    """Build, check every file and the version rules, then move the files into the dist folder.

    The build runs in a temporary copy of the project, so the tree stays as it was.
    """
    if now is None:
        now = versioning.build_moment(os.environ)
        if os.environ.get(versioning.BUILD_DATE_VARIABLE, "").strip():
            log(f"Build moment from {versioning.BUILD_DATE_VARIABLE}: {now.isoformat()}.")
    job = _prepare(settings, options, now, log)
    cibuildwheel = job.compiled and not options.native
    if install:
        install_tools(
            env, [TOOLS["cibuildwheel" if cibuildwheel else "build"]], settings.base_index_url
        )
    variables = version_variables(job.source, job.version)
    with tempfile.TemporaryDirectory(prefix="nightly-build-") as temporary:
        staging = Path(temporary) / "dist"
        source_dir = copy_project(settings.project_root, Path(temporary) / "src")
        if job.version is not None and job.source.stamp is not None:
            stamp_version(source_dir, job.source, job.version)
        command = build_command(env, source_dir, staging, compiled=job.compiled, options=options)
        environment = build_environment(
            settings, env, variables, cibuildwheel=cibuildwheel, environ=os.environ
        )
        # cibuildwheel copies its working folder into the Linux containers.
        what = f"build the nightly of {job.source.name}"
        runner.run(command, what=what, env=environment, cwd=source_dir)
        if options.print_identifiers:
            return BuildResult([], job.version)
        files = wheels.find_dist_files(staging) if staging.is_dir() else []
        if not files:
            raise ToolError(
                f"The build of {job.source.name} made no wheel or sdist; see its output above."
            )
        version = _verify(files, job, settings, now)
        wheels.require_valid(files, for_upload=not options.native)
        placed = collect(files, settings.dist_path, job.source.name, log)
    for path in placed:
        log(f"Built {path}")
    return BuildResult(placed, version)


def _verify(files: Sequence[Path], job: _Job, settings: Settings, now: datetime) -> Version:
    """The built version: the stamped one, or a computed one that obeys the rules."""
    version = built_version(files)
    if job.version is None:
        _check_rules(version, job.source, settings, job.git, now)
    elif version != job.version:
        raise ToolError(
            f"The build of {job.source.name} made version {version} instead of the nightly "
            f"version {job.version}, so its backend ignored {job.source.where}; "
            'set version_scheme = "project" and make the build produce a nightly version.'
        )
    names = {canonicalize_name(str(wheels.read_metadata(path).get("Name", ""))) for path in files}
    if names != {job.source.name}:
        raise ToolError(
            f"The build made files named {', '.join(sorted(names))}, not {job.source.name}; "
            "make [project] name match what the build backend builds."
        )
    return version
