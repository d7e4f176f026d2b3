"""Build against nightly build requirements (numpy before it ships wheels for a new Python).

`python -m build`: the build runs in an environment made here instead of build's own
isolated one, so it can be proven. Each named requirement is installed pinned to its
newest nightly, from the nightly index alone, as a binary, without dependencies; the
rest of [build-system] requires (and what the backend asks for on top) comes from the
base index with the nightlies held by a constraints file. The environment is then read
back, and `python -m build --no-isolation` runs in it only once every named package is
exactly its newest nightly.

cibuildwheel builds inside its own environments (on Linux, in containers), so there the
pins travel as its documented environment: the nightly index as an extra index and a
constraints file `name==<nightly>` for pip and uv. What is proven there is only that the
pins were passed; an installer that cannot meet a pin fails the build.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from nightly_sessions.core import runner
from nightly_sessions.core.environment import Environment, index_environment
from nightly_sessions.core.errors import ConfigError, ProofError, ToolError
from nightly_sessions.core.index import DistFile, IndexClient, newest_compatible
from nightly_sessions.core.interpreter import WheelTarget, wheel_target
from nightly_sessions.core.log import Log
from nightly_sessions.core.redact import redact

CONSTRAINTS = "nightly-build-constraints.txt"
# Where cibuildwheel puts the project inside its Linux containers.
CONTAINER_PROJECT = "/project"
MARKER = "NIGHTLY-SESSIONS-BUILD-ENV:"
# The versions of the named packages, and which of them something in the environment (or
# the build's own requirements, given as JSON) requires; `build` itself does not count.
_VERSIONS_SCRIPT = f"""
import json, sys
from importlib import metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
names, direct = json.loads(sys.argv[1]), json.loads(sys.argv[2])
required = set()
def add(texts):
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({{"extra": ""}}):
            required.add(canonicalize_name(requirement.name))
add(direct)
for dist in metadata.distributions():
    if canonicalize_name(dist.metadata["Name"] or "") != "build":
        add(dist.requires or [])
versions = {{}}
for name in names:
    try:
        versions[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        versions[name] = None
print({MARKER!r} + json.dumps({{"versions": versions, "required": sorted(required)}}))
"""
# What the backend asks for on top of [build-system] requires (setuptools, scikit-build-core).
_REQUIRES_SCRIPT = f"""
import json, sys
import build
builder = build.ProjectBuilder(sys.argv[1])
found = set()
for distribution in sys.argv[2:]:
    found |= set(builder.get_requires_for_build(distribution))
print({MARKER!r} + json.dumps(sorted(found)))
"""


@dataclass(frozen=True)
class NightlyPin:
    """A build requirement pinned to its newest nightly."""

    name: str
    version: Version
    filename: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def choose_pins(
    files: Mapping[str, Sequence[DistFile]], names: Sequence[str], target: WheelTarget
) -> tuple[list[NightlyPin], list[str]]:
    """The newest nightly wheel of each name that fits `target`, and the names without one."""
    pins, absent = [], []
    for name in names:
        newest = newest_compatible(files.get(name, []), target.tags, target.python)
        if newest is None:
            absent.append(name)
        else:
            pins.append(NightlyPin(name, newest.version, newest.filename))
    return pins, absent


def newest_for_platform(
    files: Mapping[str, Sequence[DistFile]], names: Sequence[str], platform: str
) -> tuple[list[NightlyPin], list[str]]:
    """For cibuildwheel: the newest nightly version with a wheel for `platform` (any
    Python), since one constraint serves every build identifier of the run."""
    marks = {"linux": ("linux",), "macos": ("macosx",), "windows": ("win",)}.get(platform, ())
    pins, absent = [], []
    for name in names:
        wheels = [
            dist
            for dist in files.get(name, [])
            if dist.is_wheel
            and not dist.yanked
            and any(tag.platform == "any" or _on(tag.platform, marks) for tag in dist.tags)
        ]
        if not wheels:
            absent.append(name)
            continue
        newest = max(wheels, key=lambda dist: dist.version)
        pins.append(NightlyPin(name, newest.version, newest.filename))
    return pins, absent


def _on(platform: str, marks: Sequence[str]) -> bool:
    return any(mark in platform for mark in marks)  # manylinux_2_28_x86_64 is a linux one


@dataclass(frozen=True)
class BuildEnvironment:
    """What the build environment holds, as its own interpreter reads it."""

    versions: Mapping[str, str | None]
    required: frozenset[str]  # names the build's requirements (and theirs) ask for


def proof_problems(pins: Iterable[NightlyPin], state: BuildEnvironment) -> list[str]:
    """What is wrong with the build environment, package by package; [] when proven."""
    problems = []
    for pin in pins:
        found = state.versions.get(pin.name)
        if pin.name not in state.required:
            problems.append(
                f"{pin.name} is no build requirement (neither [build-system] requires, the "
                "backend nor another build requirement asks for it)"
            )
        elif found is None:
            problems.append(f"{pin.name} is not installed")
        elif Version(found) != pin.version:
            problems.append(f"{pin.name} is {found}, not the nightly {pin.version}")
    return problems


def constraints_text(pins: Iterable[NightlyPin]) -> str:
    return "".join(f"{pin.requirement}\n" for pin in pins)


def absent_sentence(absent: Sequence[str], index_url: str, where: str) -> str:
    names = ", ".join(absent)
    return (
        f"The nightly index {redact(index_url)} has no wheel of {names} for {where}; drop "
        f"{'it' if len(absent) == 1 else 'them'} from build-nightly-packages, or set "
        "strict = false to build against the base index's release instead."
    )


def nightly_files(
    index_url: str, names: Sequence[str], *, timeout: float, retries: int
) -> dict[str, list[DistFile]]:
    return IndexClient(index_url, timeout=timeout, retries=retries).files_many(names)


def _script(env: Environment, script: str, *args: str, what: str) -> object:
    result = runner.run([str(env.python), "-c", script, *args], what=what, echo=False)
    for line in reversed(result.output.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise ToolError(f"Could not {what}: the script printed nothing readable; report this.")


def read_back(env: Environment, names: Sequence[str], direct: Sequence[str]) -> BuildEnvironment:
    """The named packages' versions in the build environment, and what is required there."""
    data = _script(
        env, _VERSIONS_SCRIPT, json.dumps(list(names)), json.dumps(list(direct)),
        what="read the build environment back",
    )  # fmt: skip
    assert isinstance(data, dict)
    versions = {str(k): None if v is None else str(v) for k, v in data["versions"].items()}
    return BuildEnvironment(versions, frozenset(map(str, data["required"])))


@dataclass(frozen=True)
class BuildDeps:
    """What the proven build environment needs to know."""

    names: tuple[str, ...]
    nightly_index_url: str
    base_index_url: str
    strict: bool
    timeout: float
    retries: int


def prepare(
    deps: BuildDeps,
    env: Environment,
    *,
    project: Path,
    requires: Sequence[str],
    distributions: Sequence[str],
    folder: Path,
    log: Log,
) -> list[NightlyPin]:
    """Install the build requirements into `env` with the named ones as nightlies, then
    prove them; return the pins that held. `env` is a fresh environment holding `build`.
    """
    target = wheel_target(env.python)
    files = nightly_files(
        deps.nightly_index_url, deps.names, timeout=deps.timeout, retries=deps.retries
    )
    pins, absent = choose_pins(files, deps.names, target)
    if absent:
        sentence = absent_sentence(absent, deps.nightly_index_url, f"Python {target.python} here")
        if deps.strict:
            raise ConfigError(sentence)
        log(f"Warning: {sentence}")
    if pins:
        listed = ", ".join(pin.requirement for pin in pins)
        runner.run(
            env.install(env.prerelease_flag(), "--only-binary", ":all:", "--no-deps",
                        *(pin.requirement for pin in pins)),
            what=f"install the nightly build requirements {listed} from "
            f"{redact(deps.nightly_index_url)}",
            env=index_environment(deps.nightly_index_url),
        )  # fmt: skip
    constraints = folder / CONSTRAINTS
    constraints.write_text(constraints_text(pins), encoding="utf-8")
    _install_held(env, requires, constraints, deps.base_index_url, "the build requirements")
    asked = _script(
        env, _REQUIRES_SCRIPT, str(project), *distributions,
        what="ask the build backend what else it needs",
    )  # fmt: skip
    assert isinstance(asked, list)
    backend = [str(item) for item in asked]
    _install_held(env, backend, constraints, deps.base_index_url,
                  "what the build backend asks for")  # fmt: skip
    state = read_back(env, [pin.name for pin in pins], [*requires, *backend])
    return _prove(pins, state, deps, log)


def _install_held(
    env: Environment, requirements: Sequence[str], constraints: Path, index_url: str, what: str
) -> None:
    if not requirements:
        return
    runner.run(
        env.install("-c", str(constraints), *requirements),
        what=f"install {what} ({', '.join(requirements)}) from {redact(index_url)}",
        env=index_environment(index_url),
    )


def _prove(
    pins: Sequence[NightlyPin], state: BuildEnvironment, deps: BuildDeps, log: Log
) -> list[NightlyPin]:
    problems = proof_problems(pins, state)
    if problems:
        sentence = (
            "The build environment does not hold every nightly build requirement: "
            + "; ".join(problems)
            + "; check [build-system] requires of pyproject.toml."
        )
        if deps.strict:
            raise ProofError(sentence)
        log(f"Warning: {sentence}")
    proven = [pin for pin in pins if not proof_problems([pin], state)]
    for pin in proven:
        log(
            f"Building against the nightly {pin.name} {pin.version} ({pin.filename}), "
            "read back from the build environment."
        )
    return proven


def cibuildwheel_variables(
    pins: Sequence[NightlyPin], nightly_index_url: str, constraints: str
) -> dict[str, str]:
    """The variables cibuildwheel's build environments get: the nightly index as an extra
    one, the pins as constraints, for pip (its isolated builds read PIP_CONSTRAINT, pip
    25.3 on PIP_BUILD_CONSTRAINT) and for uv (`build[uv]` installs with `uv pip`, which
    reads UV_CONSTRAINT; the `uv` frontend's `uv build` reads UV_BUILD_CONSTRAINT)."""
    if not pins:
        return {}
    return {
        "PIP_EXTRA_INDEX_URL": nightly_index_url,
        "PIP_CONSTRAINT": constraints,
        "PIP_BUILD_CONSTRAINT": constraints,
        "UV_INDEX": nightly_index_url,
        "UV_INDEX_STRATEGY": "unsafe-best-match",
        "UV_CONSTRAINT": constraints,
        "UV_BUILD_CONSTRAINT": constraints,
    }
