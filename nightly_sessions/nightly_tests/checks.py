"""Other checks against the nightlies (mypy, a docs build, any command), after pytest.

A check runs in the environment pytest ran in, so it sees the same proven nightlies. Its
requirements come from the base index with every planned package held at its installed
version; the environment is read back after, and a check whose install changed a planned
package does not run (the nightlies are put back), so what it reports is still about them.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name

from nightly_sessions.core import runner
from nightly_sessions.core.config import Check
from nightly_sessions.core.environment import Environment, index_environment
from nightly_sessions.core.errors import ConfigError, ToolError
from nightly_sessions.core.log import Log
from nightly_sessions.core.pyproject import ProjectInfo, read_project
from nightly_sessions.core.redact import redact
from nightly_sessions.nightly_tests import install
from nightly_sessions.nightly_tests.plan import InstallPlan
from nightly_sessions.nightly_tests.probe import probe
from nightly_sessions.nightly_tests.verify import VersionReport, verify

CheckOutcome = Literal["passed", "failed", "not-run"]


@dataclass(frozen=True)
class CheckResult:
    """How one check ended: passed, failed (its exit code) or not-run (`problem` says why)."""

    name: str
    command: tuple[str, ...]
    outcome: CheckOutcome
    exit_code: int | None = None
    seconds: float = 0.0
    output_tail: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report's entry; every text redacted."""
        return {
            "name": self.name,
            "command": [redact(part) for part in self.command],
            "outcome": self.outcome,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "output_tail": redact(self.output_tail) if self.output_tail else None,
            "problem": redact(self.problem) if self.problem else None,
        }


@dataclass(frozen=True)
class PreparedCheck:
    """A check and the requirements to install for it, read before anything is installed."""

    check: Check
    requirements: tuple[str, ...]


def select(checks: Sequence[Check], names: Sequence[str], *, none: bool) -> tuple[Check, ...]:
    """The checks to run: those `--check` names (in the setting's order), none with
    `--no-checks`, else all."""
    if none and names:
        raise ConfigError(
            "The command line is wrong: --no-checks and --check exclude each other; give one."
        )
    if none:
        return ()
    known = {check.name for check in checks}
    for name in names:
        if name not in known:
            raise ConfigError(_unknown_check(name, sorted(known)))
    return tuple(check for check in checks if not names or check.name in names)


def _unknown_check(name: str, known: Sequence[str]) -> str:
    if not known:
        return (
            f"--check {name}: no check is defined; add [tool.nightly-sessions.checks.{name}] "
            "with its command to pyproject.toml."
        )
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"defined: {', '.join(known)}."
    return f"--check {name} names no check in the 'checks' setting; {hint}"


def prepare(checks: Sequence[Check], plan: InstallPlan) -> tuple[PreparedCheck, ...]:
    """Each check's requirements; a dependency group the project lacks stops the run here,
    before the install, as a ConfigError."""
    if not checks:
        return ()
    project = read_project(plan.project_root)
    return tuple(PreparedCheck(check, requirements_for(check, project, plan)) for check in checks)


def requirements_for(check: Check, project: ProjectInfo, plan: InstallPlan) -> tuple[str, ...]:
    """The check's `requires`, then its groups' requirements; a group requirement on the
    project itself (`pkg[types]`) installs the project from its folder, never an index."""
    defined = {canonicalize_name(name) for name in project.dependency_groups}
    for group in check.groups:
        if group not in defined:
            known = ", ".join(sorted(defined)) or "none"
            raise ConfigError(
                f"Check {check.name!r} names dependency group {group!r}, which {project.path} "
                f"does not define (defined: {known}); fix the check's groups."
            )
    found = list(check.requires)
    own = canonicalize_name(project.name) if project.name else None
    for requirement in project.group_requirements(check.groups):
        if own is not None and canonicalize_name(requirement.name) == own:
            extras = sorted({*plan.extras, *requirement.extras})
            found.append(
                f"{plan.project_root}[{','.join(extras)}]" if extras else str(plan.project_root)
            )
        else:
            found.append(str(requirement))
    return tuple(dict.fromkeys(found))


def held_versions(versions: VersionReport) -> dict[str, str]:
    """Every planned package that is installed, at its installed version."""
    return {p.name: p.installed for p in versions.packages if p.installed}


def changed_packages(before: Mapping[str, str], after: VersionReport) -> list[str]:
    """'numpy 2.3.0.dev0 -> 2.2.1' for each held package whose installed version changed."""
    now = {p.name: p.installed for p in after.packages}
    return [
        f"{name} {version} -> {now.get(name) or 'absent'}"
        for name, version in before.items()
        if now.get(name) != version
    ]


def run_checks(
    prepared: Sequence[PreparedCheck],
    env: Environment,
    plan: InstallPlan,
    versions: VersionReport,
    log: Log = print,
) -> list[CheckResult]:
    """Run each check in turn; one that fails or cannot run never stops the next."""
    results = []
    for item in prepared:
        log(f"Check {item.check.name}: {' '.join(item.check.command)}")
        result = _install(item, env, plan, versions) or _run(item.check, env, plan.project_root)
        log(f"Check {item.check.name}: {_verdict(result)}")
        results.append(result)
    return results


def _verdict(result: CheckResult) -> str:
    if result.outcome == "passed":
        return f"passed ({result.seconds:.1f} s)"
    if result.outcome == "failed":
        return f"failed with exit code {result.exit_code} ({result.seconds:.1f} s)"
    return f"did not run: {result.problem}"


def _install(
    item: PreparedCheck, env: Environment, plan: InstallPlan, versions: VersionReport
) -> CheckResult | None:
    """Install the check's requirements, the planned packages held; a not-run result when
    that fails or changed a planned package (which is then put back), else None."""
    check = item.check
    if not item.requirements:
        return None
    held = held_versions(versions)
    listed = ", ".join(item.requirements)
    with tempfile.TemporaryDirectory(prefix="nightly-sessions-") as folder:
        constraints = Path(folder) / "held.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in held.items()), encoding="utf-8")
        try:
            runner.run(
                env.install("-c", str(constraints), *item.requirements),
                what=f"install {listed} for check {check.name!r} from {plan.base_index_url}",
                env=index_environment(plan.base_index_url),
            )
        except ToolError as exc:
            return CheckResult(
                check.name, check.command, "not-run", output_tail=exc.detail,
                problem=f"its requirements ({listed}) could not be installed from the base "
                "index next to the nightlies (each planned package held at its installed "
                "version): a requirement excludes a nightly or is not on the index",
            )  # fmt: skip
    changed = changed_packages(held, verify(plan, probe(env.python)))
    if not changed:
        return None
    install.install_nightlies(plan, env)
    return CheckResult(
        check.name, check.command, "not-run",
        problem=f"installing its requirements ({listed}) changed {', '.join(changed)}; the "
        "nightlies were put back; pin that requirement so it keeps the nightly",
    )  # fmt: skip


def _run(check: Check, env: Environment, root: Path) -> CheckResult:
    """Run the check's command in the project root, the environment's scripts first on PATH."""
    scripts = str(env.python.parent)
    search = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    executable = shutil.which(check.command[0], path=search)
    if executable is None:
        return CheckResult(
            check.name, check.command, "not-run",
            problem=f"{check.command[0]!r} is neither in the nightly environment nor on PATH; "
            "add the package that provides it to the check's requires",
        )  # fmt: skip
    overrides: dict[str, str | None] = {"PATH": search}
    if (env.python.parent.parent / "pyvenv.cfg").is_file():
        overrides["VIRTUAL_ENV"] = str(env.python.parent.parent)
    started = time.monotonic()
    try:
        completed = runner.run(
            [executable, *check.command[1:]], what=f"run check {check.name!r}", env=overrides,
            ok_codes=runner.ANY_EXIT_CODE, cwd=root,
        )  # fmt: skip
    except ToolError as exc:  # it could not be started (not executable, a bad interpreter)
        return CheckResult(check.name, check.command, "not-run", problem=str(exc))
    seconds = time.monotonic() - started
    outcome: CheckOutcome = "passed" if completed.returncode == 0 else "failed"
    return CheckResult(
        check.name, check.command, outcome, exit_code=completed.returncode, seconds=seconds,
        output_tail=completed.tail or None,
    )  # fmt: skip


def failure_phrase(results: Sequence[CheckResult]) -> str | None:
    """The phrase for failing checks (and those that could not run), or None when all passed."""
    failed = [r.name for r in results if r.outcome == "failed"]
    not_run = [r.name for r in results if r.outcome == "not-run"]
    parts = []
    if failed:
        parts.append(f"{_names(failed)} failed against the nightlies")
    if not_run:
        parts.append(f"{_names(not_run)} could not run")
    return " and ".join(parts) or None


def _names(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"check {names[0]!r}"
    quoted = [repr(name) for name in names]
    return "checks " + ", ".join(quoted[:-1]) + f" and {quoted[-1]}"
