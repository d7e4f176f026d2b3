"""The package's shape: families import the core and themselves, never each other.

Fronts (the CLI, the nox sessions, the demo, commands that combine families) sit on top
and may import anything; a family (nightly_tests, wheels, channel, tracking) imports
only itself and `core`; `core` and the public stand-ins in `testing` import only `core`
(and `testing`). Modules never import each other in a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nightly_sessions"
FAMILIES = ("nightly_tests", "wheels", "channel", "tracking")
ALLOWED = {
    "core": {"core"},
    "testing": {"core", "testing"},
    **{family: {"core", family} for family in FAMILIES},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_from(node: ast.AST) -> Iterator[str]:
    """The nightly_sessions modules one import statement names."""
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "nightly_sessions":
            yield from (f"nightly_sessions.{alias.name}" for alias in node.names)
        elif node.module.startswith("nightly_sessions."):
            yield node.module
    elif isinstance(node, ast.Import):
        yield from (a.name for a in node.names if a.name.startswith("nightly_sessions."))


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in ALLOWED else "front"


TREES = {module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.rglob("*.py")}
# Every import, also those inside functions (loaded later, but still a dependency).
GRAPH = {
    m: {t for node in ast.walk(tree) for t in imported_from(node)} for m, tree in TREES.items()
}


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if layer(m) != "front"))
def test_a_family_imports_only_itself_and_the_core(module: str) -> None:
    wrong = sorted(t for t in GRAPH[module] if layer(t) not in ALLOWED[layer(module)])
    assert not wrong, f"{module} imports {wrong}, outside {sorted(ALLOWED[layer(module)])}"


def test_every_module_is_in_a_family_or_a_front() -> None:
    fronts = sorted(m for m in GRAPH if layer(m) == "front")
    assert fronts == [
        "nightly_sessions", "nightly_sessions.__main__", "nightly_sessions.cli",
        "nightly_sessions.demo", "nightly_sessions.freshness", "nightly_sessions.init",
        "nightly_sessions.sessions", "nightly_sessions.tox_plugin",
        "nightly_sessions.tox_plugin.config", "nightly_sessions.tox_plugin.plugin",
        "nightly_sessions.tox_plugin.steps",
    ]  # fmt: skip


def test_no_import_cycles() -> None:
    """Top-level imports only: an import inside a function runs later and may point back."""
    top = {m: {t for node in tree.body for t in imported_from(node)} for m, tree in TREES.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError(" -> ".join((*path[path.index(module) :], module)))
        if module in done or module not in top:
            return
        for target in sorted(top[module]):
            visit(target, (*path, module))
        done.add(module)

    for module in sorted(top):
        visit(module, ())


def test_the_rule_sees_a_sideways_import() -> None:
    """The check itself: channel -> tracking is refused, channel -> core is not."""
    assert layer("nightly_sessions.channel.upload") == "channel"
    assert layer("nightly_sessions.tracking") == "tracking"
    assert layer("nightly_sessions.cli") == "front"
    assert layer("nightly_sessions.tracking.github") not in ALLOWED["channel"]
    assert layer("nightly_sessions.core.http") in ALLOWED["channel"]


def test_no_class_name_is_defined_twice() -> None:
    """One name, one meaning: `Issue` is GitHub's issue, `TrackedIssue` the tracking view;
    the stand-ins' faults are `ApiFault` (anaconda.org) and `GitHubFault`."""
    defined: dict[str, list[str]] = {}
    for module, tree in TREES.items():
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                defined.setdefault(node.name, []).append(module)
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}
