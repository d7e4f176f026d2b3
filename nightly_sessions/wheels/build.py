"""Build nightly wheels: stamp the version, run the build tool, check what it made.

The working tree is never edited: every build runs in a temporary copy of the project
(with its git state), a static version is stamped into that copy, an scm-based one is
passed through the backend's own override variables, and a version the build computes
is read back from the built files. Nothing reaches the dist folder
unless every file passes `wheels.check_files` and the version rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nightly_sessions.core import distfiles as wheels
from nightly_sessions.core import runner
from nightly_sessions.core.commands import how_to_run
from nightly_sessions.core.config import DEFAULT_BASE_INDEX, Settings
from nightly_sessions.core.environment import Environment, find_uv, index_environment, install_tools
from nightly_sessions.core.errors import ConfigError, ToolError
from nightly_sessions.core.log import Log
from nightly_sessions.core.pyproject import read_pyproject, table
from nightly_sessions.wheels import build_deps, versioning
from nightly_sessions.wheels.project_copy import copy_project
from nightly_sessions.wheels.versioning import GitState, VersionSource

# The tools sessions install, pinned: one place to update them.
TOOLS = {"build": "build==1.6.1", "cibuildwheel": "cibuildwheel==4.3.3"}
COMPILED_BACKENDS = ("scikit_build_core", "maturin", "enscons", "py_build_cmake", "pymsbuild")
PREVIOUS = "previous"


@dataclass(frozen=True)
class BuildOptions:
    """What the user asked for on the command line."""

    native: bool = False
    isolation: bool = True
    tool_args: tuple[str, ...] = ()
    version_only: bool = False

    @property
    def print_identifiers(self) -> bool:
        return "--print-build-identifiers" in self.tool_args


@dataclass(frozen=True)
class BuildResult:
    """The files now in the dist folder and their version."""

    files: list[Path]
    version: Version | None


@dataclass(frozen=True)
class _Job:
    """Everything decided before the build runs."""

    source: VersionSource
    git: GitState | None
    compiled: bool
    version: Version | None  # None when the build computes it
    backend: str = ""


@dataclass(frozen=True)
class _Run:
    """One build: what was decided, the copy it runs in, and where it reports."""

    settings: Settings
    options: BuildOptions
    job: _Job
    copy: Path  # the project folder in the temporary copy
    variables: Mapping[str, str]  # the nightly version for scm backends
    now: datetime
    log: Log


# What kind of project this is.


def _meson_builds_extensions(root: Path) -> bool:
    for path in root.rglob("meson.build"):
        parts = path.relative_to(root).parts
        if any(part.startswith((".", "build")) for part in parts[:-1]):
            continue
        if "extension_module(" in path.read_text(encoding="utf-8", errors="replace"):
            return True
    return False


def compiled_reason(root: Path) -> str | None:
    """Why the project builds extension modules (so wheels need cibuildwheel), or None."""
    data = read_pyproject(root / "pyproject.toml")
    tool = table(data, "tool")
    backend = str(table(data, "build-system").get("build-backend", ""))
    if "cibuildwheel" in tool:
        return "pyproject.toml configures cibuildwheel"
    if backend.startswith(COMPILED_BACKENDS):
        return f"its build backend {backend} builds compiled code"
    if backend == "mesonpy" and _meson_builds_extensions(root):
        return "its meson.build files build extension modules"
    if table(tool, "setuptools").get("ext-modules"):
        return "pyproject.toml lists setuptools ext-modules"
    setup = root / "setup.py"
    text = setup.read_text(encoding="utf-8", errors="replace") if setup.is_file() else ""
    if "Extension(" in text or "ext_modules" in text:
        return "setup.py builds extension modules"
    return None


def is_compiled(root: Path) -> bool:
    """Whether the project builds extension modules, so wheels need cibuildwheel."""
    return compiled_reason(root) is not None


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
        f"{how_to_run('build')} with --native to build a wheel for this machine only "
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


# The interpreter: one that satisfies requires-python.


@dataclass(frozen=True)
class Interpreter:
    """An installed Python and its version."""

    version: Version
    path: Path


def requires_python(root: Path) -> SpecifierSet | None:
    """[project] requires-python of the project, if it sets one."""
    text = table(read_pyproject(root / "pyproject.toml"), "project").get("requires-python")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ConfigError(
            f"requires-python = {text!r} in {root / 'pyproject.toml'} is not a version "
            'specifier; write one such as ">=3.10".'
        ) from None


def choose_interpreter(
    spec: SpecifierSet, current: Interpreter, installed: Sequence[Interpreter]
) -> Interpreter | None:
    """The current Python when it satisfies `spec`, else the newest installed one that does."""
    fitting = [
        python
        for python in (current, *installed)
        if spec.contains(python.version, prereleases=True)
    ]
    if current in fitting:
        return current
    return max(fitting, key=lambda python: python.version, default=None)


def suggest_python(spec: SpecifierSet) -> str:
    """The oldest minor Python 3 release `spec` allows, for `uv python install`."""
    for minor in range(8, 100):
        if spec.contains(f"3.{minor}.0", prereleases=True):
            return f"3.{minor}"
    return str(spec)


def no_interpreter_error(
    root: Path, spec: SpecifierSet, name: str, found: Sequence[Interpreter]
) -> ConfigError:
    versions = ", ".join(sorted({str(python.version) for python in found})) or "none"
    wanted = suggest_python(spec)
    return ConfigError(
        f"{name} needs Python {spec} (requires-python in {root / 'pyproject.toml'}), but no "
        f"installed CPython satisfies it (found: {versions}); install one, for example "
        f"with `uv python install {wanted}`, and build again."
    )


def python_version(python: Path) -> Version:
    """The version of the interpreter at `python`."""
    command = [str(python), "-c", "import platform; print(platform.python_version())"]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return Version(output.strip())
    except (OSError, subprocess.CalledProcessError, InvalidVersion):
        raise ToolError(
            f"Cannot run the Python {python} to read its version; check that it works."
        ) from None


def installed_pythons(uv: str) -> list[Interpreter]:
    """The CPythons uv finds (managed ones and those on PATH); none when uv is missing."""
    command = [uv, "python", "list", "--only-installed", "--output-format", "json"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        entries = json.loads(result.stdout) if result.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    found = []
    for entry in entries:
        if entry.get("implementation") != "cpython" or entry.get("variant", "default") != "default":
            continue
        with contextlib.suppress(InvalidVersion, TypeError):
            found.append(Interpreter(Version(entry["version"]), Path(entry["path"])))
    return found


def new_environment(
    python: Path, env: Environment, folder: Path, index_url: str, requirements: Sequence[str]
) -> Environment:
    """A fresh environment of `python` holding `requirements`, managed as `env` is."""
    if env.installer == "uv":
        create = [env.uv, "venv", "--quiet", "--python", str(python), str(folder)]
    else:
        create = [str(python), "-m", "venv", str(folder)]
    runner.run(create, what=f"create an environment of {python}")
    bin_dir = folder / ("Scripts" if sys.platform == "win32" else "bin")
    created = Environment(
        bin_dir / ("python.exe" if sys.platform == "win32" else "python"), env.installer, env.uv
    )
    if requirements:
        install_tools(created, requirements, index_url)
    return created


def fitting_environment(run: _Run, env: Environment) -> Environment:
    """`env`, or a new environment of a Python that satisfies requires-python."""
    root = run.settings.project_root
    spec = requires_python(root)
    if spec is None:
        return env
    current = Interpreter(python_version(env.python), env.python)
    if spec.contains(current.version, prereleases=True):
        return env
    if not run.options.isolation:
        raise ConfigError(
            f"--no-isolation builds with Python {current.version} of {env.python}, which "
            f"requires-python {spec} in {root / 'pyproject.toml'} excludes; drop "
            "--no-isolation, or run in an environment of a Python that satisfies it."
        )
    uv = env.uv if env.installer == "uv" else (find_uv() or "uv")
    found = installed_pythons(uv)
    chosen = choose_interpreter(spec, current, found)
    if chosen is None:
        raise no_interpreter_error(root, spec, run.job.source.name, [current, *found])
    run.log(
        f"Python {current.version} does not satisfy requires-python {spec} of "
        f"{run.job.source.name}; building with Python {chosen.version} ({chosen.path})."
    )
    folder = run.copy.parent / "python"
    return new_environment(chosen.path, env, folder, run.settings.base_index_url, [TOOLS["build"]])


# The version the build will make, found without compiling.


def meson_argv(root: Path, command: Sequence[str], python: Path) -> list[str]:
    """How meson would run `command` from meson.build, with `python` for Python scripts.

    Meson runs a script in the source folder through its shebang, and a Python one with
    the Python that runs meson: the build environment's.
    """
    program, *args = command
    if program in {"python", "python3"}:
        return [str(python), *args]
    script = root / program
    if not script.is_file():
        return [program, *args]
    with script.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    words = first[2:].split() if first.startswith("#!") else []
    if program.endswith(".py") or (words and "python" in Path(words[-1]).name):
        return [str(python), str(script), *args]
    return [*words, str(script), *args] if words else [str(script), *args]


def _run_meson_command(
    copy: Path, source: VersionSource, python: Path, variables: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    argv = meson_argv(copy, source.meson_command, python)
    meson = {
        "MESON_SOURCE_ROOT": str(copy),
        "MESON_BUILD_ROOT": str(copy / "build"),
        "MESON_SUBDIR": "",
    }
    environ = runner.merged_environment({**meson, **variables})
    try:
        return subprocess.run(
            argv, cwd=copy, env=environ, capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 1, "", str(exc))


def _build_requires(run: _Run) -> list[str]:
    system = table(read_pyproject(run.copy / "pyproject.toml"), "build-system")
    return [str(item) for item in system.get("requires", [])]


def requirement_for(module: str, requires: Sequence[str]) -> str:
    """The build requirement that provides `module`, else the module's own name (a
    dependency of one, such as packaging for setuptools-scm).
    """
    return next(
        (text for text in requires if _provides(text, module)), module.split(".", maxsplit=1)[0]
    )


# How many missing imports a version script may reveal one after the other.
IMPORT_ROUNDS = 5


def _rerun_with_imports(
    run: _Run, env: Environment, failed: subprocess.CompletedProcess[str]
) -> subprocess.CompletedProcess[str]:
    """Run the version script again with what it failed to import, one module at a time;
    all build requirements, as an isolated build has, only as a last resort, since the
    large ones (numpy, Cython...) are rarely what a version script imports.
    """
    requires = _build_requires(run)
    folder = run.copy.parent / "requirements"
    ready = new_environment(env.python, env, folder, run.settings.base_index_url, [])
    result = failed
    for _ in range(IMPORT_ROUNDS):
        missing = missing_module(result.stderr)
        if missing is None:
            break
        install_tools(ready, [requirement_for(missing, requires)], run.settings.base_index_url)
        result = _run_meson_command(run.copy, run.job.source, ready.python, run.variables)
        if result.returncode == 0:
            return result
    if requires:
        install_tools(ready, requires, run.settings.base_index_url)
        result = _run_meson_command(run.copy, run.job.source, ready.python, run.variables)
    return result


def _provides(requirement: str, module: str) -> bool:
    """Whether `requirement` is the distribution of the top-level `module` (by name)."""
    try:
        name = canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return False
    return name == canonicalize_name(module.split(".", maxsplit=1)[0])


def missing_module(output: str) -> str | None:
    """The module a Python script could not import, from its traceback."""
    match = re.search(r"No module named '([\w.]+)'", output)
    return match[1] if match else None


def meson_version(run: _Run, env: Environment) -> Version:
    """What meson.build's version command prints in the copy, given the nightly variables.

    It runs first with the session's Python; when that lacks what the script imports
    (setuptools-scm, say) and the build is isolated, again with the build requirements.
    """
    source = run.job.source
    result = _run_meson_command(run.copy, source, env.python, run.variables)
    if result.returncode != 0 and run.options.isolation:
        result = _rerun_with_imports(run, env, result)
    command = " ".join(source.meson_command)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise ToolError(
            f"The version command of meson.build (`{command}`) failed ({lines[-1]}); make it "
            "run from the project folder with the build requirements installed.",
            detail=result.stderr,
        )
    text = result.stdout.strip()
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(
            f"The version command of meson.build (`{command}`) printed {text!r}, not a PEP 440 "
            "version; make it print one such as 1.2.0.dev0."
        ) from None


def sdist_version(run: _Run, env: Environment) -> Version:
    """The version of an sdist built from the copy: the backend's own, without compiling."""
    output = run.copy.parent / "probe"
    command = [str(env.python), "-m", "build", "--sdist", str(run.copy), "--outdir", str(output)]
    if not run.options.isolation:
        command.append("--no-isolation")
    elif env.installer == "uv":
        command.append("--installer=uv")
    environment = build_environment(
        run.settings, env, run.variables, cibuildwheel=False, environ=os.environ
    )
    run_tool(command, what="build an sdist to read the version", env=environment, cwd=run.copy)
    return built_version(wheels.find_dist_files(output))


def probe_needs_sdist(job: _Job) -> bool:
    """Whether only the backend can say the version: versioneer, or an unreadable meson.build."""
    computed = job.version is None and job.source.kind in {"computed", "versioneer", "scm"}
    return computed and not job.source.meson_command


def planned_version(run: _Run, env: Environment) -> Version:
    """The version the build will make, read without compiling."""
    job = run.job
    if job.source.meson_command:
        return meson_version(run, env)
    if job.version is not None:
        return job.version  # stamped, or taken by the backend through its own variables
    if job.source.current is not None and job.source.kind in {"static", "file"}:
        return job.source.current  # the "project" scheme builds the version as it is
    return sdist_version(run, env)


def run_tool(
    command: Sequence[str], *, what: str, env: Mapping[str, str | None], cwd: Path
) -> None:
    """Run a build tool in the copy; its failure names only what exists afterwards."""
    result = runner.run(command, what=what, env=env, cwd=cwd, ok_codes=range(-255, 256))
    if result.returncode != 0:
        raise ToolError(
            f"Failed to {what} ({Path(command[0]).name} exited with code {result.returncode}); "
            "its output is above.",
            detail=result.tail,
        )


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


def _prepare(settings: Settings, options: BuildOptions, now: datetime, log: Log) -> _Job:
    root = settings.project_root
    source = versioning.find_version_source(root)
    git = versioning.git_state(root)
    versioning.require_history(root, source, git)
    compiled = is_compiled(root)
    backend = str(
        table(read_pyproject(root / "pyproject.toml"), "build-system").get("build-backend", "")
    )
    if options.tool_args and not (compiled and not options.native):
        raise ConfigError(
            f"The arguments {' '.join(options.tool_args)} are for cibuildwheel, but {source.name} "
            "is built with `python -m build` here; drop them."
        )
    if settings.build_nightly_packages and not options.isolation:
        raise ConfigError(
            "--no-isolation builds with what this environment holds, so the nightlies of "
            f"build-nightly-packages ({', '.join(settings.build_nightly_packages)}) cannot be "
            "installed and proven there; drop --no-isolation, or leave build-nightly-packages "
            "empty and install the nightlies yourself."
        )
    building = not (options.print_identifiers or options.version_only)
    container = compiled and not options.native and building
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
        _check_rules(version, source, settings, git, now)
    else:
        log(f"The build computes the version of {source.name} ({source.where}); reading it first.")
    return _Job(source, git, compiled, version, backend)


def _check_planned(planned: Version, job: _Job, settings: Settings, now: datetime) -> None:
    """Hold the version the build will make to the rules, before anything compiles."""
    if job.version is None:
        _check_rules(planned, job.source, settings, job.git, now)
    elif planned != job.version:
        _ignored(planned, job, settings, now)


def _ignored(made: Version, job: _Job, settings: Settings, now: datetime) -> None:
    assert job.version is not None
    problems = versioning.rule_problems(
        made, job.source, released=_released(settings, job.source.name),
        index_url=settings.base_index_url, git=job.git, now=now,
    )  # fmt: skip
    backend = job.backend or "setuptools.build_meta:__legacy__"
    raise ConfigError(
        versioning.ignored_version_problem(
            job.source, backend=backend, made=made, nightly=job.version, own_ok=not problems
        )
    )


def build_nightly(
    settings: Settings,
    options: BuildOptions,
    env: Environment,
    *,
    install: bool = True,
    now: datetime | None = None,
    log: Log = print,
) -> BuildResult:
    """Check the version, build, check every file, then move the files into the dist folder.

    The build runs in a temporary copy of the project, so the tree stays as it was. The
    version it will make is read and checked first, so a refusal comes before a compile.
    """
    if now is None:
        now = versioning.build_moment(os.environ)
        if os.environ.get(versioning.BUILD_DATE_VARIABLE, "").strip():
            log(f"Build moment from {versioning.BUILD_DATE_VARIABLE}: {now.isoformat()}.")
    job = _prepare(settings, options, now, log)
    variables = version_variables(job.source, job.version)
    with tempfile.TemporaryDirectory(prefix="nightly-build-") as temporary:
        source_dir = copy_project(settings.project_root, Path(temporary) / "src")
        if job.version is not None and job.source.stamp is not None:
            stamp_version(source_dir, job.source, job.version)
        run = _Run(settings, options, job, source_dir, variables, now, log)
        build_env = _environment(run, env, install=install)
        planned = _pin_constant_meson_version(run, planned_version(run, build_env))
        _check_planned(planned, job, settings, now)
        if options.print_identifiers:  # checked like a build: a refusal is a refusal
            return _build(run, build_env)
        if options.version_only:
            log(f"Nightly version of {job.source.name}: {planned} (checked, nothing built).")
            return BuildResult([], planned)
        return _build(run, build_env)


def _pin_constant_meson_version(run: _Run, planned: Version) -> Version:
    """A meson version command that prints the same version every build gets replaced, in
    the copy, by that version's nightly; other versions are left as the build makes them.
    """
    job, settings = run.job, run.settings
    constant = not versioning.identifies_build(planned, job.git, run.now)
    if not (job.source.meson_command and constant and settings.version_scheme != "project"):
        return planned
    nightly = versioning.nightly_version(
        planned, scheme=settings.version_scheme, git=job.git, now=run.now
    )
    meson = run.copy / "meson.build"
    pinned = versioning.pin_meson_version(meson.read_text(encoding="utf-8"), nightly)
    if pinned is None:
        return planned
    meson.write_text(pinned, encoding="utf-8")
    run.log(
        f"Nightly version of {job.source.name}: {nightly} (the version command of meson.build "
        f"prints {planned} every build; project() gets the nightly version in the build's copy)."
    )
    return nightly


def _environment(run: _Run, env: Environment, *, install: bool) -> Environment:
    """The environment that builds: `env` with the pinned tools, or one of a fitting Python."""
    cibuildwheel = run.job.compiled and not run.options.native
    uses_python = not cibuildwheel or probe_needs_sdist(run.job)
    if run.options.version_only:  # only the backend (an sdist) needs the project's Python
        uses_python = probe_needs_sdist(run.job)
    fitting = env
    if uses_python and not run.options.print_identifiers:
        fitting = fitting_environment(run, env)
    tools = _tools(run.job, run.options) if install and fitting is env else []
    if tools:
        install_tools(env, tools, run.settings.base_index_url)
    return fitting


def _tools(job: _Job, options: BuildOptions) -> list[str]:
    """The pinned tools this run needs in the session."""
    cibuildwheel = job.compiled and not options.native
    needed = [] if options.version_only else [TOOLS["cibuildwheel" if cibuildwheel else "build"]]
    if probe_needs_sdist(job) and TOOLS["build"] not in needed:
        needed.append(TOOLS["build"])
    return needed


def _build(run: _Run, env: Environment) -> BuildResult:
    """Run the build tool in the copy, check what it made, move it to the dist folder."""
    job, options, settings = run.job, run.options, run.settings
    cibuildwheel = job.compiled and not options.native
    staging = run.copy.parent / "dist"
    variables = dict(run.variables)
    if settings.build_nightly_packages and not options.print_identifiers:
        if cibuildwheel:
            variables.update(_cibuildwheel_nightlies(run))
        else:
            env = _nightly_build_environment(run, env)
            options = dataclasses.replace(options, isolation=False)  # ours, proven
    command = build_command(env, run.copy, staging, compiled=job.compiled, options=options)
    environment = build_environment(
        settings, env, variables, cibuildwheel=cibuildwheel, environ=os.environ
    )
    # cibuildwheel copies its working folder into the Linux containers.
    what = f"build the nightly of {job.source.name}"
    run_tool(command, what=what, env=environment, cwd=run.copy)
    if options.print_identifiers:
        return BuildResult([], job.version)
    files = wheels.find_dist_files(staging) if staging.is_dir() else []
    if not files:
        raise ToolError(
            f"The build of {job.source.name} made no wheel or sdist; see its output above."
        )
    version = _verify(files, job, settings, run.now)
    wheels.require_valid(files, for_upload=not options.native)
    placed = collect(files, settings.dist_path, job.source.name, run.log)
    for path in placed:
        run.log(f"Built {path}")
    return BuildResult(placed, version)


def _build_deps(settings: Settings) -> build_deps.BuildDeps:
    return build_deps.BuildDeps(
        settings.build_nightly_packages, settings.nightly_index_url, settings.base_index_url,
        settings.strict, settings.timeout, settings.retries,
    )  # fmt: skip


def _nightly_build_environment(run: _Run, env: Environment) -> Environment:
    """A fresh environment holding the build requirements, the named ones proven nightlies."""
    folder = run.copy.parent / "nightly-build"
    folder.mkdir()
    built = new_environment(
        env.python, env, folder / "env", run.settings.base_index_url, [TOOLS["build"]]
    )
    wheel_only = run.job.compiled  # --native: `build --wheel`; else an sdist, then a wheel
    distributions = ["wheel"] if wheel_only else ["sdist", "wheel"]
    requires = _build_requires(run)
    build_deps.prepare(
        _build_deps(run.settings), built, project=run.copy, requires=requires,
        distributions=distributions, folder=folder, log=run.log,
    )  # fmt: skip
    return built


def _cibuildwheel_nightlies(run: _Run) -> dict[str, str]:
    """The pins cibuildwheel's build environments get (not proven there; see build_deps)."""
    settings = run.settings
    platform = cibuildwheel_platform(run.options.tool_args, os.environ)
    names = settings.build_nightly_packages
    files = build_deps.nightly_files(
        settings.nightly_index_url, names, timeout=settings.timeout, retries=settings.retries
    )
    pins, absent = build_deps.newest_for_platform(files, names, platform)
    if absent:
        sentence = build_deps.absent_sentence(
            absent, settings.nightly_index_url, f"the platform {platform}"
        )
        if settings.strict:
            raise ConfigError(sentence)
        run.log(f"Warning: {sentence}")
    (run.copy / build_deps.CONSTRAINTS).write_text(
        build_deps.constraints_text(pins), encoding="utf-8"
    )
    inside = run.copy if platform != "linux" else Path(build_deps.CONTAINER_PROJECT)
    for pin in pins:
        run.log(
            f"cibuildwheel builds with the constraint {pin.requirement} and the nightly index "
            "as an extra index (its installer fails the build if it cannot meet the pin)."
        )
    return build_deps.cibuildwheel_variables(
        pins, settings.nightly_index_url, (inside / build_deps.CONSTRAINTS).as_posix()
    )


def _verify(files: Sequence[Path], job: _Job, settings: Settings, now: datetime) -> Version:
    """The built version: the stamped one, or a computed one that obeys the rules."""
    version = built_version(files)
    if job.version is None:
        _check_rules(version, job.source, settings, job.git, now)
    elif version != job.version:
        _ignored(version, job, settings, now)
    names = {canonicalize_name(str(wheels.read_metadata(path).get("Name", ""))) for path in files}
    if names != {job.source.name}:
        raise ToolError(
            f"The build made files named {', '.join(sorted(names))}, not {job.source.name}; "
            "make [project] name match what the build backend builds."
        )
    return version
