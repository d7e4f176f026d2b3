"""Upload times as the APIs send them, read into aware UTC datetimes, or None when unreadable.

One reader for every date this project compares (PEP 700 `upload-time` on an index,
anaconda.org's `upload_time`), so that "newest" means the same everywhere. It never guesses:
anything that is not an ISO 8601 string gives None, and each caller decides what an
unreadable date means (cleanup refuses to delete on one).
"""

from __future__ import annotations

from datetime import datetime, timezone


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time (`2015-04-02 22:32:31.253000+00:00`, `...Z`) as aware UTC; else None.

    A time without an offset is taken as UTC, which both APIs use.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
