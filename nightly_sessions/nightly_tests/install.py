"""InstallPlan -> installer commands (uv or pip), run against one environment.

Nightlies come from the nightly index alone, pinned to the version the plan found, as
binaries, without dependencies: no release candidate or look-alike on another index can
win by version number. Upstreams from git ('git-packages') come next, built from their
branch, also without dependencies, so that their requirements cannot move a nightly; the
repair step then installs what they and the nightlies need and nothing provides.
Everything else comes from the base index. Installer settings
from the machine (extra indexes, find-links, config files) are switched off for these
commands so that no third index takes part.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier
from packaging.version import InvalidVersion, Version

from nightly_sessions.core import runner
from nightly_sessions.core.environment import Environment, index_environment
from nightly_sessions.core.errors import ToolError
from nightly_sessions.nightly_tests.plan import InstallPlan
from nightly_sessions.nightly_tests.probe import Probe, probe

REPORTLOG_REQUIREMENT = "pytest-reportlog==1.0.0"


@dataclass(frozen=True)
class Repair:
    """A requirement of a nightly that was missing or unmet, installed from the base index."""

    name: str
    requirement: str
    required_by: str
    installed: str | None


@dataclass(frozen=True)
class DependencyCheck:
    """The installer's own consistency check after all installs."""

    ok: bool
    output: str
    command: str = "pip check"  # how to run it again: `uv pip check` or `pip check`


def project_requirement(plan: InstallPlan) -> str:
    """`/path/to/project[extra,...]` for the installer."""
    extras = f"[{','.join(plan.extras)}]" if plan.extras else ""
    return f"{plan.project_root}{extras}"


def base_install_args(plan: InstallPlan, env: Environment) -> list[str]:
    """Step 1: the project, its test requirements and pytest's report log (base index)."""
    args = []
    if env.installer == "uv" and plan.project_name:
        args += ["--reinstall-package", plan.project_name]
    args += [project_requirement(plan), *plan.group_requirements, "pytest", REPORTLOG_REQUIREMENT]
    return env.install(*args)


def nightly_install_args(plan: InstallPlan, env: Environment) -> list[str]:
    """Step 2: each nightly, pinned to the plan's version (run with the nightly index only)."""
    pins = [f"{package.name}=={package.newest_nightly}" for package in plan.nightly]
    return env.install(env.prerelease_flag(), "--only-binary", ":all:", "--no-deps", *pins)


def git_install_args(plan: InstallPlan, env: Environment, requirements: Path) -> list[str]:
    """Step 2b: the git packages, from the requirements file `git_requirements` wrote.

    Reinstalled whatever is there (the base install may hold their release, an earlier
    run an older commit); `--no-deps` keeps their requirements from replacing a nightly.
    """
    if env.installer == "uv":
        again = [f"--reinstall-package={package.name}" for package in plan.git]
    else:
        again = ["--force-reinstall"]
    return env.install("--no-deps", *again, "-r", str(requirements))


def git_requirements(plan: InstallPlan) -> str:
    """`name @ git+URL@ref` lines: in a file, so no token in a URL shows on a command line."""
    return "".join(f"{package.name} @ {package.git_url}\n" for package in plan.git)


def unmet_requirements(plan: InstallPlan, state: Probe) -> list[tuple[Requirement, str]]:
    """Requirements of the nightlies and git packages that nothing installed satisfies,
    with who needs them."""
    unmet: list[tuple[Requirement, str]] = []
    for package in (*plan.nightly, *plan.git):
        for requirement in state.requirements_of(package.name):
            installed = state.version_of(requirement.name)
            if installed is None or not _satisfies(requirement, installed):
                unmet.append((requirement, package.name))
    return unmet


def _satisfies(requirement: Requirement, version: str) -> bool:
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except (InvalidVersion, InvalidSpecifier):
        return False


def repair_args(
    env: Environment, unmet: Sequence[tuple[Requirement, str]], constraints: Path
) -> list[str]:
    """Step 3: unmet requirements (base index), the nightlies held by constraints."""
    requirements = sorted({str(requirement) for requirement, _ in unmet})
    return env.install("-c", str(constraints), *requirements)


def _constraints_text(plan: InstallPlan, state: Probe) -> str:
    """The nightlies at the plan's versions, the git packages at the versions they built."""
    pins = [(package.name, package.newest_nightly) for package in plan.nightly]
    pins += [(package.name, state.version_of(package.name)) for package in plan.git]
    return "".join(f"{name}=={version}\n" for name, version in pins if version)


def install_base(plan: InstallPlan, env: Environment) -> None:
    """Install the project and its test requirements from the base index."""
    runner.run(
        base_install_args(plan, env),
        what=f"install the project and its test requirements from {plan.base_index_url}",
        env=index_environment(plan.base_index_url),
    )


def install_nightlies(plan: InstallPlan, env: Environment) -> None:
    """Replace the planned packages with their newest nightlies."""
    if not plan.nightly:
        return
    names = ", ".join(package.name for package in plan.nightly)
    runner.run(
        nightly_install_args(plan, env),
        what=f"install the nightlies of {names} from {plan.nightly_index_url}",
        env=index_environment(plan.nightly_index_url),
    )


def install_git(plan: InstallPlan, env: Environment) -> None:
    """Build and install the git packages from their branches; their build requirements
    come from the base index."""
    if not plan.git:
        return
    names = ", ".join(package.name for package in plan.git)
    with tempfile.TemporaryDirectory(prefix="nightly-sessions-") as folder:
        requirements = Path(folder) / "git-requirements.txt"
        requirements.write_text(git_requirements(plan), encoding="utf-8")
        runner.run(
            git_install_args(plan, env, requirements),
            what=f"install {names} from git (build requirements from {plan.base_index_url})",
            env=index_environment(plan.base_index_url),
        )


def repair(plan: InstallPlan, env: Environment) -> tuple[list[Repair], Probe]:
    """Install what the nightlies and git packages need but nothing provides, from the
    base index; return the repairs and the environment as they left it, read once here
    so that the proof needs no probe of its own."""
    state = probe(env.python)
    unmet = unmet_requirements(plan, state)
    if not unmet:
        return [], state
    with tempfile.TemporaryDirectory(prefix="nightly-sessions-") as folder:
        constraints = Path(folder) / "nightly-constraints.txt"
        constraints.write_text(_constraints_text(plan, state), encoding="utf-8")
        names = ", ".join(sorted({requirement.name for requirement, _ in unmet}))
        runner.run(
            repair_args(env, unmet, constraints),
            what=f"install {names}, needed by the nightlies, from {plan.base_index_url}",
            env=index_environment(plan.base_index_url),
        )
    after = probe(env.python)
    repairs = [
        Repair(requirement.name, str(requirement), needed_by, after.version_of(requirement.name))
        for requirement, needed_by in unmet
    ]
    return repairs, after


def dependency_check(env: Environment) -> DependencyCheck:
    """Run `pip check` / `uv pip check`; the caller reports the verdict and shows a failure.

    A check that could not run (its installer missing, the check killed) is a failed check
    saying why: it runs beside the tests, whose own outcome it must never replace.
    """
    command = "uv pip check" if env.installer == "uv" else "pip check"
    try:
        result = runner.run(env.check(), what="check dependencies", ok_codes=range(256), echo=False)
    except ToolError as exc:
        return DependencyCheck(ok=False, output=str(exc), command=command)
    return DependencyCheck(ok=result.returncode == 0, output=result.output.strip(), command=command)


def start_dependency_check(env: Environment) -> Future[DependencyCheck]:
    """`dependency_check` in a thread of its own, to run beside the tests: it only reads the
    environment, and its verdict, a warning at most, is recorded after them."""
    return runner.in_background("dependency-check", partial(dependency_check, env))
