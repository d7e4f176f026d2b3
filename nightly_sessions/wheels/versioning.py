"""Where a project's version lives, the nightly version of its next release, and its rules.

A nightly version must (1) be a pre-release, (2) sort above everything on the base index
so that users of the channel get it, and (3) change from build to build so that an upload
never has to overwrite a file. Versions we stamp obey these by construction; versions the
build computes (versioneer, a script run from meson.build) are held to them afterwards.
"""

from __future__ import annotations

import configparser
import contextlib
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.pyproject import read_pyproject, table

SourceKind = Literal["static", "file", "scm", "versioneer", "computed"]

# `__version__ = "1.2.3"` (also `VERSION`, with an optional `: str`), as hatch's default.
ASSIGNMENT = r"""(?m)^(?:__version__|VERSION)\s*(?::\s*str\s*)?=\s*(['"])v?(?P<version>[^'"]+)\1"""
SCM_BACKENDS = ("setuptools_scm", "setuptools-scm")


@dataclass(frozen=True)
class Stamp:
    """How to rewrite the version in one file of a copy of the project.

    With `project_table`, only the [project] table of the (TOML) file is searched.
    """

    file: Path  # relative to the project root
    pattern: str  # a regex with a group named `version`
    project_table: bool = False
    layout: str = "write the version there once, as a plain string"  # how to make it match

    def _match(self, text: str) -> re.Match[str] | None:
        start, end = _project_span(text) if self.project_table else (0, len(text))
        matches = list(re.compile(self.pattern).finditer(text, start, end))
        return matches[0] if len(matches) == 1 else None

    def read(self, root: Path) -> str | None:
        """The version the file holds, or None when the pattern does not match exactly once."""
        match = self._match(_read_text(root / self.file))
        return match.group("version").strip() if match else None

    def require(self, root: Path) -> None:
        """Raise ConfigError saying which layout is expected when `write` could not work."""
        if self.read(root) is None:
            raise ConfigError(
                f"Cannot find exactly one version to replace in {self.file}; {self.layout}."
            )

    def write(self, root: Path, version: Version) -> None:
        """Put `version` in place of the current one (the file must hold it exactly once)."""
        self.require(root)
        path = root / self.file
        text = _read_text(path)
        match = self._match(text)
        assert match is not None
        start, end = match.span("version")
        path.write_text(text[:start] + str(version) + text[end:], encoding="utf-8")


@dataclass(frozen=True)
class VersionSource:
    """Where the version lives, what it is now and how to move it.

    `fix` says how the maintainer moves the version, with `{version}` for the target.
    `overrides` are the variables through which an scm backend takes a version as given.
    `meson_command`, run in the project folder, prints the version meson-python will build,
    so it can be read (and checked) without compiling.
    """

    kind: SourceKind
    name: str
    where: str
    fix: str
    current: Version | None = None
    stamp: Stamp | None = None
    overrides: tuple[str, ...] = ()
    meson_command: tuple[str, ...] = ()  # what project() in meson.build runs for its version

    @property
    def stamped(self) -> bool:
        """Whether the nightly version is set by us rather than computed by the build."""
        return self.kind in {"static", "file", "scm"}


@dataclass(frozen=True)
class GitState:
    """The commit being built, and the tags on it (a version at a tag names its commit)."""

    commit: str
    time: datetime
    tags: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.commit[:7]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None


def _git(root: Path, *args: str) -> str | None:
    """Output of a read-only git command, or None outside a repository or without git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_state(root: Path) -> GitState | None:
    """The commit checked out at `root` and its committer time; None outside git."""
    line = _git(root, "log", "-1", "--format=%H %ct")
    if not line:
        return None
    commit, stamp = line.split()
    tags = tuple((_git(root, "tag", "--points-at", "HEAD") or "").split())
    return GitState(commit, datetime.fromtimestamp(int(stamp), tz=timezone.utc), tags)


def require_history(root: Path, source: VersionSource, git: GitState | None) -> None:
    """Versions from git tags need a checkout with its tags, not an export or a shallow clone."""
    if source.kind not in {"scm", "versioneer"}:
        return
    if git is None:
        raise ConfigError(
            f"{source.name} takes its version from {source.where}, but {root} is not a git "
            "checkout (or git is not installed); build from a clone with its tags."
        )
    shallow = _git(root, "rev-parse", "--is-shallow-repository") == "true"
    if shallow and latest_tag(root) is None:
        raise ConfigError(
            f"{root} is a shallow clone without the tags {source.name} takes its version from; "
            "fetch them (actions/checkout with fetch-depth: 0, or git fetch --unshallow --tags)."
        )


def _tag_version(tag: str, pattern: str | None) -> Version | None:
    """The version in a tag such as v1.2.0 or project-1.2.0; None for other tags."""
    if pattern:
        match = re.search(pattern, tag)
        text = (match.groupdict().get("version") or match.group(1)) if match else None
    else:
        match = re.search(r"\d.*$", tag)
        text = match.group(0) if match else None
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def latest_tag(root: Path, pattern: str | None = None) -> Version | None:
    """The highest version among tags reachable from HEAD."""
    listing = _git(root, "tag", "--merged", "HEAD")
    versions = [_tag_version(tag, pattern) for tag in (listing or "").split()]
    found = [version for version in versions if version is not None]
    return max(found) if found else None


# Finding the version source.


# TOML allows indentation, spaces inside the brackets, a quoted key and a trailing comment.
_COMMENT = r"[ \t]*(?:#[^\n]*)?$"
PROJECT_HEADER = rf"""(?m)^[ \t]*\[[ \t]*(?:project|"project"|'project')[ \t]*\]{_COMMENT}"""
NEXT_HEADER = r"(?m)^[ \t]*\["


def _project_span(text: str) -> tuple[int, int]:
    """Where the [project] table of a pyproject.toml text starts and ends."""
    start = re.search(PROJECT_HEADER, text)
    if start is None:
        return 0, 0
    end = re.search(NEXT_HEADER, text[start.end() :])
    return start.end(), start.end() + end.start() if end else len(text)


# `version = "1.2.0"` on its own line, with either quote style (a literal or a basic string).
STATIC = (
    r"""(?m)^[ \t]*(?:version|"version"|'version')[ \t]*=[ \t]*"""
    rf"""(?P<quote>["'])(?P<version>[^"'\\\n]+)(?P=quote){_COMMENT}"""
)
STATIC_LAYOUT = (
    'put `version = "{version}"` on a line of its own in the [project] table of '
    "pyproject.toml (a comment after it is fine), or make the version dynamic (setuptools-scm, "
    "hatch-vcs, or __version__ in a module)"
)


def _module_file(root: Path, module: str, package_dirs: Sequence[str] = ("", "src")) -> Path | None:
    """The file of a dotted module name under the usual package folders."""
    parts = module.split(".")
    for base in package_dirs:
        folder = root / base if base else root
        for candidate in (
            folder.joinpath(*parts, "__init__.py"),
            folder.joinpath(*parts[:-1], parts[-1] + ".py"),
        ):
            if candidate.is_file():
                return candidate.relative_to(root)
    return None


def _file_source(
    root: Path, name: str, file: Path | None, pattern: str, where: str
) -> VersionSource:
    if file is None or not (root / file).is_file():
        raise ConfigError(
            f"The version of {name} is read from {where}, but that file was not found; "
            "fix the path in pyproject.toml."
        )
    stamp = Stamp(file, pattern)
    text = stamp.read(root)
    if text is None:
        raise ConfigError(
            f'Cannot find exactly one version assignment (such as __version__ = "1.2.0") in '
            f"{file}; write the version there as a plain string."
        )
    return VersionSource(
        "file",
        name,
        str(file),
        f'set the version in {file} to "{{version}}"',
        _parse(text, str(file)),
        stamp,
    )


def _parse(text: str, where: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ConfigError(
            f"The version {text!r} in {where} is not a PEP 440 version; use one such as 1.2.0."
        ) from None


def _scm_source(root: Path, name: str, tool: str, pattern: str | None) -> VersionSource:
    dist = re.sub(r"[-_.]+", "_", name).upper()
    # setuptools-scm reads _FOR_<DIST> only when told the distribution name; hatch-vcs and
    # version scripts run from meson.build (get_version(root=...)) do not tell it, so both.
    scm = ("SETUPTOOLS_SCM_PRETEND_VERSION", f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{dist}")
    overrides = {
        "setuptools-scm": scm,
        "hatch-vcs": scm,
        "pdm-backend": (f"PDM_BUILD_SCM_VERSION_FOR_{dist}", "PDM_BUILD_SCM_VERSION"),
    }[tool]
    current = latest_tag(root, pattern) or Version("0.0")
    return VersionSource(
        "scm",
        name,
        f"git tags ({tool})",
        'tag the default branch: git tag -a v{version} -m "Start {version}" '
        "&& git push origin v{version}",
        current,
        overrides=overrides,
    )


def _plugin_source(root: Path, data: dict[str, Any], name: str) -> VersionSource | None:
    """A version configured in [tool.hatch.version] or [tool.pdm.version]."""
    hatch = table(data, "tool", "hatch", "version")
    pdm = table(data, "tool", "pdm", "version")
    if hatch.get("source") == "vcs":
        return _scm_source(root, name, "hatch-vcs", hatch.get("tag-pattern") or None)
    if "path" in hatch:
        pattern = hatch.get("pattern")
        pattern = pattern if isinstance(pattern, str) else ASSIGNMENT
        return _file_source(root, name, Path(hatch["path"]), pattern, "[tool.hatch.version]")
    if pdm.get("source") == "scm":
        return _scm_source(root, name, "pdm-backend", pdm.get("tag_regex") or None)
    if pdm.get("source") == "file" and "path" in pdm:
        return _file_source(root, name, Path(pdm["path"]), ASSIGNMENT, "[tool.pdm.version]")
    return None


def _dynamic_source(root: Path, data: dict[str, Any], name: str) -> VersionSource:
    """The version source of a project that lists `version` in `dynamic`."""
    backend = str(table(data, "build-system").get("build-backend", ""))
    requires = " ".join(map(str, table(data, "build-system").get("requires", []))).lower()
    setuptools = table(data, "tool", "setuptools", "dynamic")
    plugin = _plugin_source(root, data, name)
    if plugin is not None:
        return plugin
    scm = "setuptools_scm" in table(data, "tool")
    if not scm and isinstance(setuptools.get("version"), dict):
        return _setuptools_dynamic(root, data, name, setuptools["version"])
    if scm or any(backend in requires for backend in SCM_BACKENDS):
        pattern = table(data, "tool", "setuptools_scm").get("tag_regex") or None
        source = _scm_source(root, name, "setuptools-scm", pattern)
        if backend == "mesonpy":  # a version script that calls setuptools-scm
            return replace(source, meson_command=_meson_command(root))
        return source
    if "versioneer" in table(data, "tool") or "versioneer" in requires:
        return _versioneer_source(name)
    found = _backend_source(root, data, name, backend) or _setup_py_source(root, name)
    return found or _raise(_not_found(name))


def _backend_source(
    root: Path, data: dict[str, Any], name: str, backend: str
) -> VersionSource | None:
    """Backends that find the version themselves: meson-python and flit."""
    if backend == "mesonpy":
        return _meson_source(root, name)
    if backend.startswith("flit"):
        module = str(table(data, "tool", "flit", "module").get("name", name)).replace("-", "_")
        file = _module_file(root, module)
        return _file_source(root, name, file, ASSIGNMENT, f"the module {module} (flit)")
    return None


def _setuptools_dynamic(
    root: Path, data: dict[str, Any], name: str, spec: dict[str, Any]
) -> VersionSource:
    if "file" in spec:
        files = spec["file"] if isinstance(spec["file"], list) else [spec["file"]]
        return _file_source(
            root, name, Path(files[0]), r"\A\s*(?P<version>\S+)\s*\Z", "[tool.setuptools.dynamic]"
        )
    module, _, attribute = str(spec.get("attr", "")).rpartition(".")
    dirs = table(data, "tool", "setuptools", "package-dir")
    package_dirs = [str(dirs[""])] if "" in dirs else ["", "src"]
    pattern = rf"""(?m)^{re.escape(attribute)}\s*(?::\s*str\s*)?=\s*(['"])v?(?P<version>[^'"]+)\1"""
    file = _module_file(root, module, package_dirs) if module else None
    return _file_source(
        root, name, file, pattern, f"{spec.get('attr')} ([tool.setuptools.dynamic])"
    )


def _versioneer_source(name: str) -> VersionSource:
    return VersionSource(
        "versioneer",
        name,
        "git tags (versioneer)",
        "tag the default branch with the next version's .dev0, as pandas does: "
        'git tag -a v{version} -m "Start {version}" && git push origin v{version}',
    )


MESON_LITERAL = r"""(?s)\A(?:(?!\bproject\s*\().)*\bproject\s*\((?:[^()]|\([^()]*\))*?\bversion\s*:\s*'(?P<version>[^']*)'"""


def _meson_source(root: Path, name: str) -> VersionSource:
    """meson-python takes the version from meson.build: a literal, or computed by a command."""
    meson = root / "meson.build"
    stamp = Stamp(Path("meson.build"), MESON_LITERAL)
    literal = stamp.read(root) if meson.is_file() else None
    if literal is not None:
        fix = "set version: '{version}' in project() of meson.build"
        return VersionSource(
            "file", name, "meson.build", fix, _parse(literal, "meson.build"), stamp
        )
    return VersionSource(
        "computed",
        name,
        "the command run by meson.build",
        "make the version command in meson.build produce {version} or later "
        "(with +git<date>.<hash> appended, as numpy does)",
        meson_command=_meson_command(root),
    )


# `version: run_command(...)` in project() of meson.build, as numpy, scipy and scikit-image
# have it. Only string literals, `/` joins and the source-root functions are understood.
_MESON_RUN = r"(?s)\bproject\s*\((?:[^()]|\([^()]*\))*?\bversion\s*:\s*run_command\s*\("
_MESON_TOKEN = re.compile(
    r"""(?P<skip>\s+|\#[^\n]*|\w+\s*:\s*\w+|[\[\],])|'(?P<string>(?:[^'\\\n]|\\.)*)'"""
    r"""|(?P<root>meson\.(?:project_|global_|current_)?source_(?:root|dir)\(\s*\))"""
    r"""|(?P<op>[/()])"""
)


def meson_version_command(text: str) -> tuple[str, ...]:
    """The command `version: run_command(...)` in project() runs, from the source root.

    Empty when there is none or it uses anything but literals: the build alone can run it.
    """
    start = re.search(_MESON_RUN, text)
    parts: list[str] = []
    joining = False
    position = start.end() if start else len(text)
    while (token := _MESON_TOKEN.match(text, position)) is not None:
        position = token.end()
        if token.group("skip"):
            continue
        if token.group("op") in {"(", ")"}:
            return tuple(parts) if token.group("op") == ")" else ()
        if token.group("op") == "/":
            joining = bool(parts)
            continue
        value = "." if token.group("root") else re.sub(r"\\(.)", r"\1", token.group("string"))
        parts[-1:] = [_meson_join(parts[-1], value)] if joining else [*parts[-1:], value]
        joining = False
    return ()


def pin_meson_version(text: str, version: Version) -> str | None:
    """meson.build with project()'s `version: run_command(...)...` replaced by `version`.

    For a version command that prints the same version every build (scikit-learn's
    script reads `__version__` from the package): meson-python then builds the nightly
    version. None when there is no such expression to replace.
    """
    start = re.search(_MESON_RUN, text)
    if start is None:
        return None
    position = _closing(text, start.end() - 1)
    if position is None:
        return None
    while chained := re.match(r"\s*\.\s*\w+\s*\(\s*\)", text[position:]):
        position += chained.end()
    call = text.index("run_command", start.start())
    return f"{text[:call]}'{version}'{text[position:]}"


def _closing(text: str, opening: int) -> int | None:
    """The index after the parenthesis that closes the one at `opening`, strings skipped."""
    depth = 0
    for match in re.finditer(r"'(?:[^'\\\n]|\\.)*'|[()]", text[opening:]):
        if match[0] == "(":
            depth += 1
        elif match[0] == ")":
            depth -= 1
            if depth == 0:
                return opening + match.end()
    return None


def identifies_build(version: Version, git: GitState | None, now: datetime) -> bool:
    """Whether `version` names this build (its commit, tag or date): a nightly's mark."""
    return _identifies_build(version, git, now)


def _meson_join(left: str, right: str) -> str:
    """Meson's `/` on paths: the right side wins when it is absolute."""
    return right if right.startswith("/") else f"{left.rstrip('/')}/{right}"


def _meson_command(root: Path) -> tuple[str, ...]:
    meson = root / "meson.build"
    return meson_version_command(_read_text(meson)) if meson.is_file() else ()


def _not_found(name: str) -> ConfigError:
    return ConfigError(
        f"Cannot tell where the version of {name} comes from; set [project] version in "
        "pyproject.toml, or list it in dynamic with setuptools-scm, hatch-vcs, versioneer, "
        "[tool.setuptools.dynamic], [tool.hatch.version] or meson.build."
    )


def _setup_py_source(root: Path, name: str) -> VersionSource | None:
    """A version set in setup.py: versioneer, setuptools-scm, or a literal version="..."."""
    setup = root / "setup.py"
    text = _read_text(setup) if setup.is_file() else ""
    if "versioneer" in text:
        return _versioneer_source(name)
    if "setuptools_scm" in text or "use_scm_version" in text:
        return _scm_source(root, name, "setuptools-scm", None)
    pattern = r"""\bversion\s*=\s*(['"])(?P<version>[^'"]+)\1"""
    if len(re.findall(pattern, text)) == 1:
        return _file_source(root, name, Path("setup.py"), pattern, "setup.py")
    return None


def _legacy_name(root: Path) -> str:
    """The name of a project without a [project] table, from setup.py or setup.cfg."""
    setup = root / "setup.py"
    text = _read_text(setup) if setup.is_file() else ""
    names = re.findall(r"""\bname\s*=\s*['"]([^'"]+)['"]""", text)
    cfg = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(configparser.Error):
        cfg.read(root / "setup.cfg", encoding="utf-8")
    names += [cfg.get("metadata", "name", fallback="")] if cfg.has_section("metadata") else []
    names = [name for name in names if name]
    if not names:
        raise ConfigError(
            f"Cannot find the name of the project in {root}; add a [project] table with name "
            "and version to pyproject.toml."
        )
    return str(canonicalize_name(names[0]))


def _project_name(project: dict[str, Any], root: Path) -> str:
    name = project.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            f"{root / 'pyproject.toml'} has no [project] name; nightly builds need it to name "
            "the files and to find earlier releases."
        )
    return str(canonicalize_name(name))


def find_version_source(root: Path) -> VersionSource:
    """Where the version of the project at `root` lives; ConfigError saying what to add if unknown."""
    data = read_pyproject(root / "pyproject.toml")
    project = table(data, "project")
    if not project:
        name = _legacy_name(root)
        return _setup_py_source(root, name) or _raise(_not_found(name))
    name = _project_name(project, root)
    if "version" in project.get("dynamic", []):
        return _dynamic_source(root, data, name)
    if not isinstance(project.get("version"), str):
        raise ConfigError(
            f"[project] of {root / 'pyproject.toml'} has neither version nor dynamic = "
            '["version"]; add one of them.'
        )
    current = _parse(project["version"], "pyproject.toml")
    layout = STATIC_LAYOUT.format(version=project["version"])
    stamp = Stamp(Path("pyproject.toml"), STATIC, project_table=True, layout=layout)
    fix = 'set version = "{version}" in [project] of pyproject.toml'
    return VersionSource("static", name, "pyproject.toml", fix, current, stamp)


def _raise(error: ConfigError) -> VersionSource:
    raise error


# The nightly version.


def next_release(current: Version) -> str:
    """The release the nightlies lead to, as setuptools-scm guesses it (without the dev part)."""
    epoch = f"{current.epoch}!" if current.epoch else ""
    release = list(current.release)
    pre = "".join(map(str, current.pre)) if current.pre else ""
    if current.is_devrelease:
        return f"{epoch}{'.'.join(map(str, release))}{pre}"
    if current.pre:
        return f"{epoch}{'.'.join(map(str, release))}{current.pre[0]}{current.pre[1] + 1}"
    release[-1] += 1
    return epoch + ".".join(map(str, release))


BUILD_DATE_VARIABLE = "NIGHTLY_BUILD_DATE"
_BUILD_DATE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?)?"
)


def _zone(text: str | None) -> timezone:
    """The time zone of an ISO 8601 offset (Z, +01:00, -0500); UTC when there is none."""
    if not text or text in {"Z", "z"}:
        return timezone.utc
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-offset if text[0] == "-" else offset)


def parse_build_date(value: str) -> datetime:
    """A YYYY-MM-DD date (midnight UTC) or an ISO 8601 timestamp (UTC unless it says otherwise)."""
    match = _BUILD_DATE.fullmatch(value.strip())
    try:
        if match is None:
            raise ValueError(value)
        day = date.fromisoformat(match["date"])
        fraction = (match["fraction"] or "").ljust(6, "0")[:6]
        return datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction),
            tzinfo=_zone(match["zone"]),
        )
    except ValueError:
        raise ConfigError(
            f"{BUILD_DATE_VARIABLE}={value!r} is neither a date nor a timestamp; set it to "
            "YYYY-MM-DD (2025-03-04) or an ISO 8601 timestamp (2025-03-04T05:06:07Z), or unset "
            "it to use the clock."
        ) from None


def build_moment(environ: Mapping[str, str]) -> datetime:
    """When this build happens, as the nightly version records it.

    NIGHTLY_BUILD_DATE, computed once per CI run, gives every job of the run the same
    moment, so wheels built on several runners around midnight UTC share one version.
    """
    value = environ.get(BUILD_DATE_VARIABLE, "")
    return parse_build_date(value) if value.strip() else datetime.now(timezone.utc)


def nightly_version(
    current: Version, *, scheme: str, git: GitState | None, now: datetime
) -> Version:
    """The nightly version of the release after `current`, unique per build as `scheme` says."""
    base = next_release(current)
    build = now.astimezone(timezone.utc)
    if git is None:
        return Version(f"{base}.dev{build:%Y%m%d%H%M%S}")
    if scheme == "dev-timestamp":
        return Version(f"{base}.dev{build:%Y%m%d%H%M%S}+g{git.short}")
    return Version(f"{base}.dev{git.time:%Y%m%d%H%M%S}+{build:%Y%m%d}.g{git.short}")


def suggest_after(newest: Version) -> Version:
    """The next minor's .dev0: what to move to when nightlies sort below a release."""
    major = newest.release[0]
    minor = newest.release[1] if len(newest.release) > 1 else 0
    epoch = f"{newest.epoch}!" if newest.epoch else ""
    return Version(f"{epoch}{major}.{minor + 1}.0.dev0")


def scheme_setting(scheme: str) -> str:
    """How to choose a version scheme, as the advice in messages spells it."""
    return f'version-scheme = "{scheme}" under [tool.nightly-sessions] in pyproject.toml'


def _identifies_build(version: Version, git: GitState | None, now: datetime) -> bool:
    """Whether the version names this build: the commit's hash or tag, or its or today's date.

    versioneer and setuptools-scm give a tagged commit the tag's version (1.3.0.dev0),
    which names that commit as well as a hash would.
    """
    text = str(version)
    dates = {f"{now.astimezone(timezone.utc):%Y%m%d}"}
    if git is not None:
        dates.add(f"{git.time:%Y%m%d}")
        if version.local and re.search(rf"(?<![0-9a-f]){git.commit[:7]}", version.local):
            return True
        if version in {_tag_version(tag, None) for tag in git.tags}:
            return True
    return any(date in text for date in dates)


def rule_problems(
    version: Version,
    source: VersionSource,
    *,
    released: Sequence[Version],
    index_url: str,
    git: GitState | None,
    now: datetime,
) -> list[str]:
    """Every rule `version` breaks, each as a sentence saying what to change."""
    problems: list[str] = []
    newest = max(released, default=None)
    target = suggest_after(max([*released, Version(version.base_version)]))
    fix = source.fix.format(version=target)
    if not version.is_prerelease:
        problems.append(
            f"The nightly version {version} of {source.name} (from {source.where}) is not a "
            f"pre-release, so it could be taken for a release; {fix}."
        )
    if newest is not None and version <= newest:
        problems.append(
            f"The nightly version {version} of {source.name} sorts below {newest}, which is "
            f"already on {index_url}, so users of the channel would get {newest} instead; "
            f"move to {target}: {fix}."
        )
    if not _identifies_build(version, git, now):
        problems.append(
            f"The nightly version {version} of {source.name} does not change from build to "
            "build, so each upload would overwrite the last; set "
            f"{scheme_setting('dev-date')} (the default), or make the version carry the "
            "date and commit."
        )
    return problems


def ignored_version_problem(
    source: VersionSource, *, backend: str, made: Version, nightly: Version, own_ok: bool
) -> str:
    """Why the build makes `made` rather than the nightly version, and how to make it agree.

    `own_ok` says `made` obeys the rules itself, so building the project's own version
    (the "project" scheme) is a fix too.
    """
    if source.meson_command:  # an scm version, read by a script run from meson.build
        command = " ".join(source.meson_command)
        cause = f"the version command of meson.build (`{command}`) ignores {source.overrides[0]}"
        fix = "make it print what setuptools_scm.get_version(...) returns, which honours it"
    else:
        cause = f"the build backend {backend} does not take its version from {source.where}"
        fix = "configure the version in pyproject.toml where that backend reads it"
    own = f", or build the version it makes: set {scheme_setting('project')}" if own_ok else ""
    return (
        f"The build of {source.name} makes version {made} instead of the nightly version "
        f"{nightly}, so {cause}; {fix}{own}."
    )


def require_rules(
    version: Version,
    source: VersionSource,
    *,
    released: Sequence[Version],
    index_url: str,
    git: GitState | None,
    now: datetime,
) -> None:
    """Raise ConfigError with every broken rule, in one sentence."""
    problems = rule_problems(
        version, source, released=released, index_url=index_url, git=git, now=now
    )
    if problems:
        raise ConfigError(
            one_sentence(problems, f"The nightly version {version} of {source.name} ")
        )


RULES_JOINER = "; and it "


def one_sentence(problems: Sequence[str], subject: str) -> str:
    """Problems that each start with `subject`, as one sentence: the first whole, the
    others joined by RULES_JOINER with the subject left out."""
    clauses = [problems[0].rstrip(".")]
    clauses += [problem.removeprefix(subject).rstrip(".") for problem in problems[1:]]
    return RULES_JOINER.join(clauses) + "."


def released_versions(index_url: str, name: str, *, timeout: float, retries: int) -> list[Version]:
    """Every version of `name` on the base index (none when it is not there yet)."""
    from nightly_sessions.core.index import IndexClient

    return IndexClient(index_url, timeout=timeout, retries=retries).versions(name)
