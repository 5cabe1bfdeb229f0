"""Alerts for followed topics, over a real index with the fake encoder and a controlled clock:
new articles from any writer, one alert per article per follower, batches, persistence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import MAX_BATCH, MAX_FOLLOWS, AlertDesk
from corpus.types import Article
from index import Archive
from index.archive import DATABASE
from index.follows import iso
from index.store import Store
from index.topics import TopicError
from tests.conftest import make_article
from tests.fakes import HashEncoder

ALICE, BOB = 501, 502


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def ferry(id: str, extra: str = "") -> Article:
    return make_article(
        id, f"The night ferry to the islands sails again. {extra}", url=f"https://n.example/{id}"
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(archive: Archive, clock: Clock) -> AlertDesk:
    d = AlertDesk(archive.store, clock)
    d.scan()  # the first scan only marks where news starts
    return d


def alerted(desk: AlertDesk) -> list[tuple[int, list[str]]]:
    """Deliver every waiting batch, as the bot does; (user, article ids) per message."""
    out = []
    while batches := desk.batches():
        for batch in batches:
            desk.mark_sent(batch)
            out.append((batch[0].pending.user_id, [a.article.id for a in batch]))
    return out


def test_the_archive_as_it_was_is_not_news(archive: Archive, clock: Clock) -> None:
    archive.add([ferry("old")])
    desk = AlertDesk(archive.store, clock)
    desk.follow(ALICE, ALICE, "night ferry")
    assert desk.scan() == 0 and alerted(desk) == []


def test_one_alert_per_matching_article_per_follower(archive: Archive, desk: AlertDesk) -> None:
    desk.follow(ALICE, ALICE, "night ferry")
    desk.follow(ALICE, ALICE, "islands ferry")  # both match: still one alert
    desk.follow(BOB, -100, "Night  Ferry")
    archive.add([ferry("a"), make_article("bus", "Bus fares rise in April.")])
    assert desk.scan() == 3  # queued: alice twice for one article is one row
    assert sorted(alerted(desk)) == [(ALICE, ["a"]), (BOB, ["a"])]
    assert desk.scan() == 0 and alerted(desk) == []  # nothing is alerted twice


def test_alert_quotes_the_matching_sentence(archive: Archive, desk: AlertDesk) -> None:
    desk.follow(ALICE, ALICE, "night ferry")
    archive.add([make_article("a", "The council met. The night ferry returns in May. Rain.")])
    desk.scan()
    [[alert]] = desk.batches()
    assert alert.excerpt.text == "The night ferry returns in May."
    assert (alert.pending.chat_id, alert.article.id) == (ALICE, "a")


def test_an_article_from_before_the_follow_is_not_alerted(
    archive: Archive, desk: AlertDesk, clock: Clock
) -> None:
    archive.add([ferry("before")])
    clock.now += timedelta(seconds=5)
    desk.follow(ALICE, ALICE, "night ferry")
    assert desk.scan() == 0


def test_an_edited_article_is_not_news_again(archive: Archive, desk: AlertDesk) -> None:
    desk.follow(ALICE, ALICE, "night ferry")
    archive.add([ferry("a")])
    desk.scan()
    assert alerted(desk) == [(ALICE, ["a"])]
    archive.add([ferry("a", "Updated: the timetable changed.")])
    assert desk.scan() == 0 and alerted(desk) == []


def test_another_process_s_articles_are_seen(tmp_path: Path, clock: Clock) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        desk = AlertDesk(Store(directory / DATABASE), clock)
        desk.scan()
        desk.follow(ALICE, ALICE, "night ferry")
        with Archive.open(directory, HashEncoder()) as writer:  # another writer, another connection
            writer.add([ferry("elsewhere")])
        assert desk.scan() == 1
        assert alerted(desk) == [(ALICE, ["elsewhere"])]
        assert len(archive.articles()) == 1


def test_many_at_once_come_in_batches(archive: Archive, desk: AlertDesk) -> None:
    desk.follow(ALICE, ALICE, "night ferry")
    archive.add([ferry(f"n{i}", f"Report {i}.") for i in range(MAX_BATCH + 2)])
    desk.scan()
    sent = alerted(desk)
    assert [len(ids) for _, ids in sent] == [MAX_BATCH, 2]
    assert len({i for _, ids in sent for i in ids}) == MAX_BATCH + 2


def test_follows_and_the_queue_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        desk = AlertDesk(archive.store, clock)
        desk.scan()
        desk.follow(ALICE, ALICE, "night ferry")
        archive.add([ferry("a")])
        desk.scan()
    with Archive.open(directory, HashEncoder()) as archive:
        desk = AlertDesk(archive.store, clock)
        assert [f.topic for f in desk.following(ALICE)] == ["night ferry"]
        assert alerted(desk) == [(ALICE, ["a"])]
        archive.add([ferry("b")])
        desk.scan()
        assert alerted(desk) == [(ALICE, ["b"])]


def test_a_removed_article_is_not_alerted(archive: Archive, desk: AlertDesk) -> None:
    desk.follow(ALICE, ALICE, "night ferry")
    archive.add([ferry("a")])
    desk.scan()
    archive.remove(["a"])
    assert alerted(desk) == []


def test_unfollow_by_number(archive: Archive, desk: AlertDesk) -> None:
    desk.follow(ALICE, ALICE, "night ferry")
    desk.follow(ALICE, ALICE, "bus fares")
    gone = desk.unfollow(ALICE, 1)
    assert gone is not None and gone.topic == "night ferry"
    assert desk.unfollow(ALICE, 5) is None and desk.unfollow(BOB, 1) is None
    assert [f.topic for f in desk.following(ALICE)] == ["bus fares"]
    archive.add([ferry("a")])
    assert desk.scan() == 0


def test_topics_must_have_words_and_are_limited(desk: AlertDesk) -> None:
    with pytest.raises(TopicError):
        desk.follow(ALICE, ALICE, "?!")
    for n in range(MAX_FOLLOWS):
        desk.follow(ALICE, ALICE, f"topic {n}")
    with pytest.raises(TopicError, match="unfollow one first"):
        desk.follow(ALICE, ALICE, "one more")


def test_a_long_commit_is_not_missed(archive: Archive, desk: AlertDesk, clock: Clock) -> None:
    """An article stamped before the last scan but committed after it is still found."""
    desk.follow(ALICE, ALICE, "night ferry")
    stamped = clock.now
    clock.now += timedelta(minutes=10)
    desk.scan()
    archive.add([ferry("late")])
    archive.store.query("UPDATE articles SET added = ? WHERE id = 'late'", (iso(stamped),))
    clock.now += timedelta(seconds=1)
    assert desk.scan() == 1
