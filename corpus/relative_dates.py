"""Relative time made absolute: in a question, against the day it is asked (or its as-of date);
in an article's sentence, against the day the article was published.

`time_in_question("What happened last week?", today)` gives the date range to filter on ("this
week", "last week", "yesterday", "recently", "this year", "in March", "in 2019"...) and whether the
question wants the newest evidence first ("latest", "newest", "most recent", "now", "currently").
`relative_dates(sentence, published)` finds "on Thursday", "last month", "yesterday"... in a quoted
sentence and says which absolute date each means, for an annotation shown beside the verbatim text
(never inside it). Pure functions over `datetime.date`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

RECENT_DAYS = 30  # "recently", "lately", "in recent weeks"
_MONTHS = {name: n for n, name in enumerate(calendar.month_name) if name}
_WEEKDAYS = {name.lower(): n for n, name in enumerate(calendar.day_name)}
_MONTH = "|".join(_MONTHS)
_WEEKDAY = "|".join(calendar.day_name)
_NEWEST = re.compile(
    r"\b(?:latest|newest|most recent(?:ly)?|now|currently|nowadays|at the moment)\b", re.I
)
_QUESTION = re.compile(
    rf"\b(?P<today>today)\b|\b(?P<yesterday>yesterday)\b"
    rf"|\b(?P<which>this|last|past)\s+(?P<unit>week|month|year)\b"
    rf"|\b(?P<recent>recently|lately|in recent (?:days|weeks))\b"
    rf"|\bin\s+(?P<month>{_MONTH})(?:\s+(?P<month_year>\d{{4}}))?\b"
    rf"|\bin\s+(?P<year>(?:19|20)\d\d)\b"
    # "on Monday", "since Friday", "last Tuesday"; "Monday's draft" unless a name ("Black Friday's")
    rf"|\b(?P<day_which>on|since|last)\s+(?P<weekday>{_WEEKDAY})\b"
    rf"(?!\s+(?:mornings|afternoons|evenings|nights)\b)"  # "on Tuesday afternoons": every week
    rf"|(?P<before>\b\w+\s+)?\b(?P<weekday_s>{_WEEKDAY})(?:'s|’s)\b",
    re.I,
)
_SENTENCE = re.compile(
    rf"\b(?P<day>today|tonight|yesterday|tomorrow)\b"
    rf"|\b(?:(?P<day_which>last|this|next)\s+|on\s+)(?P<weekday>{_WEEKDAY})\b"
    rf"|\b(?P<which>last|this|next)\s+(?P<unit>week|month|year)\b",
    re.I,
)


@dataclass(frozen=True)
class DateRange:
    """Inclusive dates to filter articles on (None: open), as asked for by `phrase`."""

    since: date | None
    until: date | None
    phrase: str
    newest_first: bool = False  # the question wants the most recent evidence, dated

    @property
    def label(self) -> str:
        """How the answer names the range: "articles of 3-9 June 2024", "the newest articles"."""
        if self.since is None or self.until is None:
            upto = f" up to {_day(self.until)}" if self.until else ""
            return f"the newest articles{upto}" if self.newest_first else f"articles{upto}"
        return f"articles of {span(self.since, self.until)}"


@dataclass(frozen=True)
class RelativeDate:
    """A relative expression in a sentence, and the absolute date (or span) it means."""

    start: int  # offsets of the phrase in the sentence
    end: int
    phrase: str
    since: date
    until: date

    @property
    def means(self) -> str:
        """'Thursday 6 June 2024', 'May 2024', '3-9 June 2024'."""
        if self.since == self.until:
            return f"{calendar.day_name[self.since.weekday()]} {_day(self.since)}"
        return span(self.since, self.until)


def _day(d: date) -> str:
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def span(since: date, until: date) -> str:
    """A date span in words: "2019", "June 2024", "3-9 June 2024", "28 May - 3 June 2024"."""
    if (since.month, since.day, until.month, until.day) == (
        1,
        1,
        12,
        31,
    ) and since.year == until.year:
        return str(since.year)
    last = calendar.monthrange(until.year, until.month)[1]
    if (
        since.day == 1
        and until.day == last
        and (since.year, since.month) == (until.year, until.month)
    ):
        return f"{calendar.month_name[since.month]} {since.year}"
    if since == until:
        return _day(since)
    if (since.year, since.month) == (until.year, until.month):
        return f"{since.day}-{until.day} {calendar.month_name[until.month]} {until.year}"
    if since.year == until.year:
        return f"{since.day} {calendar.month_name[since.month]} - {_day(until)}"
    return f"{_day(since)} - {_day(until)}"


def _week(d: date) -> tuple[date, date]:
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


def _month(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _shift_month(d: date, months: int) -> tuple[int, int]:
    index = d.year * 12 + d.month - 1 + months
    return index // 12, index % 12 + 1


def time_in_question(text: str, today: date) -> DateRange | None:
    """The date range a question's words ask for, resolved against `today` (the as-of date);
    None when it names no time. The first time expression counts; the range never ends after
    `today`, and a period that starts after it (a future year) is not a filter on publication."""
    newest = _NEWEST.search(text)
    match = next((m for m in _QUESTION.finditer(text) if not _named_day(m)), None)
    if match is None:
        return DateRange(None, today, newest.group(0), True) if newest else None
    since, until = _question_range(match, today)
    if since > today:  # "running for governor in 2026", asked in 2025: when it will happen
        return DateRange(None, today, newest.group(0), True) if newest else None
    phrase = text[match.start("weekday_s") : match.end()] if match["weekday_s"] else match.group(0)
    return DateRange(since, min(until, today), phrase, newest is not None)


def _named_day(m: re.Match[str]) -> bool:
    """Whether a "Friday's" is part of a name ("Black Friday's", "Super Tuesday's"), not a day:
    a capital before it, except the question's first word ("Was Monday's game called off?")."""
    before = m["before"]
    return bool(m["weekday_s"] and before and m.start("before") > 0 and before[:1].isupper())


def _question_range(m: re.Match[str], today: date) -> tuple[date, date]:
    if m["weekday"] or m["weekday_s"]:
        # the last such day up to today ("last": before today), and what was reported since
        weekday = _WEEKDAYS[(m["weekday"] or m["weekday_s"]).lower()]
        back = (today.weekday() - weekday) % 7
        if back == 0 and (m["day_which"] or "").lower() == "last":
            back = 7
        return today - timedelta(days=back), today
    if m["today"]:
        return today, today
    if m["yesterday"]:
        return today - timedelta(days=1), today - timedelta(days=1)
    if m["recent"]:
        return today - timedelta(days=RECENT_DAYS), today
    if m["unit"]:
        which, unit = m["which"].lower(), m["unit"].lower()
        if which == "past" or (which, unit) == ("this", "week"):
            # "the past week", and "this week" as news uses it (a Monday's "this week" means the
            # last few days, not one day): the last 7 days up to the day, not the calendar week
            days = {"week": 7, "month": 30, "year": 365}[unit]
            return today - timedelta(days=days - 1), today
        back = 1 if which == "last" else 0
        if unit == "week":
            return _week(today - timedelta(days=7 * back))
        if unit == "month":
            return _month(*_shift_month(today, -back))
        return date(today.year - back, 1, 1), date(today.year - back, 12, 31)
    if m["month"]:
        month = _MONTHS[m["month"].capitalize()]
        year = int(m["month_year"]) if m["month_year"] else today.year
        if not m["month_year"] and month > today.month:
            year -= 1  # "in March", asked in February: last March
        return _month(year, month)
    year = int(m["year"])
    return date(year, 1, 1), date(year, 12, 31)


def relative_dates(sentence: str, published: date) -> list[RelativeDate]:
    """Relative expressions in a sentence of an article published on `published`, each with the
    absolute date it means: "on Thursday" is the last Thursday on or before publication, "last
    Thursday" the last before that day, "this Thursday" the one of its week, "next Thursday" the
    first after it."""
    found = []
    for m in _SENTENCE.finditer(sentence):
        since, until = _sentence_range(m, published)
        found.append(RelativeDate(m.start(), m.end(), m.group(0), since, until))
    return found


def _sentence_range(m: re.Match[str], published: date) -> tuple[date, date]:
    if m["day"]:
        offset = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[m["day"].lower()]
        day = published + timedelta(days=offset)
        return day, day
    if m["weekday"]:
        weekday = _WEEKDAYS[m["weekday"].lower()]
        which = (m["day_which"] or "on").lower()
        if which == "this":  # the one in the week of publication
            day = _week(published)[0] + timedelta(days=weekday)
        elif which == "next":
            ahead = (weekday - published.weekday()) % 7 or 7
            day = published + timedelta(days=ahead)
        else:
            back = (published.weekday() - weekday) % 7
            if which == "last" and back == 0:
                back = 7
            day = published - timedelta(days=back)
        return day, day
    step = {"last": -1, "this": 0, "next": 1}[m["which"].lower()]
    unit = m["unit"].lower()
    if unit == "week":
        return _week(published + timedelta(days=7 * step))
    if unit == "month":
        return _month(*_shift_month(published, step))
    return date(published.year + step, 1, 1), date(published.year + step, 12, 31)
