"""Upload times from both APIs, read one way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from nightly_sessions.core.timestamps import parse_time

UTC = timezone.utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2015-04-02 22:32:31.253000+00:00", datetime(2015, 4, 2, 22, 32, 31, 253000, UTC)),
        ("2015-04-02T22:32:31Z", datetime(2015, 4, 2, 22, 32, 31, tzinfo=UTC)),
        ("2015-04-02T22:32:31.5z", datetime(2015, 4, 2, 22, 32, 31, 500000, UTC)),
        (" 2015-04-02 22:32:31 ", datetime(2015, 4, 2, 22, 32, 31, tzinfo=UTC)),
        ("2015-04-03 00:32:31+02:00", datetime(2015, 4, 2, 22, 32, 31, tzinfo=UTC)),
        ("", None),
        ("Z", None),
        ("yesterday", None),
        (1428013951, None),
        (None, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)
