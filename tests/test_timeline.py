"""Timelines: the story in time order, one dated, cited excerpt per article, duplicates collapsed,
paged; over a real index with the fake encoder (a timeline needs no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.timeline import build_timeline
from index import Archive, Filters
from index.topics import TopicError
from tests.conftest import make_article
from tests.fakes import HashEncoder

FERRY = (
    "The council met on Monday. The night ferry to the islands will return in spring, the "
    "operator said. Tickets go on sale in March."
)


def dated(id: str, text: str, published: str, **kw: str) -> object:
    return make_article(id, text, published=published, url=f"https://news.example/{id}", **kw)


@pytest.fixture
def story(archive: Archive) -> Archive:
    archive.add(
        [
            dated(
                "c",
                "The night ferry sailed again on Friday, full. Crowds cheered at the quay.",
                "2024-06-07",
                title="Ferry sails",
                source="Gazette",
            ),  # fmt: skip
            dated("a", FERRY, "2024-03-01", title="Ferry to return", source="Gazette"),
            dated("b", FERRY + " ", "2024-03-02", title="Ferry to return (copy)", source="Herald"),
            dated("d", "Bus fares rise in April across the region.", "2024-02-01"),
            make_article("u", "An undated note: the night ferry timetable is online.", "Timetable"),
            dated(
                "e",
                "The ferry company posted record profits after the night service returned.",
                "2024-05-01",
                title="Profits",
            ),  # fmt: skip
        ]
    )
    return archive


def test_entries_in_time_order_with_one_excerpt_each(story: Archive) -> None:
    found = build_timeline(story, "night ferry")
    assert [e.article.id for e in found.entries] == ["a", "e", "c", "u"]
    assert [e.date for e in found.entries] == ["2024-03-01", "2024-05-01", "2024-06-07", None]
    first = found.entries[0]
    assert first.excerpt.text == (
        "The night ferry to the islands will return in spring, the operator said."
    )
    start = first.excerpt.start
    assert first.passage.text[start : start + len(first.excerpt.text)] == first.excerpt.text


def test_near_duplicates_are_one_entry_with_also(story: Archive) -> None:
    [entry] = [e for e in build_timeline(story, "night ferry").entries if e.article.id == "a"]
    assert [a.id for a in entry.also] == ["b"]


def test_every_word_of_the_topic_must_appear(story: Archive) -> None:
    assert [e.article.id for e in build_timeline(story, "ferry profits").entries] == ["e"]
    assert build_timeline(story, "ferry helicopter").entries == ()


def test_since_and_until(story: Archive) -> None:
    found = build_timeline(story, "night ferry", Filters(since="2024-04-01", until="2024-05-31"))
    assert [e.article.id for e in found.entries] == ["e"]


def test_pages(archive: Archive) -> None:
    archive.add(
        [
            dated(
                f"x{n:02d}",
                f"Harbour report {n}: the harbour dredging went on for day {n} near pier {n * 7}.",
                f"2024-01-{n:02d}",
            )
            for n in range(1, 24)
        ]  # fmt: skip
    )
    found = build_timeline(archive, "harbour dredging")
    assert (len(found.entries), found.pages) == (23, 3)
    assert [e.article.id for e in found.page(3)] == ["x21", "x22", "x23"]
    assert found.page(4) == () and found.page(0) == ()


def test_a_topic_without_words_is_refused(story: Archive) -> None:
    with pytest.raises(TopicError):
        build_timeline(story, "?!")


def test_timeline_command(fake_cli_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Archive.open(fake_cli_index, HashEncoder(), create=True) as archive:
        archive.add([dated("a", FERRY, "2024-03-01", title="Ferry to return", source="Gazette")])
    assert main(["timeline", "night ferry"]) == 0
    assert capsys.readouterr().out == (
        "Timeline of 'night ferry': 1 article (page 1 of 1)\n\n"
        "2024-03-01  Ferry to return — Gazette, 2024-03-01\n"
        "            The night ferry to the islands will return in spring, the operator said.\n"
        "            https://news.example/a\n"
    )
    assert main(["timeline", "night ferry", "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert (line["date"], line["article"]["id"], line["also"]) == ("2024-03-01", "a", [])
    assert main(["timeline", "submarine"]) == 0
    assert capsys.readouterr().out == "The archive holds nothing about 'submarine'.\n"
    assert main(["timeline", "night ferry", "--until", "March"]) == 1
    assert "--until 'March': expected a date" in capsys.readouterr().err
    assert main(["timeline", "..."]) == 1
    assert "name a topic in words" in capsys.readouterr().err


def test_a_word_that_only_stems_alike_is_not_the_topic(archive: Archive) -> None:
    archive.add(
        [
            dated("pool", "Bring an inflatable pool to the beach.", "2024-07-01"),
            dated("rates", "Inflation rose to 4% in June.", "2024-07-02"),
        ]
    )
    found = build_timeline(archive, "inflation")
    assert [e.article.id for e in found.entries] == ["rates"]
