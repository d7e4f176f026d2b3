"""Read back an environment: its Python, its marker values and every installed distribution.

The probe is a stdlib-only script run by the environment's own interpreter, so it works
in any virtual environment, with or without pip, packaging or nightly-sessions installed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from nightly_sessions.core import runner
from nightly_sessions.core.errors import ToolError

MARKER = "NIGHTLY-SESSIONS-PROBE:"

ONLY_PYTHON = "--only-python"  # the script's argument that skips the distributions

# Each distribution's METADATA is read once and its header fields parsed as the email
# parser does (folded lines joined, the fields end at the first empty line), without
# importing importlib.metadata: the probe runs after every install step. Paths that only
# importlib.metadata reads (zip files, eggs on sys.path) and egg-info requires.txt still
# go through it. On POSIX CPython and PyPy the marker values come from os.uname() and
# sys.version, as `platform` reads them, and the line is written without `json`: both
# import `re`, which is a third of the light probe's time.
SCRIPT = f"""
import os, sys, sysconfig
info = sys.implementation
version = "%d.%d.%d" % info.version[:3]
if info.version.releaselevel != "final":
    version += info.version.releaselevel[0] + str(info.version.serial)
if os.name == "posix" and info.name in ("cpython", "pypy"):
    uname = os.uname()
    system, release, os_version, machine = uname.sysname, uname.release, uname.version, uname.machine
    implementation = {{"cpython": "CPython", "pypy": "PyPy"}}[info.name]
    full_version = sys.version.split()[0]
else:
    import platform
    system, release, os_version = platform.system(), platform.release(), platform.version()
    machine, implementation = platform.machine(), platform.python_implementation()
    full_version = platform.python_version()
markers = {{
    "implementation_name": info.name,
    "implementation_version": version,
    "os_name": os.name,
    "platform_machine": machine,
    "platform_python_implementation": implementation,
    "platform_release": release,
    "platform_system": system,
    "platform_version": os_version,
    "python_full_version": full_version,
    "python_version": ".".join(full_version.split(".")[:2]),
    "sys_platform": sys.platform,
}}

ESCAPES = {{code: "\\\\u%04x" % code for code in (*range(32), 127)}}  # as json.dumps
ESCAPES.update({{ord('"'): '\\\\"', ord("\\\\"): "\\\\\\\\", 8: "\\\\b", 9: "\\\\t", 10: "\\\\n"}})
ESCAPES.update({{12: "\\\\f", 13: "\\\\r"}})

def escaped(character):
    code = ord(character)
    if code < 128:
        return character
    if code < 0x10000:
        return "\\\\u%04x" % code
    code -= 0x10000
    return "\\\\u%04x\\\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))

def dump(value):
    if isinstance(value, str):
        value = value.translate(ESCAPES)
        if not value.isascii():
            value = "".join(map(escaped, value))
        return '"' + value + '"'
    if isinstance(value, dict):
        return "{{" + ", ".join(dump(key) + ": " + dump(item) for key, item in value.items()) + "}}"
    if isinstance(value, list):
        return "[" + ", ".join(map(dump, value)) + "]"
    return "null"

def read(path):
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            return file.read()
    except OSError:
        return None

def headers(text):
    fields, key = {{}}, None
    for line in text.splitlines():
        if not line:
            break
        if line[0] in " \\t":
            if key:
                fields[key][-1] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon:
            break
        key = key.strip().lower()
        fields.setdefault(key, []).append(value.strip())
    return fields

def scanned():
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.lower().endswith((".dist-info", ".egg-info")):
                continue
            path = os.path.join(entry or ".", name)
            folder = os.path.isdir(path)
            if folder:
                text = read(os.path.join(path, "METADATA")) or read(os.path.join(path, "PKG-INFO"))
            else:  # an .egg-info file is the PKG-INFO itself
                text = read(path)
            fields = headers(text or "")
            requires = fields.get("requires-dist", [])
            if not requires and folder and os.path.isfile(os.path.join(path, "requires.txt")):
                from importlib.metadata import PathDistribution
                from pathlib import Path
                requires = list(PathDistribution(Path(path)).requires or [])
            direct = read(os.path.join(path, "direct_url.json")) if folder else None
            yield fields.get("name", [None])[0], fields.get("version", [None])[0], requires, direct

def with_importlib():
    from importlib import metadata
    for dist in metadata.distributions():
        requires = list(dist.requires or [])
        yield dist.metadata["Name"], dist.version, requires, dist.read_text("direct_url.json")

dists = {{}}
if {ONLY_PYTHON!r} not in sys.argv:
    odd = any(os.path.isfile(entry) or entry.endswith(".egg") for entry in sys.path)
    for name, dist_version, requires, direct in with_importlib() if odd else scanned():
        if name:
            dists[name] = {{"version": dist_version, "requires": requires}}
            if direct:
                dists[name]["direct_url"] = direct
free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
print({MARKER!r} + dump({{
    "python": markers["python_version"] + ("t" if free_threaded else ""),
    "implementation": info.name, "markers": markers, "distributions": dists}}))
"""


@dataclass(frozen=True)
class Distribution:
    """One installed distribution and its declared requirements."""

    name: str
    version: str
    requires: tuple[str, ...]
    vcs: Vcs | None = None  # where a VCS install came from (PEP 610 direct_url.json)


@dataclass(frozen=True)
class Vcs:
    """A distribution installed from a version control system, as its installer recorded."""

    vcs: str  # "git"
    url: str  # the repository, without credentials or ref
    commit_id: str
    requested_revision: str | None  # the branch or tag asked for, when one was


def read_vcs(text: str | None) -> Vcs | None:
    """The `vcs_info` of a `direct_url.json` text; None for any other or unreadable one."""
    try:
        data = json.loads(text or "null")
        info = data["vcs_info"]
        vcs, url, commit = str(info["vcs"]), str(data["url"]), str(info["commit_id"])
    except (ValueError, KeyError, TypeError):
        return None
    requested = info.get("requested_revision")
    return Vcs(vcs, url, commit, str(requested) if requested else None)


@dataclass(frozen=True)
class Probe:
    """What an environment holds."""

    python: str  # "3.12", or "3.14t" for a free-threaded build (its markers say "3.14")
    implementation: str
    markers: Mapping[str, str]
    distributions: Mapping[str, Distribution]

    @property
    def free_threaded(self) -> bool:
        """Whether the interpreter is a free-threaded build (Py_GIL_DISABLED)."""
        return self.python.endswith("t")

    def version_of(self, name: str) -> str | None:
        dist = self.distributions.get(canonicalize_name(name))
        return dist.version if dist else None

    def vcs_of(self, name: str) -> Vcs | None:
        """Where `name` came from when a VCS install put it there, else None."""
        dist = self.distributions.get(canonicalize_name(name))
        return dist.vcs if dist else None

    def requirements_of(self, name: str) -> list[Requirement]:
        """The requirements of `name` that apply here (markers evaluated, no extras)."""
        dist = self.distributions.get(canonicalize_name(name))
        if dist is None:
            return []
        found = []
        for text in dist.requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.marker is None or _applies(requirement.marker, self.markers):
                found.append(requirement)
        return found


def _applies(marker: Marker, environment: Mapping[str, str]) -> bool:
    return marker.evaluate({**environment, "extra": ""})


def parse(output: str) -> Probe:
    """Find the probe's line in `output` (other tools may print around it) and read it."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            try:
                return _read(json.loads(line[len(MARKER) :]))
            except (ValueError, KeyError, TypeError, AttributeError):
                break
    raise ToolError(
        "The environment probe printed nothing readable; is the interpreter a working Python?"
    )


def _read(data: dict[str, Any]) -> Probe:
    distributions: dict[str, Distribution] = {
        canonicalize_name(name): Distribution(
            canonicalize_name(name),
            str(info["version"]),
            tuple(info["requires"]),
            read_vcs(info.get("direct_url")),
        )
        for name, info in data["distributions"].items()
    }
    return Probe(str(data["python"]), str(data["implementation"]), data["markers"], distributions)


def probe(python: Path | str, *, distributions: bool = True) -> Probe:
    """Run the probe with the interpreter `python`.

    `distributions=False` reads only the interpreter (its `distributions` stay empty):
    what a run needs before installing, for a fraction of the cost, without site-packages.
    """
    args = [str(python), "-S", "-c", SCRIPT, ONLY_PYTHON] if not distributions else []
    result = runner.run(
        args or [str(python), "-c", SCRIPT],
        what=f"inspect the environment of {python}",
        echo=False,
    )
    return parse(result.output)


def start_probe(python: Path | str) -> Future[Probe]:
    """`probe(python, distributions=False)` in a thread of its own: the interpreter it
    waits for starts while the caller imports what the run needs."""
    return runner.in_background("probe", partial(probe, python, distributions=False))
