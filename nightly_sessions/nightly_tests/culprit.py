"""Which nightly made the tests fail: the decisions of the culprit search, without I/O.

When the tests fail against the nightlies, the search re-runs only the failing tests:
first as installed (a test that passes now is flaky, and no package is blamed for it),
then with each planned nightly put back, one package at a time, to the version of the
last green run or else the newest release on the base index. A package whose put-back
version makes a failing test pass is that test's culprit; when no single package
explains a test, all the packages tried are put back together once.

This module decides the order, the versions, the budget and the wording; `culprit_run`
installs, runs pytest and hands each re-run's outcome to `search` as a `Trial`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nightly_sessions.nightly_tests.verify import same_version

Origin = Literal["last-green", "base-release"]
ORIGIN_WORDS: dict[Origin, str] = {
    "last-green": "last green run",
    "base-release": "newest release on the base index",
}
Status = Literal["found", "flaky", "unexplained", "not-run"]
STATUS_WORDS: dict[Status, str] = {
    "found": "the nightly that breaks the tests was found",
    "flaky": "the failing tests are flaky: they passed when re-run as installed",
    "unexplained": "no single nightly explains the failing tests",
    "not-run": "the search did not run",
}
# The least time a percentage budget gives: one install and re-run on a fast suite.
MIN_BUDGET_SECONDS = 60.0
# At most this many failing tests are re-run: enough to name a culprit, short to re-run.
MAX_TESTS = 100


@dataclass(frozen=True)
class Candidate:
    """A planned package the tests ran with as a nightly, and what the last green run had."""

    name: str
    nightly: str  # the version the failing tests ran with
    last_green: str | None = None  # None: no last green report, or it lacks the package
    known: bool = False  # whether a last green report was read at all

    @property
    def changed(self) -> bool | None:
        """Changed since the last green run; None when there is no last green run to ask."""
        if not self.known:
            return None
        return not same_version(self.nightly, self.last_green)


def order_candidates(
    candidates: Sequence[Candidate], max_packages: int
) -> tuple[list[Candidate], list[Candidate]]:
    """(to try, left out by the cap): changed since the last green run first, then the
    packages no green run tells about, then those unchanged; the plan's order within each.
    """
    rank = {True: 0, None: 1, False: 2}
    ordered = sorted(candidates, key=lambda candidate: rank[candidate.changed])
    return ordered[:max_packages], ordered[max_packages:]


@dataclass(frozen=True)
class PutBack:
    """One package put back from its nightly to another version for a re-run."""

    name: str
    nightly: str
    version: str
    origin: Origin
    index: Literal["nightly", "base"]  # which index holds `version`
    changed: bool | None = None
    note: str | None = None  # e.g. the last green version is gone from the channel

    @property
    def label(self) -> str:
        """'numpy 2.4.1 (last green run)'."""
        return f"{self.name} {self.version} ({ORIGIN_WORDS[self.origin]})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nightly": self.nightly,
            "version": self.version,
            "origin": self.origin,
            "index": self.index,
            "changed": self.changed,
            "note": self.note,
        }


def choose_put_back(
    candidate: Candidate,
    *,
    channel_versions: Collection[str],
    base_versions: Collection[str],
    newest_release: str | None,
) -> PutBack | str:
    """The version to put `candidate` back to, or why there is none (a phrase).

    The last green run's version comes first, from the channel when it still holds a
    wheel of it for this platform (else from the base index, when that is a release
    there); otherwise the newest release on the base index. The `*_versions` are the
    versions with a wheel for this interpreter and platform.
    """
    note = None
    wanted = candidate.last_green
    if wanted is not None and not same_version(wanted, candidate.nightly):
        places: tuple[tuple[Literal["nightly", "base"], Collection[str]], ...] = (
            ("nightly", channel_versions),
            ("base", base_versions),
        )
        for index, versions in places:
            if any(same_version(wanted, version) for version in versions):
                return PutBack(
                    candidate.name, candidate.nightly, wanted, "last-green", index,
                    changed=candidate.changed,
                )  # fmt: skip
        note = (
            f"the last green run's {candidate.name} {wanted} is no longer on the channel or "
            "the base index for this platform"
        )
    if newest_release is not None and not same_version(newest_release, candidate.nightly):
        return PutBack(
            candidate.name, candidate.nightly, newest_release, "base-release", "base",
            changed=candidate.changed, note=note,
        )  # fmt: skip
    why = f"the base index has no release of {candidate.name} for this platform"
    return f"{note}, and {why}" if note else why


@dataclass(frozen=True)
class Budget:
    """The time the search may take, and the rule that set it (said in the output)."""

    seconds: float
    rule: str

    def allows(self, spent: float, next_step: float) -> bool:
        """Whether a step expected to take `next_step` seconds fits after `spent` seconds."""
        return spent + next_step <= self.seconds


def make_budget(setting: str, run_seconds: float) -> Budget:
    """The budget from the `culprit-budget` setting ('50%' or '300') and the run's time."""
    if setting.endswith("%"):
        share = float(setting[:-1]) / 100
        seconds = max(share * run_seconds, MIN_BUDGET_SECONDS)
        rule = (
            f"{setting} of the failing run's {duration(run_seconds)}, at least "
            f"{duration(MIN_BUDGET_SECONDS)}"
        )
        return Budget(seconds, rule)
    seconds = float(setting)
    return Budget(seconds, f"culprit-budget = {setting} s")


def duration(seconds: float) -> str:
    """'42 s', '3 min 5 s'."""
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


@dataclass(frozen=True)
class Trial:
    """One re-run of failing tests with some packages put back (none: the plain re-run)."""

    put_back: tuple[PutBack, ...]
    tests: tuple[str, ...]
    failed: tuple[str, ...] = ()
    seconds: float = 0.0
    problem: str | None = None  # it could not run: an install or pytest itself failed
    restore_problem: str | None = None  # the nightlies could not be put in place again

    @property
    def passed(self) -> tuple[str, ...]:
        failed = set(self.failed)
        return tuple(test for test in self.tests if test not in failed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "put_back": [put.to_dict() for put in self.put_back],
            "tests": list(self.tests),
            "failed": list(self.failed),
            "seconds": round(self.seconds, 2),
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Culprit:
    """A package whose put-back version makes these failing tests pass."""

    put_back: PutBack
    tests: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.put_back.to_dict(), "tests": list(self.tests)}


@dataclass(frozen=True)
class Finding:
    """What the search found, with the evidence: every re-run it made."""

    status: Status
    budget: Budget | None = None
    tests: tuple[str, ...] = ()  # the failing tests re-run
    total_failing: int = 0  # failing tests in the report log (more than `tests` when capped)
    flaky: tuple[str, ...] = ()
    culprits: tuple[Culprit, ...] = ()
    unexplained: tuple[str, ...] = ()
    trials: tuple[Trial, ...] = ()
    combination: Trial | None = None
    could_not_try: tuple[tuple[str, str], ...] = ()  # (package, why)
    not_tried: tuple[tuple[str, str], ...] = ()  # (package, why)
    spent: float = 0.0
    reason: str | None = None  # why it did not run, or why it stopped early
    notes: tuple[str, ...] = ()

    def with_notes(self, *notes: str) -> Finding:
        return dataclasses.replace(self, notes=(*self.notes, *notes))

    def to_dict(self) -> dict[str, Any]:
        """The `culprit` section of nightly-report.json (without the drafts)."""
        return {
            "status": self.status,
            "verdict": verdict(self),
            "effort": effort(self),
            "tests": list(self.tests),
            "total_failing": self.total_failing,
            "flaky": list(self.flaky),
            "culprits": [culprit.to_dict() for culprit in self.culprits],
            "unexplained": list(self.unexplained),
            "trials": [trial.to_dict() for trial in self.trials],
            "combination": self.combination.to_dict() if self.combination else None,
            "could_not_try": [{"name": n, "why": why} for n, why in self.could_not_try],
            "not_tried": [{"name": n, "why": why} for n, why in self.not_tried],
            "budget": (
                {"seconds": round(self.budget.seconds, 1), "rule": self.budget.rule}
                if self.budget
                else None
            ),
            "spent": round(self.spent, 1),
            "reason": self.reason,
            "notes": list(self.notes),
        }


Attempt = Callable[[tuple[PutBack, ...], tuple[str, ...]], Trial]


def search(
    tests: Sequence[str],
    put_backs: Sequence[PutBack],
    attempt: Attempt,
    budget: Budget,
    clock: Callable[[], float],
    *,
    total_failing: int | None = None,
    could_not_try: Sequence[tuple[str, str]] = (),
    not_tried: Sequence[tuple[str, str]] = (),
) -> Finding:
    """Re-run `tests` as installed, then with each of `put_backs` alone, then together.

    `attempt` does one re-run (installs, pytest, restoring the nightlies) and says which
    tests still fail. A step starts only when it fits the budget, judged by the longest
    step so far; the plain re-run always runs.
    """
    start = clock()
    tests = tuple(tests)
    total = len(tests) if total_failing is None else total_failing
    plain = attempt((), tests)
    trials = [plain]
    if plain.problem:
        return Finding(
            "not-run", budget, tests, total, trials=tuple(trials), spent=clock() - start,
            reason=f"the failing tests could not be re-run: {plain.problem}",
        )  # fmt: skip
    flaky = plain.passed
    remaining = list(plain.failed)
    culprits: list[Culprit] = []
    tried: list[PutBack] = []
    cannot = list(could_not_try)
    left = list(not_tried)
    reason = None
    longest = plain.seconds
    for position, put in enumerate(put_backs):
        if not remaining:
            break
        if not budget.allows(clock() - start, longest):
            why = f"the time budget of {duration(budget.seconds)} was spent"
            left += [(later.name, why) for later in put_backs[position:]]
            break
        trial = attempt((put,), tuple(remaining))
        trials.append(trial)
        longest = max(longest, trial.seconds)
        if trial.problem:
            cannot.append((put.name, trial.problem))
        else:
            tried.append(put)
            if trial.passed:
                culprits.append(Culprit(put, trial.passed))
                remaining = [test for test in remaining if test in set(trial.failed)]
        if trial.restore_problem:
            reason = trial.restore_problem
            left += [(later.name, "the search stopped") for later in put_backs[position + 1 :]]
            break
    combination = None
    if remaining and len(tried) > 1 and reason is None:
        if budget.allows(clock() - start, longest):
            combination = attempt(tuple(tried), tuple(remaining))
            trials.append(combination)
            reason = combination.restore_problem
        else:
            reason = (
                f"the time budget of {duration(budget.seconds)} was spent before the "
                "packages could be put back together"
            )
    status: Status = (
        "found" if culprits else "unexplained" if remaining else "flaky" if flaky else "not-run"
    )
    return Finding(
        status, budget, tests, total, flaky=flaky, culprits=tuple(culprits),
        unexplained=tuple(remaining), trials=tuple(trials), combination=combination,
        could_not_try=tuple(cannot), not_tried=tuple(left), spent=clock() - start,
        reason=reason,
    )  # fmt: skip


# The wording.


def code(text: str) -> str:
    """`text` as an inline code span, safe in Markdown and in a terminal line."""
    text = text.replace("\n", " ")
    ticks = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def list_tests(tests: Sequence[str], shown: int = 3) -> str:
    """'`a`', '`a` and `b`', '`a`, `b`, `c` and 4 more tests'."""
    names = [code(test) for test in tests[:shown]]
    rest = len(tests) - len(names)
    if rest:
        return ", ".join(names) + f" and {rest} more test{'s' if rest != 1 else ''}"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _subject(tests: Sequence[str]) -> tuple[str, str, str]:
    """('it', 'fails', 'passes') for one test, ('they', 'fail', 'pass') for several."""
    return ("it", "fails", "passes") if len(tests) == 1 else ("they", "fail", "pass")


def culprit_sentence(culprit: Culprit) -> str:
    """'`test_fft` fails with numpy 2.5.0.dev0 and passes with numpy 2.4.1 (last green run).'"""
    put = culprit.put_back
    _, fails, passes = _subject(culprit.tests)
    return (
        f"{list_tests(culprit.tests)} {fails} with {put.name} {put.nightly} and {passes} "
        f"with {put.label}."
    )


def verdict(finding: Finding) -> list[str]:
    """The search's outcome as sentences: culprits first, then flaky and unexplained tests,
    and the packages it could not try or left out."""
    lines = [f"Culprit: {culprit_sentence(culprit)}" for culprit in finding.culprits]
    if finding.flaky:
        flaky = finding.flaky
        verb = "is" if len(flaky) == 1 else "are"
        it = "it" if len(flaky) == 1 else "they"
        lines.append(
            f"Flaky: {list_tests(flaky)} {verb} flaky: {it} failed, then passed when re-run "
            "with the same versions; no package is blamed."
        )
    if finding.unexplained:
        lines.append(_unexplained(finding))
    lines += [f"Could not try {name}: {why}." for name, why in finding.could_not_try]
    by_why: dict[str, list[str]] = {}
    for name, why in finding.not_tried:
        by_why.setdefault(why, []).append(name)
    lines += [f"Not tried ({why}): {', '.join(names)}." for why, names in by_why.items()]
    if finding.status == "not-run" and finding.reason and not finding.flaky:
        lines.append(f"No culprit search: {finding.reason}.")
    elif finding.reason:
        lines.append(f"The search stopped early: {finding.reason}.")
    lines += [f"Note: {note}." for note in finding.notes]
    return lines


def effort(finding: Finding) -> str | None:
    """How much the search did, against its budget; None when it made no re-run."""
    if finding.budget is None or not finding.trials:
        return None
    runs = len(finding.trials)
    shown = (
        f" of the first {len(finding.tests)} of {finding.total_failing} failing tests"
        if finding.total_failing > len(finding.tests)
        else ""
    )
    return (
        f"The search made {runs} re-run{'s' if runs != 1 else ''}{shown} in "
        f"{duration(finding.spent)} of its {duration(finding.budget.seconds)} budget "
        f"({finding.budget.rule})."
    )


def _unexplained(finding: Finding) -> str:
    tests = finding.unexplained
    it, fails, passes = _subject(tests)
    cannot = {name for name, _ in finding.could_not_try}
    tried = [
        trial.put_back[0]
        for trial in finding.trials[1:]
        if len(trial.put_back) == 1 and trial.put_back[0].name not in cannot
    ]
    if not tried:
        return (
            f"No package explains {list_tests(tests)}: no nightly could be put back, so the "
            "search could not tell which package breaks it."
        )
    elsewhere = "the cause is likely in this project or in a package the search did not try"
    if len(tried) == 1:
        return (
            f"No package explains {list_tests(tests)}: {it} still {fails} with "
            f"{tried[0].label} put back, the only package tried; {elsewhere}."
        )
    alone = ", ".join(put.label for put in tried)
    sentence = (
        f"No single package explains {list_tests(tests)}: {it} still {fails} with each of "
        f"{alone} put back alone."
    )
    together = " + ".join(f"{put.name} {put.version}" for put in tried)
    combination = finding.combination
    if combination is None:
        return f"{sentence} The combination ({together}) was not tried."
    if combination.problem:
        return f"{sentence} The combination ({together}) could not be tried: {combination.problem}."
    if not combination.failed:
        return (
            f"{sentence} Put back together ({together}), {it} {passes}: the nightlies break "
            f"{'it' if it == 'it' else 'them'} only in combination."
        )
    return f"{sentence} Put back together ({together}), {it} still {fails}: {elsewhere}."
