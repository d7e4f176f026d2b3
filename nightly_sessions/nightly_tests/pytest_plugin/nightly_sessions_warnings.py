"""The pytest plugin `nightly_tests` loads into the run (`-p nightly_sessions_warnings`).

It keeps every warning the tests raise, once per place, with a count and the first test
that raised it, and the failures whose exception is a warning category turned into an
error. It runs in the project's test environment, which lacks nightly_sessions: it uses
the standard library and pytest only, and only the controller writes (under xdist the
workers' warnings and reports reach it with their test ids).

`--nightly-warnings-error CATEGORY` puts `error::CATEGORY` first among the ini file's
`filterwarnings`, so the project's own lines (later, hence stronger), its `-W` options
and its `filterwarnings` marks all win over it.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

LOG_OPTION = "--nightly-warnings-log"
ERROR_OPTION = "--nightly-warnings-error"
PROPERTY = "nightly_sessions_warning_error"  # user property naming a warning turned error
MAX_ENTRIES = 1000  # distinct warnings kept; beyond that only counted
_DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"\b\d+\b")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nightly-sessions")
    group.addoption(LOG_OPTION, metavar="PATH", help="write the run's warnings to PATH (JSONL)")
    group.addoption(
        ERROR_OPTION, action="append", default=[], metavar="CATEGORY",
        help="turn CATEGORY into an error, below the project's own warning filters",
    )  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    names: list[str] = config.getoption(ERROR_OPTION)
    # A category the environment cannot import is left out (and reported), not fatal:
    # pytest would stop the whole run on it as a usage error.
    found = {name: _category(name) for name in names}
    filters = config.getini("filterwarnings")
    filters[:0] = [
        f"error::{name}" for name, c in found.items() if c is not None
    ]  # as addinivalue_line
    classes = tuple(c for c in found.values() if c is not None)
    config.pluginmanager.register(_Errors(classes), "nightly-sessions-errors")
    path = config.getoption(LOG_OPTION)
    if path and not hasattr(config, "workerinput"):
        unknown = [name for name, c in found.items() if c is None]
        recorder = _Recorder(Path(path), unknown, classes)
        config.pluginmanager.register(recorder, "nightly-sessions-recorder")


def _category(name: str) -> type[Warning] | None:
    module, _, attribute = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module) if module else builtins, attribute)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, Warning) else None


class _Errors:
    """Marks a test report whose exception is one of the categories made errors."""

    def __init__(self, classes: tuple[type[Warning], ...]) -> None:
        self.classes = classes

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report = outcome.get_result()
        excinfo = call.excinfo
        if not self.classes or excinfo is None or not excinfo.errisinstance(self.classes):
            return
        frame = excinfo.traceback[-1] if excinfo.traceback else None
        filename = str(frame.path) if frame is not None else ""
        report.user_properties.append(
            (PROPERTY, {
                "category": _name(type(excinfo.value)),
                "message": str(excinfo.value),
                "filename": filename,
                "lineno": frame.lineno + 1 if frame is not None else None,
            })
        )  # fmt: skip


class _Recorder:
    """Collects warnings and warning errors; writes them when the session ends."""

    def __init__(self, path: Path, unknown: list[str], classes: tuple[type[Warning], ...]) -> None:
        self.path, self.unknown, self.classes = path, unknown, classes
        self.entries: dict[tuple[str, str, str, int], dict[str, Any]] = {}
        self.errors: list[dict[str, Any]] = []
        self.dropped = 0
        self.top_levels: dict[str, list[str]] | None = None

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str) -> None:
        category = warning_message.category or UserWarning
        message = str(warning_message.message)
        # Addresses and numbers differ per object or value: without them one warning raised
        # on many stays one entry (as the report's key, core/warning_keys.py, merges them).
        plain = _NUMBER.sub("N", _ADDRESS.sub("0x", message))
        key = (_name(category), plain, str(warning_message.filename), warning_message.lineno)
        entry = self.entries.get(key)
        if entry is not None:
            entry["count"] += 1
        elif len(self.entries) >= MAX_ENTRIES:
            self.dropped += 1
        else:
            self.entries[key] = {
                "kind": "warning",
                **self._described(category, message, key[2], key[3]),
                "nodeid": nodeid or None,
                "when": when,
                "count": 1,
            }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == PROPERTY and isinstance(value, dict):
                category = _category(str(value.get("category"))) or Warning
                described = self._described(
                    category, str(value.get("message")), str(value.get("filename")),
                    value.get("lineno"),
                )  # fmt: skip
                described["category"] = str(value.get("category"))
                self.errors.append(
                    {"kind": "error", **described, "nodeid": report.nodeid, "when": report.when}
                )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module whose import raised a warning made an error fails its collection."""
        crash = getattr(report.longrepr, "reprcrash", None)
        if not report.failed or crash is None or not self.classes:
            return
        name, _, message = str(crash.message).partition(": ")
        category = _category(name)
        if category is None or not issubclass(category, self.classes):
            return
        described = self._described(category, message, str(crash.path), crash.lineno)
        self.errors.append(
            {"kind": "error", **described, "nodeid": report.nodeid, "when": "collect"}
        )

    def pytest_sessionfinish(self) -> None:
        records = [*self.entries.values(), *self.errors]
        if self.dropped:
            records.append({"kind": "dropped", "count": self.dropped})
        records += [{"kind": "unknown-category", "category": name} for name in self.unknown]
        lines = [json.dumps(record) + "\n" for record in records]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("".join(lines), encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"nightly-sessions: could not write {self.path}: {exc}\n")

    def _described(
        self, category: type[Warning], message: str, filename: str, lineno: object
    ) -> dict[str, Any]:
        module = _module(filename)
        category_module = getattr(category, "__module__", "builtins")
        return {
            "category": _name(category),
            "deprecation": issubclass(category, _DEPRECATIONS) or "Deprecat" in category.__name__,
            "message": message,
            "filename": filename,
            "lineno": lineno,
            "module": module,
            "distribution": self._distribution(module),
            "category_distribution": self._distribution(category_module),
        }

    def _distribution(self, module: str | None) -> str | None:
        """The installed distribution that holds `module` (by its top-level name)."""
        if not module or module.split(".")[0] in {"builtins", "warnings", "__main__"}:
            return None
        if self.top_levels is None:
            import importlib.metadata  # only once a warning names a module: ~15 ms at start

            try:
                self.top_levels = dict(importlib.metadata.packages_distributions())
            except Exception:  # noqa: BLE001 - broken metadata must not break the run
                self.top_levels = {}
        names = self.top_levels.get(module.split(".")[0]) or []
        return names[0] if names else None


def _name(category: type) -> str:
    module = getattr(category, "__module__", "builtins")
    return category.__qualname__ if module == "builtins" else f"{module}.{category.__qualname__}"


@functools.lru_cache(maxsize=4096)
def _module(filename: str) -> str | None:
    """The dotted module a file is imported as, from the longest sys.path entry holding it."""
    if not filename.endswith(".py"):
        return None
    path = Path(filename).absolute()
    roots = sorted((Path(p).absolute() for p in sys.path if p), key=lambda r: -len(r.parts))
    for root in roots:
        if root in path.parents:
            parts = path.relative_to(root).with_suffix("").parts
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and all(part.isidentifier() for part in parts):
                return ".".join(parts)
    return None
