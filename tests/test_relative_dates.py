"""Relative time made absolute, with a fixed "today": Wednesday 12 June 2024."""

from __future__ import annotations

from datetime import date

import pytest

from corpus.relative_dates import relative_dates, span, time_in_question

TODAY = date(2024, 6, 12)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "since", "until", "label"),
    [
        ("What happened today?", "2024-06-12", "2024-06-12", "articles of 12 June 2024"),
        ("What did the minister say yesterday?", "2024-06-11", "2024-06-11",
         "articles of 11 June 2024"),
        ("What happened this week?", "2024-06-06", "2024-06-12", "articles of 6-12 June 2024"),
        ("Who resigned last week?", "2024-06-03", "2024-06-09", "articles of 3-9 June 2024"),
        ("What happened in the past week?", "2024-06-06", "2024-06-12",
         "articles of 6-12 June 2024"),
        ("What did Lavrov say recently?", "2024-05-13", "2024-06-12",
         "articles of 13 May - 12 June 2024"),
        ("What was decided this month?", "2024-06-01", "2024-06-12",
         "articles of 1-12 June 2024"),
        ("What was decided last month?", "2024-05-01", "2024-05-31", "articles of May 2024"),
        ("Who won this year?", "2024-01-01", "2024-06-12", "articles of 1 January - 12 June 2024"),
        ("Who won last year?", "2023-01-01", "2023-12-31", "articles of 2023"),
        ("What did the court rule in March?", "2024-03-01", "2024-03-31", "articles of March 2024"),
        ("What happened in September?", "2023-09-01", "2023-09-30",
         "articles of September 2023"),  # not yet this year: last September
        ("What happened in March 2019?", "2019-03-01", "2019-03-31", "articles of March 2019"),
        ("Who won the election in 2019?", "2019-01-01", "2019-12-31", "articles of 2019"),
        # a weekday: the last one up to today, and what has been reported since
        ("What did Biden propose on Monday?", "2024-06-10", "2024-06-12",
         "articles of 10-12 June 2024"),
        ("Who was the top pick in Monday's draft?", "2024-06-10", "2024-06-12",
         "articles of 10-12 June 2024"),
        ("What has happened since Friday?", "2024-06-07", "2024-06-12",
         "articles of 7-12 June 2024"),
        ("What happened on Wednesday?", "2024-06-12", "2024-06-12", "articles of 12 June 2024"),
        ("What happened last Wednesday?", "2024-06-05", "2024-06-12",
         "articles of 5-12 June 2024"),
        ("Was Monday's game called off?", "2024-06-10", "2024-06-12",
         "articles of 10-12 June 2024"),
    ],
)  # fmt: skip
def test_time_in_a_question(question: str, since: str, until: str, label: str) -> None:
    found = time_in_question(question, TODAY)
    assert found is not None
    assert (found.since, found.until) == (date.fromisoformat(since), date.fromisoformat(until))
    assert found.label == label and not found.newest_first


@pytest.mark.parametrize(
    "question",
    ["What is the latest on the strike?", "Who leads the party now?", "Who is currently in charge?",
     "What are the newest figures?", "What did the most recent report find?"],
)  # fmt: skip
def test_questions_wanting_the_newest_evidence(question: str) -> None:
    found = time_in_question(question, TODAY)
    assert found is not None and found.newest_first
    assert (found.since, found.until) == (None, TODAY)
    assert found.label == "the newest articles up to 12 June 2024"


def test_latest_within_a_range() -> None:
    found = time_in_question("What is the latest news from last week?", TODAY)
    assert found is not None and found.newest_first and found.phrase == "last week"
    assert found.label == "articles of 3-9 June 2024"


@pytest.mark.parametrize(
    "question",
    ["What did Lavrov say about sanctions?", "Who may win?", "What happened in 1066?",
     "Which shop sold most on Black Friday?", "Who won Super Tuesday's primaries?",
     "Do plenary meetings take place on Tuesday afternoons?"],
)  # fmt: skip
def test_questions_without_time(question: str) -> None:
    assert time_in_question(question, TODAY) is None


def test_a_weekday_phrase_leaves_the_words_around_it_to_search() -> None:
    found = time_in_question("Who was the top pick Monday's draft?", TODAY)
    assert found is not None and found.phrase == "Monday's"


def test_a_future_year_is_when_something_will_happen_not_when_it_was_reported() -> None:
    assert time_in_question("Who will run for governor in 2026?", TODAY) is None
    found = time_in_question("What is the latest on the election in 2026?", TODAY)
    assert found is not None and found.newest_first
    assert (found.since, found.until) == (None, TODAY)
    found = time_in_question("Who won in 2024?", TODAY)  # this year: up to today
    assert found is not None and (found.since, found.until) == (date(2024, 1, 1), TODAY)


PUBLISHED = date(2024, 6, 13)  # a Thursday


@pytest.mark.parametrize(
    ("sentence", "phrase", "means"),
    [
        ("“We met them on Tuesday,” he said.", "on Tuesday", "Tuesday 11 June 2024"),
        ("“We meet on Thursday,” he said.", "on Thursday", "Thursday 13 June 2024"),
        ("“We met last Thursday,” he said.", "last Thursday", "Thursday 6 June 2024"),
        ("“We meet next Monday,” she said.", "next Monday", "Monday 17 June 2024"),
        ("“It ends this Friday,” she said.", "this Friday", "Friday 14 June 2024"),
        ("“Talks collapsed yesterday,” she said.", "yesterday", "Wednesday 12 June 2024"),
        ("“The vote is today,” she said.", "today", "Thursday 13 June 2024"),
        ("“We sign tomorrow,” she said.", "tomorrow", "Friday 14 June 2024"),
        ("“Prices rose last month,” he said.", "last month", "May 2024"),
        ("“Prices will fall next month,” he said.", "next month", "July 2024"),
        ("“It was a hard week,” he said of last week.", "last week", "3-9 June 2024"),
        ("“Sales doubled last year,” he said.", "last year", "2023"),
    ],
)  # fmt: skip
def test_relative_dates_in_a_quoted_sentence(sentence: str, phrase: str, means: str) -> None:
    [found] = relative_dates(sentence, PUBLISHED)
    assert (sentence[found.start : found.end], found.phrase, found.means) == (phrase, phrase, means)


def test_several_in_one_sentence_and_none_in_another() -> None:
    found = relative_dates("“Yesterday we agreed; on Monday we sign,” he said.", PUBLISHED)
    assert [(f.phrase, f.means) for f in found] == [
        ("Yesterday", "Wednesday 12 June 2024"), ("on Monday", "Monday 10 June 2024")
    ]  # fmt: skip
    assert relative_dates("“We will never agree,” he said.", PUBLISHED) == []


def test_spans_across_months_and_years() -> None:
    assert span(date(2023, 12, 28), date(2024, 1, 3)) == "28 December 2023 - 3 January 2024"
    assert span(date(2024, 5, 27), date(2024, 6, 2)) == "27 May - 2 June 2024"
