"""Published dates in one form: ISO 8601, date only when no time is known."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone

from dateutil import parser as dateutil_parser

# The zone names RFC 822 allows besides GMT, in seconds east of UTC; dateutil knows none of them.
_RFC822_ZONES = {
    "UT": 0, "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
}  # fmt: skip
# Two defaults that differ in every date field: a field dateutil fills in was not in the text.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))


def normalize_date(value: object) -> str | None:
    """ISO 8601 for a date given as text, date, datetime or struct_time; None if it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, time.struct_time):
        # feedparser and time.gmtime give UTC; time.localtime says its own offset
        offset = timedelta(seconds=getattr(value, "tm_gmtoff", None) or 0)
        value = datetime(*value[:6], tzinfo=timezone(offset))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    if not re.search(r"\d{4}", text):
        return None  # no year: dateutil would fill in today's
    try:
        parsed = dateutil_parser.parse(text, default=_DEFAULTS[0], tzinfos=_zone)
        other = dateutil_parser.parse(text, default=_DEFAULTS[1], tzinfos=_zone)
    except (ValueError, OverflowError):
        return None
    if parsed.date() != other.date():
        return None  # a year without a month or day: not a date to file an article under
    if parsed.hour == parsed.minute == parsed.second == 0 and parsed.tzinfo is None:
        return parsed.date().isoformat()
    return parsed.isoformat()


def _zone(name: str | None, offset: int | None) -> int | None:
    """Seconds east of UTC for a parsed zone; None (a naive time) for a name nobody defines."""
    return _RFC822_ZONES.get(name or "", offset)


def date_part(value: str | None) -> str | None:
    """'YYYY-MM-DD' of an ISO date or datetime."""
    return value[:10] if value else None
