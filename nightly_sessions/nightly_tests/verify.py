"""What is installed vs. what the plan wanted: the proof that nightlies are nightlies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from nightly_sessions.core.git_url import parse_git_url, repository_key, short_commit
from nightly_sessions.core.redact import redact
from nightly_sessions.nightly_tests.plan import InstallPlan, PlannedPackage, is_prerelease
from nightly_sessions.nightly_tests.probe import Probe, Vcs

Status = Literal[
    "nightly", "older-nightly", "release", "missing", "not-installed", "git", "not-git"
]

MEANING: dict[Status, str] = {
    "nightly": "the newest nightly on the channel for this platform",
    "older-nightly": "a nightly, but not the newest on the channel",
    "release": "not a nightly from the channel",
    "missing": "the channel has no wheel of it for this platform",
    "not-installed": "not installed at all",
    "git": "built from the git URL that 'git-packages' names, at the commit shown",
    "not-git": "named in 'git-packages', but not installed from that git URL",
}
# Statuses that pass the proof.
PROVEN: tuple[Status, ...] = ("nightly", "git")


@dataclass(frozen=True)
class PackageVersion:
    """One planned package: what is installed and what that means."""

    name: str
    source: str
    installed: str | None
    newest_nightly: str | None
    status: Status
    allowed_missing: bool
    git_url: str | None = None  # a git package's git+URL@ref (unredacted)
    commit: str | None = None  # the commit a git package was built from (full SHA)

    @property
    def ok(self) -> bool:
        return self.status in PROVEN or self.allowed_missing

    @property
    def short_commit(self) -> str | None:
        return short_commit(self.commit)

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "installed": self.installed,
            "newest_nightly": self.newest_nightly,
            "status": self.status,
            "allowed_missing": self.allowed_missing,
        }
        if self.git_url:
            found["git_url"] = redact(self.git_url)
            found["commit"] = self.commit
        return found


@dataclass(frozen=True)
class VersionReport:
    """The verdict for every planned package."""

    packages: tuple[PackageVersion, ...]
    # What to do about each failing `missing` package: the plan's sentence naming the index.
    notes: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[PackageVersion, ...]:
        """Packages that are not the newest nightly and are not allowed to be missing."""
        return tuple(package for package in self.packages if not package.ok)

    def summary(self) -> str:
        """One sentence naming each package that failed the proof and why, then what to do."""
        parts = [
            f"{p.name} is {p.installed or 'absent'} ({MEANING[p.status]}"
            + (f": {redact(p.git_url)}" if p.git_url else "")
            + ")"
            for p in self.failures
        ]
        text = "Not every planned package is the newest nightly: " + "; ".join(parts) + "."
        return " ".join([text, *self.notes])


def same_version(left: str | None, right: str | None) -> bool:
    """Whether two version strings name the same version (PEP 440), else equal as text."""
    if left is None or right is None:
        return False
    try:
        return Version(left) == Version(right)
    except InvalidVersion:
        return left == right


def classify(package: PlannedPackage, installed: str | None) -> Status:
    """Name what `installed` is, given what the channel offers for `package`.

    The channel comes first: a package it lacks is `missing` whether installed or not, so
    the verdict points at the channel (or a misspelt name). A final release is never a
    nightly, even when the channel itself holds that release.
    """
    if package.newest_nightly is None:
        return "missing"
    if installed is None:
        return "not-installed"
    if not is_prerelease(installed):
        return "release"
    if same_version(installed, package.newest_nightly):
        return "nightly"
    if any(same_version(installed, version) for version in package.channel_versions):
        return "older-nightly"
    return "release"


def classify_git(package: PlannedPackage, installed: str | None, vcs: Vcs | None) -> Status:
    """`git` when the installer recorded a git install from the planned repository."""
    if installed is None:
        return "not-installed"
    wanted = parse_git_url(package.git_url or "")
    if vcs is None or vcs.vcs != "git" or wanted is None:
        return "not-git"
    return "git" if repository_key(vcs.url) == wanted.repository else "not-git"


def verify(plan: InstallPlan, state: Probe) -> VersionReport:
    """Classify every planned package against what the environment holds."""
    packages = tuple(_check(package, state) for package in plan.packages)
    return VersionReport(packages, tuple(plan.absent_sentence(p) for p in plan.missing))


def _check(package: PlannedPackage, state: Probe) -> PackageVersion:
    installed = state.version_of(package.name)
    vcs = state.vcs_of(package.name) if package.from_git else None
    return PackageVersion(
        name=package.name,
        source=package.source,
        installed=installed,
        newest_nightly=package.newest_nightly,
        status=(
            classify_git(package, installed, vcs)
            if package.from_git
            else classify(package, installed)
        ),
        allowed_missing=package.allowed_missing,
        git_url=package.git_url,
        commit=vcs.commit_id if vcs else None,
    )


def table_rows(packages: Sequence[PackageVersion]) -> list[tuple[str, str, str, str]]:
    """(package, installed, newest nightly, status) rows for terminal and Markdown tables."""
    rows = []
    for package in packages:
        status = package.status + (
            " (allowed)" if package.allowed_missing and package.status != "nightly" else ""
        )
        if package.status == "git" and package.commit:
            status += f" {package.short_commit}"
        rows.append((package.name, package.installed or "-", package.newest_nightly or "-", status))
    return rows
