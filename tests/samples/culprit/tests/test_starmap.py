from pathlib import Path

import starmap


def test_total():
    assert starmap.total([1, 2, 3]) == 6


def test_half():
    # A message with a mention, which no draft may carry as a ping: @octocat
    assert starmap.half(4) == 2, "ask @octocat about halve()"


def test_flaky():
    """Fails the first time it runs in this folder, passes afterwards."""
    marker = Path(__file__).with_name(".failed-once")
    if not marker.exists():
        marker.write_text("failed once\n")
        raise AssertionError("fails the first time only")
