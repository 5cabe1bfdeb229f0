"""Published dates in one form: ISO 8601, date only when no time is known."""

from __future__ import annotations

import re
import time
from datetime import date, datetime

from dateutil import parser as dateutil_parser


def normalize_date(value: object) -> str | None:
    """ISO 8601 for a date given as text, date, datetime or struct_time; None if it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, time.struct_time):
        value = datetime(*value[:6])
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
        parsed = dateutil_parser.parse(text)
    except (ValueError, OverflowError):
        return None
    if parsed.hour == parsed.minute == parsed.second == 0 and parsed.tzinfo is None:
        return parsed.date().isoformat()
    return parsed.isoformat()


def date_part(value: str | None) -> str | None:
    """'YYYY-MM-DD' of an ISO date or datetime."""
    return value[:10] if value else None
