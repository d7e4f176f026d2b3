"""Settings: defaults < [tool.nightly-sessions] < register(...) keywords < environment.

Every key is declared once in `KEYS` with its default, its environment variable, how
to read it and what it accepts, so the error for a bad value can say all three.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from nightly_sessions.core.errors import ConfigError
from nightly_sessions.core.git_url import SCHEMES as GIT_SCHEMES
from nightly_sessions.core.git_url import parse_git_url
from nightly_sessions.core.pyproject import read_pyproject
from nightly_sessions.core.pythons import auto_pythons, parse_python
from nightly_sessions.core.redact import redact

DEFAULT_NIGHTLY_INDEX = "https://pypi.anaconda.org/scientific-python-nightly-wheels/simple"
DEFAULT_BASE_INDEX = "https://pypi.org/simple"
TABLE = "tool.nightly-sessions"

Installer = Literal["auto", "uv", "pip"]
# How a nightly version is made (versioning.nightly_version): the setting's choices.
SCHEMES = ("dev-date", "dev-timestamp", "project")


@dataclass(frozen=True)
class Check:
    """A named check run after pytest in the same nightly environment (mypy, a docs build)."""

    name: str
    command: tuple[str, ...]
    requires: tuple[str, ...] = ()  # requirements installed for it (from the base index)
    groups: tuple[str, ...] = ()  # dependency groups installed for it


@dataclass(frozen=True)
class Settings:
    """Everything the sessions need to know, already validated."""

    project_root: Path = Path()
    nightly_index_url: str = DEFAULT_NIGHTLY_INDEX
    base_index_url: str = DEFAULT_BASE_INDEX
    packages: tuple[str, ...] | Literal["auto"] = "auto"
    allow_missing: tuple[str, ...] = ()
    # Upstreams installed from their git branch after the nightlies: (name, git+URL@ref).
    git_packages: tuple[tuple[str, str], ...] = ()
    extras: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    python: tuple[str, ...] = ()
    installer: Installer = "auto"
    pytest_args: tuple[str, ...] = ()
    report_dir: str = "nightly-reports"
    strict: bool = True
    timeout: float = 30.0
    retries: int = 3
    # Building nightly wheels.
    version_scheme: str = "dev-date"
    dist_dir: str = "dist"
    build_nightly_packages: tuple[str, ...] = ()  # build requirements taken as nightlies
    # Testing what was published (channel/published.py).
    published_index_url: str = ""  # empty: the channel's simple index (its first label)
    published_smoke: str = ""  # empty: the project's tests with pytest
    published_wait: float = 600.0  # as upload_nightly --verify waits
    # Uploading to and cleaning up the channel.
    channel: str = "scientific-python-nightly-wheels"
    channel_label: tuple[str, ...] = ("main",)
    anaconda_api_url: str = "https://api.anaconda.org"
    upload_token_env: str = "ANACONDA_ORG_UPLOAD_TOKEN"  # noqa: S105 - a variable name
    upload_sdist: bool = False
    skip_upload_without_token: bool = True
    token_warn_days: int = 30
    cleanup_keep: int = 5
    cleanup_days: int = 30
    # Warning before the channel's bot opens an issue (15 days) and the channel deletes (30).
    freshness_days: int = 8
    dependency_freshness_days: int = 15
    # The tracking issues.
    issue_label: str = "nightly-failure"
    wheels_issue_label: str = "nightly-wheels-failure"
    deprecations_issue_label: str = "nightly-deprecations"
    # Finding the nightly that made the tests fail (nightly_tests/culprit.py).
    culprit: bool = True
    culprit_budget: str = "50%"
    culprit_max_packages: int = 5
    last_green: str = ""
    # Warnings (nightly_tests/deprecations.py).
    warnings_as_errors: tuple[str, ...] = ()
    fail_on_new_deprecations: bool = False
    # Other checks against the nightlies (nightly_tests/checks.py).
    checks: tuple[Check, ...] = ()

    @property
    def last_green_path(self) -> Path | None:
        """The last green run's report (or a folder of reports), relative to the project root."""
        return self.project_root / self.last_green if self.last_green else None

    @property
    def report_path(self) -> Path:
        """The report folder, relative to the project root unless absolute."""
        return self.project_root / self.report_dir

    @property
    def dist_path(self) -> Path:
        """The dist folder, relative to the project root unless absolute."""
        return self.project_root / self.dist_dir


Parser = Callable[[object], object]


@dataclass(frozen=True)
class Key:
    """One setting: how to read it, what it accepts, and where the environment sets it."""

    parse: Parser
    accepted: str
    help: str
    env: str | None = None


class _BadValue(ValueError):
    """Raised by parsers; the caller adds the key, the value and what is accepted."""


def _string(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadValue
    return value.strip()


def _url(value: object) -> str:
    text = _string(value)
    if not text.startswith(("http://", "https://", "file://")):
        raise _BadValue
    return text.rstrip("/")


def _optional_url(value: object) -> str:
    """A URL, or "" for the default the command derives."""
    return "" if isinstance(value, str) and not value.strip() else _url(value)


def _command_line(value: object) -> str:
    """A command line that splits as a POSIX shell would (no shell runs it), or ""."""
    if not isinstance(value, str):
        raise _BadValue
    try:
        shlex.split(value)
    except ValueError as exc:
        raise _BadValue from exc
    return value.strip()


def _string_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _BadValue
    return tuple(value)


def _label_list(value: object) -> tuple[str, ...]:
    """Channel labels: a list, or one string of comma-separated names; none may be empty."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list | tuple) or not value:
        raise _BadValue
    labels = tuple(_string(v) for v in value)
    if any(not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", label) for label in labels):
        raise _BadValue
    return tuple(dict.fromkeys(labels))


def _categories(value: object) -> tuple[str, ...]:
    """Warning categories: builtin names or dotted paths (numpy.exceptions.RankWarning),
    each ending in Warning, so that a typo is caught here rather than ignored in the run."""
    names = _string_list(value)
    if any(not re.fullmatch(r"([A-Za-z_]\w*\.)*([A-Za-z_]\w*)?Warning", name) for name in names):
        raise _BadValue
    return tuple(dict.fromkeys(names))


def _name_list(value: object) -> tuple[str, ...]:
    names = _string_list(value)
    try:
        return tuple(canonicalize_name(name, validate=True) for name in names)
    except InvalidName as exc:
        raise _BadValue from exc


def _packages(value: object) -> tuple[str, ...] | Literal["auto"]:
    if value == "auto":
        return "auto"
    return _name_list(value)


def _optional_name_list(value: object) -> tuple[str, ...] | None:
    if value == "auto":
        return None
    return _name_list(value)


def _git_packages(value: object) -> tuple[tuple[str, str], ...]:
    """A table of name = "git+URL@ref", or in a variable name=git+URL@ref, comma-separated."""
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.replace(",", " ").split()]
        lone = next((name for name, equals, _ in pairs if not equals), None)
        if lone is not None:
            raise _BadValue(f"{lone!r} has no =git+URL@ref after it")
        value = {name: url for name, _, url in pairs}
    if not isinstance(value, dict):
        raise _BadValue
    found: dict[str, str] = {}
    for name, url in value.items():
        try:
            key = canonicalize_name(str(name), validate=True)
        except InvalidName:
            raise _BadValue(f"{str(name)!r} is not a package name") from None
        if not isinstance(url, str) or parse_git_url(url.strip()) is None:
            raise _BadValue(f"the URL of {name} is {url!r}, not git+URL@ref")
        found[key] = url.strip()
    return tuple(found.items())


def _python_versions(value: object) -> tuple[str, ...] | Literal["auto"]:
    if value in ("auto", ["auto"]):
        return "auto"
    versions = _string_list(value)
    for version in versions:
        if version.endswith("t"):  # a free-threaded build, "3.14t"
            parsed_threaded = parse_python(version)
            if parsed_threaded is None or parsed_threaded[0] != 3:
                raise _BadValue
            continue
        try:
            parsed = Version(version)
        except InvalidVersion as exc:
            raise _BadValue from exc
        if len(parsed.release) != 2 or parsed.release[0] != 3:
            raise _BadValue
    return versions


def _choice(*choices: str) -> Parser:
    def parse(value: object) -> str:
        if value not in choices:
            raise _BadValue
        return str(value)

    return parse


def _one_of(choices: tuple[str, ...]) -> str:
    """'"a", "b" or "c"' for an error message."""
    quoted = [f'"{choice}"' for choice in choices]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
        return False
    raise _BadValue


def _positive_number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise _BadValue from exc
    # nan and inf parse as floats but make no timeout (urllib3 fails on them much later).
    if isinstance(value, bool) or not math.isfinite(number) or number <= 0:
        raise _BadValue
    return number


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _BadValue
    try:
        number = int(value)
    except ValueError as exc:
        raise _BadValue from exc
    if number < 0:
        raise _BadValue
    return number


def _budget(value: object) -> str:
    """A percentage of the failing run's time ("50%") or seconds ("300"), as text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _BadValue
    text = str(value).strip()
    percent = text.endswith("%")
    number = _positive_number(text.removesuffix("%").strip())
    return f"{number:g}%" if percent else f"{number:g}"


CHECK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_CHECK_FIELDS = ("command", "requires", "groups")


def _checks(value: object) -> tuple[Check, ...]:
    """A table of named checks; each a command, or a table of command, requires, groups."""
    if not isinstance(value, dict):
        raise _BadValue
    return tuple(_check(name, spec) for name, spec in value.items())


def _check(name: str, spec: object) -> Check:
    if not CHECK_NAME.fullmatch(name):
        raise _BadValue(
            f"the check name {name!r} is not lowercase letters, digits, - and _ "
            "(starting with a letter or digit)"
        )
    table = spec if isinstance(spec, dict) else {"command": spec}
    unknown = sorted(set(table) - set(_CHECK_FIELDS))
    if unknown:
        raise _BadValue(f"check {name!r} has the unknown field {unknown[0]!r}")
    return Check(
        name,
        _check_command(name, table.get("command")),
        _check_requirements(name, table.get("requires", [])),
        _check_groups(name, table.get("groups", [])),
    )


def _check_command(name: str, value: object) -> tuple[str, ...]:
    """A list of strings, or one string split as a POSIX shell would (no shell runs it)."""
    try:
        command = shlex.split(value) if isinstance(value, str) else value
    except ValueError as exc:  # an unclosed quote
        raise _BadValue(f"the command of check {name!r} cannot be split ({exc})") from None
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(part, str) and part for part in command)
    ):
        raise _BadValue(
            f"check {name!r} has no command (a list of non-empty strings, or one string)"
        )
    return tuple(command)


def _check_requirements(name: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _BadValue(f"the requires of check {name!r} is not a list of requirements")
    for item in value:
        try:
            Requirement(item)
        except InvalidRequirement:
            raise _BadValue(
                f"{item!r} in the requires of check {name!r} is not a requirement"
            ) from None
    return tuple(value)


def _check_groups(name: str, value: object) -> tuple[str, ...]:
    try:
        return _name_list(value)
    except _BadValue:
        raise _BadValue(
            f"the groups of check {name!r} is not a list of dependency group names"
        ) from None


def _env_name(value: object) -> str:
    text = _string(value)
    if not text.replace("_", "").isalnum() or text[0].isdigit():
        raise _BadValue
    return text


NAMES = "a list of package names (or a comma-separated string)"
KEYS: dict[str, Key] = {
    "nightly_index_url": Key(
        _url, "an http(s) URL", "simple index the nightly wheels come from", "NIGHTLY_INDEX_URL"
    ),
    "base_index_url": Key(
        _url,
        "an http(s) URL",
        "simple index for the project and everything that is not a nightly",
        "NIGHTLY_BASE_INDEX_URL",
    ),
    "packages": Key(
        _packages,
        f'"auto" or {NAMES}',
        'packages to install as nightlies; "auto": those requirements the channel carries',
        "NIGHTLY_PACKAGES",
    ),
    "allow_missing": Key(
        _name_list,
        NAMES,
        "planned packages that may be absent from the channel without failing",
        "NIGHTLY_ALLOW_MISSING",
    ),
    "git_packages": Key(
        _git_packages,
        'a table of package name = "git+URL@ref" (URL scheme '
        f"{', '.join(GIT_SCHEMES)}); in the variable name=git+URL@ref, separated by commas "
        "or spaces",
        "upstreams installed from their git branch after the nightlies (git wins over a "
        "nightly of the same package); the report shows the commit",
        "NIGHTLY_GIT_PACKAGES",
    ),
    "extras": Key(
        _optional_name_list,
        f'"auto" or {NAMES}',
        'extras installed with the project; "auto": `test`/`tests`/`testing` if defined',
        "NIGHTLY_EXTRAS",
    ),
    "groups": Key(
        _optional_name_list,
        f'"auto" or {NAMES}',
        'dependency groups installed too; "auto": `test`/`tests`/`testing` if defined',
        "NIGHTLY_GROUPS",
    ),
    "python": Key(
        _python_versions,
        '"auto" or a list of versions such as "3.12", or "3.14t" for a free-threaded build '
        "(3.13 on)",
        'Python versions of `nightly_tests`; empty: the one running nox; "auto": the newest '
        "two released that requires-python and the classifiers allow, and the pre-release "
        "(never a free-threaded build)",
        "NIGHTLY_PYTHON",
    ),
    "installer": Key(
        _choice("auto", "uv", "pip"),
        '"auto", "uv" or "pip"',
        '"auto" uses uv when available (nox\'s `uv|virtualenv`), else pip',
        "NIGHTLY_INSTALLER",
    ),
    "pytest_args": Key(
        _string_list,
        "a list of strings",
        "arguments always given to pytest (before those after `--`)",
    ),
    "report_dir": Key(
        _string,
        "a folder path",
        "folder for nightly-report.json/.md and pytest-log.jsonl",
        "NIGHTLY_REPORT_DIR",
    ),
    "strict": Key(
        _boolean,
        "true or false",
        "stop before pytest unless every planned package is the newest nightly",
        "NIGHTLY_STRICT",
    ),
    "timeout": Key(
        _positive_number,
        "a positive number of seconds",
        "seconds before an index or API request times out",
        "NIGHTLY_TIMEOUT",
    ),
    "retries": Key(
        _count,
        "a whole number >= 0",
        "retries of connection errors and 5xx answers",
        "NIGHTLY_RETRIES",
    ),
    "version_scheme": Key(
        _choice(*SCHEMES),
        _one_of(SCHEMES),
        "how nightly versions are made",
        "NIGHTLY_VERSION_SCHEME",
    ),
    "dist_dir": Key(
        _string, "a folder path", "folder the built wheels and sdists go to", "NIGHTLY_DIST_DIR"
    ),
    "build_nightly_packages": Key(
        _name_list,
        NAMES,
        "build requirements `build_nightly` takes at their newest nightly, from the nightly "
        "index (proven in the build environment; empty: none)",
        "NIGHTLY_BUILD_NIGHTLY_PACKAGES",
    ),
    "published_index_url": Key(
        _optional_url,
        "an http(s) URL, or empty",
        "simple index `nightly_published` installs the project from; empty: the channel's "
        "(pypi.anaconda.org/<channel>/simple, or its first label's)",
        "NIGHTLY_PUBLISHED_INDEX_URL",
    ),
    "published_smoke": Key(
        _command_line,
        "a command line, or empty",
        "what `nightly_published` runs after installing the published nightly, e.g. "
        '`python -c "import skymap"`; empty: pytest on the project\'s tests',
        "NIGHTLY_PUBLISHED_SMOKE",
    ),
    "published_wait": Key(
        _positive_number,
        "a positive number of seconds",
        "how long `nightly_published` waits for the channel's index to list the version",
        "NIGHTLY_PUBLISHED_WAIT",
    ),
    "channel": Key(
        _string,
        "an anaconda.org user or organisation",
        "anaconda.org user or organisation that holds the nightlies",
        "NIGHTLY_CHANNEL",
    ),
    "channel_label": Key(
        _label_list,
        "a label name (letters, digits, . _ -), or several: a list, comma-separated in "
        "the variable or --label",
        "labels the uploads get (each file gets every one; --verify reads the first)",
        "NIGHTLY_CHANNEL_LABEL",
    ),
    "anaconda_api_url": Key(
        _url, "an http(s) URL", "anaconda.org API base URL", "NIGHTLY_ANACONDA_API_URL"
    ),
    "upload_token_env": Key(
        _env_name, "an environment variable name", "environment variable holding the upload token"
    ),
    "upload_sdist": Key(_boolean, "true or false", "upload sdists as well as wheels"),
    "skip_upload_without_token": Key(
        _boolean,
        "true or false",
        "without a token (forks, pull requests) skip with a notice instead of failing",
    ),
    "token_warn_days": Key(
        _count,
        "a whole number >= 0",
        "`nightly_token` and `upload_nightly` warn when the upload token expires within "
        "this many days",
        "NIGHTLY_TOKEN_WARN_DAYS",
    ),
    "cleanup_keep": Key(
        _count, "a whole number >= 0", "cleanup keeps at least this many newest versions"
    ),
    "cleanup_days": Key(
        _count, "a whole number >= 0", "cleanup keeps everything uploaded within this many days"
    ),
    "freshness_days": Key(
        _count,
        "a whole number >= 0",
        "`nightly_freshness` fails when the project's newest upload is older (days); keep it "
        "plus the days between checks at most 15, when the channel's bot opens an issue",
        "NIGHTLY_FRESHNESS_DAYS",
    ),
    "dependency_freshness_days": Key(
        _count,
        "a whole number >= 0",
        "`nightly_freshness` warns when a dependency's newest nightly is older (days; at 15 "
        "the channel's bot has told that project)",
    ),
    "issue_label": Key(
        _string, "a label name", "label of the tracking issue", "NIGHTLY_ISSUE_LABEL"
    ),
    "wheels_issue_label": Key(
        _string,
        "a label name",
        "label of the wheels workflow's own issue (`nightly_issue -- --workflow-run`)",
        "NIGHTLY_WHEELS_ISSUE_LABEL",
    ),
    "deprecations_issue_label": Key(
        _string,
        "a label name",
        "label of the issue that lists new deprecation warnings while the tests pass",
        "NIGHTLY_DEPRECATIONS_ISSUE_LABEL",
    ),
    "culprit": Key(
        _boolean,
        "true or false",
        "when the tests fail, re-run the failing ones with each nightly put back to find "
        "the package that breaks them",
        "NIGHTLY_CULPRIT",
    ),
    "culprit_budget": Key(
        _budget,
        'a percentage such as "50%" or a number of seconds',
        "time for that search: a share of the failing run's own time (at least 60 s), or seconds",
        "NIGHTLY_CULPRIT_BUDGET",
    ),
    "culprit_max_packages": Key(
        _count,
        "a whole number >= 0",
        "the search puts back at most this many packages, those changed since the last "
        "green run first",
        "NIGHTLY_CULPRIT_MAX_PACKAGES",
    ),
    "last_green": Key(
        _string,
        "a file or folder path",
        "the last green run's nightly-report.json (or a folder of reports: this job's is "
        "used), whose versions the search puts back first",
        "NIGHTLY_LAST_GREEN",
    ),
    "warnings_as_errors": Key(
        _categories,
        'a list of warning categories such as ["DeprecationWarning", "FutureWarning"] '
        "(or a comma-separated string; dotted paths for a package's own; each name ends in "
        "Warning)",
        "categories pytest turns into errors in the nightly run, below the project's own "
        "warning filters (which win)",
        "NIGHTLY_WARNINGS_AS_ERRORS",
    ),
    "fail_on_new_deprecations": Key(
        _boolean,
        "true or false",
        "fail a green run when it raises deprecation warnings the last green run did not",
        "NIGHTLY_FAIL_ON_NEW_DEPRECATIONS",
    ),
    "checks": Key(
        _checks,
        "a table of named checks (lowercase names), each a command (a list of strings, or "
        "one string split like a shell's) or a table of command, requires (requirements) "
        "and groups (dependency groups)",
        "other checks run after pytest in the same nightly environment (mypy, a docs "
        "build); `--check NAME` picks some, `--no-checks` none",
    ),
}


def _normalise_key(key: str) -> str:
    return key.replace("-", "_")


def _display_key(key: str) -> str:
    return key.replace("_", "-")


def _unknown_key_error(key: str, where: str) -> ConfigError:
    known = [_display_key(name) for name in KEYS]
    close = difflib.get_close_matches(_display_key(key), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else f" Known settings: {', '.join(known)}."
    return ConfigError(f"Unknown setting {_display_key(key)!r} in {where}.{hint}")


def _parse(key: str, value: object, where: str) -> object:
    spec = KEYS[key]
    try:
        return spec.parse(value)
    except _BadValue as exc:
        if exc.args:  # the parser named the part that is wrong
            raise ConfigError(
                f"Setting {_display_key(key)!r} in {where} is wrong: {redact(str(exc))}; "
                f"it must be {spec.accepted}."
            ) from None
        message = (
            f"Setting {_display_key(key)!r} in {where} is {redact(repr(value))}, "
            f"but it must be {spec.accepted}."
        )
        raise ConfigError(message) from None


def parse_labels(text: str, where: str) -> tuple[str, ...]:
    """Channel labels given elsewhere (a command-line option), checked as the setting is."""
    labels = _parse("channel_label", text, where)
    assert isinstance(labels, tuple)
    return labels


def parse_option(key: str, value: object, where: str) -> object:
    """A setting's value given elsewhere (a command-line option), checked as the setting is."""
    return _parse(key, value, where)


def _layer(values: Mapping[str, Any], where: str) -> dict[str, object]:
    parsed: dict[str, object] = {}
    for raw_key, value in values.items():
        key = _normalise_key(raw_key)
        if key not in KEYS:
            raise _unknown_key_error(raw_key, where)
        parsed[key] = _parse(key, value, where)
    return parsed


def _environment_layer(environ: Mapping[str, str]) -> dict[str, object]:
    parsed: dict[str, object] = {}
    for key, spec in KEYS.items():
        if spec.env and environ.get(spec.env, "").strip():
            parsed[key] = _parse(key, environ[spec.env], f"environment variable {spec.env}")
    return parsed


def load_settings(
    project_root: Path | str = ".",
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the four layers; raise ConfigError naming the key, the value and the fix."""
    root = Path(project_root).resolve()
    pyproject = root / "pyproject.toml"
    tool = read_pyproject(pyproject).get("tool", {})
    table = tool.get("nightly-sessions", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"[{TABLE}] in {pyproject} must be a table of settings.")
    merged: dict[str, object] = {}
    merged.update(_layer(table, f"[{TABLE}] of {pyproject}"))
    for key, value in _layer(overrides or {}, "nightly_sessions.register(...)").items():
        # "auto" in the noxfile (the template's default answer) is no choice: it yields
        # to one the project made in [tool.nightly-sessions].
        if value in ("auto", None) and key in merged:
            continue
        merged[key] = value
    merged.update(_environment_layer(os.environ if environ is None else environ))
    if merged.get("python") == "auto":
        project = read_pyproject(pyproject).get("project", {})
        project = project if isinstance(project, dict) else {}
        classifiers = project.get("classifiers", [])
        merged["python"] = auto_pythons(
            project.get("requires-python"),
            classifiers if isinstance(classifiers, list) else [],
            pyproject,
        )
    return Settings(project_root=root, **merged)  # type: ignore[arg-type]


def describe_keys() -> list[tuple[str, str, str, str]]:
    """Rows of (key, default, environment variable, meaning) for documentation."""
    defaults = {field.name: field.default for field in dataclasses.fields(Settings)}
    return [
        (
            _display_key(key),
            "'auto'" if defaults[key] is None else repr(defaults[key]),
            spec.env or "",
            spec.help,
        )
        for key, spec in KEYS.items()
    ]
