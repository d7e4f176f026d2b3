"""The culprit search's decisions, without nox, installers or pytest: order, versions,
budget, the search over fake re-runs, and the wording."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from nightly_sessions.core.config import load_settings
from nightly_sessions.core.errors import ConfigError
from nightly_sessions.nightly_tests.culprit import (
    MIN_BUDGET_SECONDS,
    Budget,
    Candidate,
    Culprit,
    Finding,
    PutBack,
    Trial,
    choose_put_back,
    culprit_sentence,
    duration,
    effort,
    list_tests,
    make_budget,
    order_candidates,
    search,
    verdict,
)

NUMPY_NIGHTLY = "2.5.0.dev20261205"
SCIPY_NIGHTLY = "1.17.0.dev0+1234.abcdef0"
FFT = "tests/test_fft.py::test_fft"
LINALG = "tests/test_linalg.py::test_solve[float32]"


def put(name: str, version: str = "1.0", *, nightly: str = "9.0.dev0") -> PutBack:
    return PutBack(name, nightly, version, "base-release", "base")


# Which package is tried first.


def test_changed_packages_come_first_then_unknown_then_unchanged() -> None:
    candidates = [
        Candidate("numpy", NUMPY_NIGHTLY, NUMPY_NIGHTLY, known=True),  # unchanged
        Candidate("pandas", "3.0.dev0"),  # no last green report: unknown
        Candidate("scipy", SCIPY_NIGHTLY, "1.17.0.dev0+1200.0000000", known=True),  # changed
        Candidate("xarray", "2026.1.dev0", None, known=True),  # new since the green run
    ]
    tried, left = order_candidates(candidates, max_packages=3)
    assert [c.name for c in tried] == ["scipy", "xarray", "pandas"]
    assert [c.name for c in left] == ["numpy"]
    assert [c.changed for c in candidates] == [False, None, True, True]


def test_without_a_last_green_report_the_plan_order_stays_and_the_cap_cuts() -> None:
    candidates = [Candidate(name, "1.0.dev0") for name in ("b", "a", "c")]
    tried, left = order_candidates(candidates, max_packages=2)
    assert ([c.name for c in tried], [c.name for c in left]) == (["b", "a"], ["c"])
    assert order_candidates(candidates, max_packages=0) == ([], candidates)


# Which version a package goes back to.


def test_the_last_green_version_comes_from_the_channel_while_it_holds_it() -> None:
    candidate = Candidate("numpy", NUMPY_NIGHTLY, "2.5.0.dev20261128", known=True)
    chosen = choose_put_back(
        candidate,
        channel_versions={"2.5.0.dev20261128", NUMPY_NIGHTLY},
        base_versions={"2.4.1"},
        newest_release="2.4.1",
    )
    assert chosen == PutBack(
        "numpy", NUMPY_NIGHTLY, "2.5.0.dev20261128", "last-green", "nightly", changed=True
    )
    assert isinstance(chosen, PutBack)
    assert chosen.label == "numpy 2.5.0.dev20261128 (last green run)"


def test_a_last_green_release_comes_from_the_base_index() -> None:
    candidate = Candidate("numpy", NUMPY_NIGHTLY, "2.4.0", known=True)
    chosen = choose_put_back(
        candidate, channel_versions=set(), base_versions={"2.4.0", "2.4.1"}, newest_release="2.4.1"
    )
    assert isinstance(chosen, PutBack)
    assert (chosen.version, chosen.origin, chosen.index) == ("2.4.0", "last-green", "base")


def test_a_last_green_version_gone_from_the_channel_falls_back_to_the_newest_release() -> None:
    candidate = Candidate("numpy", NUMPY_NIGHTLY, "2.5.0.dev20261001", known=True)
    chosen = choose_put_back(
        candidate, channel_versions={NUMPY_NIGHTLY}, base_versions={"2.4.1"}, newest_release="2.4.1"
    )
    assert isinstance(chosen, PutBack)
    assert (chosen.version, chosen.origin, chosen.index) == ("2.4.1", "base-release", "base")
    assert chosen.note == (
        "the last green run's numpy 2.5.0.dev20261001 is no longer on the channel or the "
        "base index for this platform"
    )


def test_an_unchanged_package_goes_back_to_the_newest_release() -> None:
    candidate = Candidate("numpy", NUMPY_NIGHTLY, NUMPY_NIGHTLY, known=True)
    chosen = choose_put_back(
        candidate, channel_versions={NUMPY_NIGHTLY}, base_versions={"2.4.1"}, newest_release="2.4.1"
    )
    assert isinstance(chosen, PutBack)
    assert (chosen.version, chosen.origin, chosen.changed) == ("2.4.1", "base-release", False)


def test_no_version_to_go_back_to_is_a_reason() -> None:
    candidate = Candidate("newpkg", "0.1.dev0")
    assert (
        choose_put_back(candidate, channel_versions=set(), base_versions=set(), newest_release=None)
        == "the base index has no release of newpkg for this platform"
    )


# The budget.


@pytest.mark.parametrize(
    ("setting", "run_seconds", "seconds", "rule"),
    [
        ("50%", 30.0, MIN_BUDGET_SECONDS, "50% of the failing run's 30 s, at least 1 min"),
        ("50%", 1800.0, 900.0, "50% of the failing run's 30 min, at least 1 min"),
        ("150%", 100.0, 150.0, "150% of the failing run's 1 min 40 s, at least 1 min"),
        ("20", 1800.0, 20.0, "culprit-budget = 20 s"),
        ("0.5", 10.0, 0.5, "culprit-budget = 0.5 s"),
    ],
)
def test_budget_from_the_setting(
    setting: str, run_seconds: float, seconds: float, rule: str
) -> None:
    assert make_budget(setting, run_seconds) == Budget(seconds, rule)


def test_a_step_starts_only_when_it_fits() -> None:
    budget = Budget(60.0, "rule")
    assert budget.allows(spent=40.0, next_step=20.0)
    assert not budget.allows(spent=40.5, next_step=20.0)


@pytest.mark.parametrize(
    ("seconds", "text"), [(2.34, "2.3 s"), (42.4, "42 s"), (60, "1 min"), (185, "3 min 5 s")]
)
def test_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "stored"), [("50%", "50%"), (" 25 % ", "25%"), (120, "120"), ("90.5", "90.5")]
)
def test_the_budget_setting_takes_a_share_or_seconds(
    tmp_path: Path, value: object, stored: str
) -> None:
    settings = load_settings(tmp_path, overrides={"culprit_budget": value}, environ={})
    assert settings.culprit_budget == stored


@pytest.mark.parametrize("value", ["half", "0%", "-5", "0", True, "%"])
def test_a_bad_budget_is_refused_with_what_it_accepts(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match=r"must be a percentage such as \"50%\" or a number"):
        load_settings(tmp_path, overrides={"culprit_budget": value}, environ={})


def test_the_search_is_on_by_default_and_one_switch_turns_it_off(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert (settings.culprit, settings.culprit_budget, settings.culprit_max_packages) == (
        True,
        "50%",
        5,
    )
    assert settings.last_green_path is None
    off = load_settings(tmp_path, environ={"NIGHTLY_CULPRIT": "false", "NIGHTLY_LAST_GREEN": "g"})
    assert off.culprit is False
    assert off.last_green_path == off.project_root / "g"


# The search over fake re-runs.


class FakeRuns:
    """Re-runs decided by a table: which tests fail with which packages put back."""

    def __init__(
        self,
        fails: Callable[[frozenset[str], str], bool],
        *,
        seconds: float = 1.0,
        broken_installs: Mapping[str, str] | None = None,
        restore_fails: str | None = None,
    ) -> None:
        self.fails, self.seconds = fails, seconds
        self.broken = dict(broken_installs or {})
        self.restore_fails = restore_fails
        self.now = 0.0
        self.calls: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, put_backs: tuple[PutBack, ...], tests: tuple[str, ...]) -> Trial:
        self.calls.append((tuple(p.name for p in put_backs), tests))
        self.now += self.seconds
        names = frozenset(p.name for p in put_backs)
        broken = [self.broken[n] for n in sorted(names) if n in self.broken]
        restore = (
            f"{self.restore_fails} could not be installed again"
            if self.restore_fails in names
            else None
        )
        if broken:
            return Trial(put_backs, tests, tests, self.seconds, problem=broken[0])
        failed = tuple(test for test in tests if self.fails(names, test))
        return Trial(put_backs, tests, failed, self.seconds, restore_problem=restore)


def run_search(
    runs: FakeRuns, tests: list[str], put_backs: list[PutBack], budget: float = 600
) -> Finding:
    return search(tests, put_backs, runs, Budget(budget, "rule"), runs.clock)


def test_the_package_whose_put_back_makes_the_test_pass_is_the_culprit() -> None:
    runs = FakeRuns(lambda names, test: "scipy" not in names)
    finding = run_search(runs, [FFT], [put("numpy"), put("scipy"), put("pandas")])
    assert finding.status == "found"
    assert [(c.put_back.name, c.tests) for c in finding.culprits] == [("scipy", (FFT,))]
    # The plain re-run first; pandas is never needed once the test is explained.
    assert runs.calls == [((), (FFT,)), (("numpy",), (FFT,)), (("scipy",), (FFT,))]
    assert finding.flaky == finding.unexplained == ()
    assert finding.spent == 3.0


def test_a_test_that_passes_on_the_plain_re_run_is_flaky_not_blamed() -> None:
    runs = FakeRuns(lambda names, test: test == FFT and "numpy" not in names)
    finding = run_search(runs, [LINALG, FFT], [put("numpy")])
    assert finding.status == "found"
    assert finding.flaky == (LINALG,)
    assert [(c.put_back.name, c.tests) for c in finding.culprits] == [("numpy", (FFT,))]
    only_flaky = run_search(FakeRuns(lambda names, test: False), [LINALG], [put("numpy")])
    assert (only_flaky.status, only_flaky.flaky, only_flaky.culprits) == ("flaky", (LINALG,), ())
    assert verdict(only_flaky) == [
        (
            f"Flaky: `{LINALG}` is flaky: it failed, then passed when re-run with the same "
            "versions; no package is blamed."
        )
    ]


def test_each_test_gets_its_own_culprit() -> None:
    def fails(names: frozenset[str], test: str) -> bool:
        return (test == FFT and "numpy" not in names) or (test == LINALG and "scipy" not in names)

    finding = run_search(FakeRuns(fails), [FFT, LINALG], [put("numpy"), put("scipy")])
    assert [(c.put_back.name, c.tests) for c in finding.culprits] == [
        ("numpy", (FFT,)),
        ("scipy", (LINALG,)),
    ]


def test_when_no_single_package_explains_it_the_combination_is_tried() -> None:
    runs = FakeRuns(lambda names, test: names != {"numpy", "scipy"})
    finding = run_search(runs, [FFT], [put("numpy", "2.4.1"), put("scipy", "1.16.0")])
    assert finding.status == "unexplained"
    assert finding.combination is not None
    assert runs.calls[-1] == (("numpy", "scipy"), (FFT,))
    assert verdict(finding) == [
        (
            f"No single package explains `{FFT}`: it still fails with each of numpy 2.4.1 (newest "
            "release on the base index), scipy 1.16.0 (newest release on the base index) put back "
            "alone. Put back together (numpy 2.4.1 + scipy 1.16.0), it passes: the nightlies "
            "break it only in combination."
        )
    ]


def test_a_combination_that_still_fails_points_elsewhere() -> None:
    finding = run_search(FakeRuns(lambda names, test: True), [FFT, LINALG], [put("a"), put("b")])
    assert finding.status == "unexplained"
    assert verdict(finding)[0].endswith(
        "Put back together (a 1.0 + b 1.0), they still fail: the cause is likely in this "
        "project or in a package the search did not try."
    )
    alone = run_search(FakeRuns(lambda names, test: True), [FFT], [put("a")])
    assert alone.combination is None
    assert verdict(alone) == [
        (
            f"No package explains `{FFT}`: it still fails with a 1.0 (newest release on the base "
            "index) put back, the only package tried; the cause is likely in this project or in a "
            "package the search did not try."
        )
    ]


def test_a_failed_install_is_could_not_try_and_the_search_goes_on() -> None:
    runs = FakeRuns(
        lambda names, test: "scipy" not in names,
        broken_installs={"numpy": "installing numpy 2.4.1 (newest release) failed: no wheel"},
    )
    finding = run_search(runs, [FFT], [put("numpy", "2.4.1"), put("scipy")])
    assert finding.status == "found"
    assert finding.could_not_try == (
        ("numpy", "installing numpy 2.4.1 (newest release) failed: no wheel"),
    )
    assert "Could not try numpy: installing numpy 2.4.1 (newest release) failed: no wheel." in (
        verdict(finding)
    )


def test_the_budget_stops_new_steps_and_names_the_packages_left() -> None:
    runs = FakeRuns(lambda names, test: True, seconds=10)
    finding = run_search(runs, [FFT], [put("a"), put("b"), put("c"), put("d")], budget=35)
    # The plain re-run (10 s), a (20 s), b (30 s); c would end at 40 s > 35 s.
    assert [call[0] for call in runs.calls] == [(), ("a",), ("b",)]
    why = "the time budget of 35 s was spent"
    assert finding.not_tried == (("c", why), ("d", why))
    assert finding.reason == (
        "the time budget of 35 s was spent before the packages could be put back together"
    )
    assert f"Not tried ({why}): c, d." in verdict(finding)


def test_a_nightly_that_cannot_be_installed_again_stops_the_search() -> None:
    runs = FakeRuns(lambda names, test: True, restore_fails="a")
    finding = run_search(runs, [FFT], [put("a"), put("b")])
    assert [call[0] for call in runs.calls] == [(), ("a",)]
    assert finding.reason == "a could not be installed again"
    assert finding.not_tried == (("b", "the search stopped"),)
    assert "The search stopped early: a could not be installed again." in verdict(finding)


def test_failing_tests_that_cannot_be_re_run_end_the_search() -> None:
    def attempt(put_backs: tuple[PutBack, ...], tests: tuple[str, ...]) -> Trial:
        return Trial(put_backs, tests, tests, 0.5, problem="pytest ended with exit code 4")

    finding = search([FFT], [put("a")], attempt, Budget(60, "rule"), lambda: 0.0)
    assert (finding.status, len(finding.trials)) == ("not-run", 1)
    assert verdict(finding) == [
        "No culprit search: the failing tests could not be re-run: pytest ended with exit code 4."
    ]


# The wording.


def test_the_culprit_sentence() -> None:
    culprit = Culprit(
        PutBack("numpy", "2.5.0.dev20261205", "2.4.1", "last-green", "base"), ("test_fft",)
    )
    assert culprit_sentence(culprit) == (
        "`test_fft` fails with numpy 2.5.0.dev20261205 and passes with numpy 2.4.1 "
        "(last green run)."
    )
    several = Culprit(culprit.put_back, ("a", "b", "c", "d", "e"))
    assert culprit_sentence(several).startswith(
        "`a`, `b`, `c` and 2 more tests fail with numpy 2.5.0.dev20261205 and pass with"
    )


def test_test_lists_and_code_spans() -> None:
    assert list_tests(["a"], 3) == "`a`"
    assert list_tests(["a", "b"], 3) == "`a` and `b`"
    assert list_tests(["x::t[`q`]"], 3) == "``x::t[`q`]``"


def test_the_effort_line_says_what_was_re_run_of_how_many() -> None:
    finding = Finding(
        "found", Budget(60, "50% of the failing run's 10 s, at least 1 min"), ("a",),
        total_failing=250, trials=(Trial((), ("a",)),) * 3, spent=12.0,
    )  # fmt: skip
    assert effort(finding) == (
        "The search made 3 re-runs of the first 1 of 250 failing tests in 12 s of its 1 min "
        "budget (50% of the failing run's 10 s, at least 1 min)."
    )
    assert effort(Finding("not-run", reason="why")) is None
