"""Read a project's pyproject.toml: its settings table and its requirements."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from nightly_sessions.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TEST_NAMES = ("test", "tests", "testing")
# Extras that hold a project's runtime dependencies when [project.dependencies] is empty.
RUNTIME_EXTRA_NAMES = ("default",)


def table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The nested table at `keys`; empty when a key is absent or not a table."""
    for key in keys:
        value = data.get(key, {})
        data = value if isinstance(value, dict) else {}
    return data


def read_pyproject(path: Path) -> dict[str, Any]:
    """Parse `path`; a missing file is empty, a malformed one a ConfigError with the line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be read); TOML files must "
            "be UTF-8: save it as UTF-8 without a byte order mark and run again."
        ) from None
    if text.startswith("\ufeff"):
        raise ConfigError(
            f"{path} starts with a byte order mark, which TOML does not allow; save it as "
            "UTF-8 without a byte order mark and run again."
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({exc}); fix the file and run again."
        ) from None


@dataclass(frozen=True)
class Sourced:
    """A requirement and where the project lists it, as the plan shows it."""

    requirement: Requirement
    source: str  # "dependencies", "extra 'default'", "extra 'complete' via 'io'", "group 'test'"


@dataclass(frozen=True)
class ProjectInfo:
    """The parts of [project] and [dependency-groups] the nightly plan needs."""

    path: Path
    name: str | None
    dependencies: tuple[str, ...] = ()
    optional_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dependency_groups: dict[str, Any] = field(default_factory=dict)
    dynamic: tuple[str, ...] = ()  # [project] fields the build backend computes

    @property
    def dynamic_dependencies(self) -> bool:
        """Whether the build computes the dependencies (h5py's setup.py): none to read."""
        return "dependencies" in self.dynamic

    def test_extras(self) -> tuple[str, ...]:
        """The conventional test extra, if the project defines one."""
        return tuple(name for name in TEST_NAMES if name in self.optional_dependencies)[:1]

    def runtime_extras(self) -> tuple[str, ...]:
        """Extras that hold the runtime dependencies: those named in RUNTIME_EXTRA_NAMES,
        when [project.dependencies] is empty (networkx's `default` convention).
        """
        if self.dependencies:
            return ()
        return tuple(name for name in RUNTIME_EXTRA_NAMES if name in self.optional_dependencies)

    def default_extras(self) -> tuple[str, ...]:
        """What "auto" installs: the runtime extras, then the test extra."""
        return tuple(dict.fromkeys((*self.runtime_extras(), *self.test_extras())))

    def default_groups(self) -> tuple[str, ...]:
        """The conventional test dependency group, if the project defines one."""
        groups = {canonicalize_name(name) for name in self.dependency_groups}
        return tuple(name for name in TEST_NAMES if name in groups)[:1]

    def requirements(self, extras: Iterable[str], groups: Iterable[str]) -> list[Requirement]:
        """Runtime requirements plus those of the chosen extras and dependency groups."""
        return [item.requirement for item in self.sourced_requirements(extras, groups)]

    def sourced_requirements(self, extras: Iterable[str], groups: Iterable[str]) -> list[Sourced]:
        """Every requirement of the install, each with the table it comes from."""
        found = [
            Sourced(_requirement(text, "[project.dependencies]", self.path), "dependencies")
            for text in self.dependencies
        ]
        for extra in extras:
            found += self.extra_requirements(extra)
        for group in groups:
            found += self._group_sourced(group)
        return found

    def _group_sourced(self, group: str) -> list[Sourced]:
        """A group's requirements; one on the project itself brings its extras (xarray's
        group `dev` asks for `xarray[complete,types]`).
        """
        found: list[Sourced] = []
        for requirement in self._group_requirements(group):
            if self._is_self(requirement):
                for extra in sorted(requirement.extras):
                    found += [
                        Sourced(item.requirement, f"group {group!r} via {item.source}")
                        for item in self.extra_requirements(extra)
                    ]
            else:
                found.append(Sourced(requirement, f"group {group!r}"))
        return found

    def _is_self(self, requirement: Requirement) -> bool:
        return bool(self.name) and canonicalize_name(requirement.name) == canonicalize_name(
            self.name or ""
        )

    def extra_requirements(self, extra: str) -> list[Sourced]:
        """The requirements of `extra`, with extras of the project itself expanded
        (xarray's `complete = ["xarray[io,viz]"]`).
        """
        return self._expand_extra(extra, via=None, seen=set())

    def _expand_extra(self, extra: str, via: str | None, seen: set[str]) -> list[Sourced]:
        extra = canonicalize_name(extra)
        if extra not in self.optional_dependencies:
            known = ", ".join(sorted(self.optional_dependencies)) or "none"
            raise ConfigError(
                f"Extra {extra!r} is not in [project.optional-dependencies] of {self.path} "
                f"(defined: {known}); fix the 'extras' setting."
            )
        seen.add(extra)
        top = via or extra
        source = f"extra {top!r}" + (f" via {extra!r}" if via else "")
        where = f"[project.optional-dependencies] {extra}"
        found: list[Sourced] = []
        for text in self.optional_dependencies[extra]:
            requirement = _requirement(text, where, self.path)
            if self._is_self(requirement):
                for inner in sorted(requirement.extras):
                    if canonicalize_name(inner) not in seen:
                        found += self._expand_extra(inner, via=top, seen=seen)
                continue
            found.append(Sourced(requirement, source))
        return found

    def group_requirements(self, groups: Iterable[str]) -> list[Requirement]:
        """The requirements of the chosen dependency groups (PEP 735, includes resolved)."""
        return [requirement for group in groups for requirement in self._group_requirements(group)]

    def _group_requirements(self, group: str) -> list[Requirement]:
        where = f"[dependency-groups] {group}"
        return [_requirement(text, where, self.path) for text in self._group(group)]

    def _group(self, group: str) -> tuple[str, ...]:
        from dependency_groups import resolve

        try:
            return tuple(resolve(self.dependency_groups, group))
        except (LookupError, ValueError, TypeError) as exc:
            known = ", ".join(sorted(self.dependency_groups)) or "none"
            raise ConfigError(
                f"Dependency group {group!r} cannot be read from {self.path} ({exc}); "
                f"defined groups: {known}. Fix the 'groups' setting or the table."
            ) from None


def _requirement(text: str, where: str, path: Path) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ConfigError(f"Requirement {text!r} in {where} of {path} is invalid: {exc}.") from None


def _string_tuple(value: object, where: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} in {path} must be a list of requirement strings.")
    return tuple(value)


def read_project(root: Path) -> ProjectInfo:
    """Read the [project] table of `root`/pyproject.toml, which must exist."""
    path = root / "pyproject.toml"
    if not path.is_file():
        raise ConfigError(
            f"No pyproject.toml in {root}; run this in the project's root folder "
            "(or pass --project to python -m nightly_sessions)."
        )
    data = read_pyproject(path)
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise ConfigError(f"[project] in {path} must be a table.")
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise ConfigError(f"[project.optional-dependencies] in {path} must be a table.")
    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict):
        raise ConfigError(f"[dependency-groups] in {path} must be a table.")
    name = project.get("name")
    return ProjectInfo(
        path=path,
        name=name if isinstance(name, str) else None,
        dependencies=_string_tuple(project.get("dependencies", []), "[project.dependencies]", path),
        optional_dependencies={
            canonicalize_name(extra): _string_tuple(reqs, f"extra {extra!r}", path)
            for extra, reqs in optional.items()
        },
        dependency_groups=groups,
        dynamic=tuple(item for item in project.get("dynamic", []) if isinstance(item, str))
        if isinstance(project.get("dynamic"), list)
        else (),
    )
