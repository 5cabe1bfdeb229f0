"""Feeds on a schedule: the fetch policy, conditional GET, the feed store and the poller, against a
real news site on 127.0.0.1 (allowed by the fetch policy) and a real index with the fake encoder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import load_settings
from bot.watch import FeedWatcher, backoff, describe_every, parse_every
from corpus.errors import FetchError, NewsqaError
from corpus.fetch import FetchPolicy, fetch
from corpus.readers import ReadLimits
from index import Archive
from index.feeds import FAILING_AFTER, FeedError, FeedStore
from tests.fakes import HashEncoder
from tests.feed_server import FeedServer, Item, page

LOCAL = FetchPolicy.parse(["127.0.0.1"])
GUARDED = ReadLimits(allow_private_urls=False, fetch_policy=LOCAL)
T0 = datetime(2024, 6, 3, 9, tzinfo=UTC)
LONG = " ".join(["The harbour authority said repairs to the quay walls went to plan."] * 20)


def full_item(slug: str, title: str, hours: int, text: str = LONG) -> Item:
    return Item(slug, title, T0 + timedelta(hours=hours), text=f"<p>{text}</p>")


def teaser(slug: str, title: str, hours: int) -> Item:
    return Item(slug, title, T0 + timedelta(hours=hours), summary="Read the full story.")


@dataclass
class Clock:
    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


def watcher(archive: Archive, clock: Clock, limits: ReadLimits = GUARDED) -> FeedWatcher:
    return FeedWatcher(FeedStore(archive.store), lambda: nullcontext(archive), limits, clock)


# the fetch policy


def test_policy_parses_hosts_addresses_and_networks() -> None:
    policy = FetchPolicy.parse(["Feeds.Intranet.", " 127.0.0.1 ", "10.1.0.0/16", "", "::1"])
    assert policy.hosts == frozenset({"feeds.intranet"})
    assert policy.allows("feeds.intranet", "10.9.9.9")
    assert policy.allows("anything", "127.0.0.1") and not policy.allows("anything", "127.0.0.2")
    assert policy.allows("x", "10.1.200.3") and not policy.allows("x", "10.2.0.1")
    assert policy.allows("x", "::1") and not policy.allows("x", "::2")


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "bad host", "http://x/", "a..b"])
def test_policy_refuses_what_is_neither_host_nor_network(entry: str) -> None:
    with pytest.raises(ValueError, match="neither a host name"):
        FetchPolicy.parse([entry])


def test_the_guard_refuses_loopback_unless_the_policy_allows_it(site: FeedServer) -> None:
    site.publish(full_item("harbour", "Harbour reopens", 0))
    with pytest.raises(FetchError, match="private or local address"):
        fetch(site.feed_url, allow_private=False)
    with pytest.raises(FetchError, match="private or local address"):
        fetch(site.feed_url, allow_private=False, policy=FetchPolicy.parse(["10.0.0.0/8"]))
    assert fetch(site.feed_url, allow_private=False, policy=LOCAL).status == 200
    assert site.hits("/feed.xml") == 1


def test_fetch_allow_setting_reaches_the_read_limits(tmp_path: Path) -> None:
    from bot.services import read_limits

    env = {"NEWSQA_CONFIG": str(tmp_path / "none.toml"), "NEWSQA_FETCH_ALLOW": "127.0.0.1, a.lan"}
    settings = load_settings(env=env)
    assert settings.fetch_allow == ("127.0.0.1", "a.lan")
    limits = read_limits(settings, allow_private_urls=False)
    assert limits.fetch_policy == FetchPolicy.parse(["127.0.0.1", "a.lan"])
    assert load_settings(env={"NEWSQA_CONFIG": env["NEWSQA_CONFIG"]}).fetch_allow == ()
    bad = load_settings(env={**env, "NEWSQA_FETCH_ALLOW": "10.0.0.0/99"})
    with pytest.raises(NewsqaError, match="setting fetch_allow: '10.0.0.0/99'"):
        read_limits(bad)


def test_conditional_get_answers_304_with_no_body(site: FeedServer) -> None:
    site.publish(full_item("harbour", "Harbour reopens", 0))
    first = fetch(site.feed_url)
    assert first.status == 200 and first.etag and first.last_modified
    again = fetch(site.feed_url, conditional={"If-None-Match": first.etag})
    assert (again.status, again.body, again.etag) == (304, b"", first.etag)


# intervals


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("90", 90)]
)
def test_parse_every(text: str, seconds: float) -> None:
    assert parse_every(text) == seconds
    assert parse_every(describe_every(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "0s", "-3m"])
def test_parse_every_refuses_nonsense(text: str) -> None:
    with pytest.raises(NewsqaError):
        parse_every(text)


def test_backoff_doubles_up_to_a_day() -> None:
    assert [backoff(60, n) for n in range(1, 5)] == [120, 240, 480, 960]
    assert backoff(60, 40) == 86400
    assert backoff(3 * 86400, 3) == 3 * 86400  # never sooner than the feed's own interval


# the feed store


def test_feed_store_adds_lists_and_removes(archive: Archive) -> None:
    store = FeedStore(archive.store)
    store.add(" https://news.example/feed.xml ", 900, 100.0)
    with pytest.raises(FeedError, match="already followed"):
        store.add("https://NEWS.example/feed.xml#top", 60, 100.0)
    with pytest.raises(FeedError, match="not a feed link"):
        store.add("ftp://news.example/feed", 60, 100.0)
    [feed] = store.feeds()
    assert (feed.url, feed.every, feed.status, feed.next_run) == (
        "https://news.example/feed.xml",
        900,
        "new",
        100.0,
    )
    assert store.due(99.0) == [] and store.due(100.0) == [feed]
    with pytest.raises(FeedError, match="not followed"):
        store.remove("https://other.example/feed.xml")
    assert store.remove("https://news.example/feed.xml/").url == feed.url
    assert store.feeds() == []


def test_feeds_live_in_the_index(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "index", HashEncoder(), create=True) as archive:
        FeedStore(archive.store).add("https://news.example/feed.xml", 60, 0.0)
    with Archive.open(tmp_path / "index", HashEncoder()) as archive:
        assert [f.url for f in FeedStore(archive.store).feeds()] == [
            "https://news.example/feed.xml"
        ]


# the poller


def test_new_items_become_searchable_and_304s_read_nothing(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    site.publish(full_item("harbour", "Harbour reopens", 0))
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 60, clock.now)
    [result] = w.poll_due()
    assert result.status == "ok" and [a.title for a in result.added] == ["Harbour reopens"]
    assert archive.search("quay walls repairs", 1)[0].article.title == "Harbour reopens"
    assert w.poll_due() == []  # not due yet
    clock.now += 60
    [result] = w.poll_due()
    assert result.status == "not modified"
    assert [r.conditional for r in site.requests] == [False, True]
    generation = archive.generation
    site.publish(full_item("bridge", "Bridge closes", 1, LONG.replace("harbour", "bridge")))
    clock.now += 60
    [result] = w.poll_due()
    assert [a.title for a in result.added] == ["Bridge closes"] and not result.updated
    assert archive.generation == generation + 1  # one commit per poll
    [feed] = w.feeds.feeds()
    assert (feed.articles, feed.status, feed.failures) == (2, "ok", 0)


def test_summary_items_are_read_from_their_page_once(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    site.publish(
        teaser("ferry", "Ferry returns", 0),
        page(
            "Ferry returns | Harbour Gazette",
            "The night ferry returned to the harbour on Friday after two years.",
            "The operator said bookings were strong.",
        ),  # fmt: skip
    )
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 60, clock.now)
    [result] = w.poll_due()
    [info] = result.added
    assert (info.title, info.source, info.url) == (
        "Ferry returns",
        "Harbour Gazette",
        site.page_url("ferry"),
    )
    article = archive.store.get_article(info.id)
    assert article is not None and "bookings were strong" in article.text
    site.publish(full_item("harbour", "Harbour reopens", 1))  # the feed changes: a 200 again
    clock.now += 60
    [result] = w.poll_due()
    assert [a.title for a in result.added] == ["Harbour reopens"]
    assert site.hits("/news/ferry") == 1  # the item already read is not fetched again


def test_a_summary_page_on_a_refused_address_is_not_fetched(site: FeedServer) -> None:
    """The policy lets the feed's host through; each page link is still checked by the guard."""
    from corpus.feeds import feed_items, read_item

    site.publish(teaser("ferry", "Ferry returns", 0))
    body = site.feed_body().replace(f"127.0.0.1:{site.port}/news/".encode(), b"10.0.0.7/")
    [item] = feed_items(body, site.feed_url)
    assert item.summary_only and item.link == "http://10.0.0.7/ferry"
    with pytest.raises(FetchError, match="private or local address"):
        read_item(item, GUARDED)


def test_edited_items_update_their_article(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    site.publish(full_item("harbour", "Harbour reopens", 0))
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 60, clock.now)
    [first] = w.poll_due()[0].added
    site.items[0] = full_item("harbour", "Harbour reopens (corrected)", 0, LONG + " A correction.")
    clock.now += 60
    [result] = w.poll_due()
    assert not result.added and [u.id for u in result.updated] == [first.id]
    article = archive.store.get_article(first.id)
    assert article is not None and article.title == "Harbour reopens (corrected)"
    assert len(archive.articles()) == 1


def test_a_restart_neither_duplicates_nor_refetches(
    tmp_path: Path, site: FeedServer, clock: Clock
) -> None:
    site.publish(teaser("ferry", "Ferry returns", 0), page("Ferry", "The night ferry is back."))
    site.publish(full_item("harbour", "Harbour reopens", 1))
    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        w = watcher(archive, clock)
        w.feeds.add(site.feed_url, 60, clock.now)
        assert len(w.poll_due()[0].added) == 2
    site.publish(full_item("bridge", "Bridge closes", 2, LONG.replace("harbour", "bridge")))
    site.requests.clear()
    clock.now += 60
    with Archive.open(directory, HashEncoder()) as archive:
        [result] = watcher(archive, clock).poll_due()
        assert [a.title for a in result.added] == ["Bridge closes"] and not result.updated
        assert len(archive.articles()) == 3
    assert [r.path for r in site.requests] == ["/feed.xml"]


def test_a_failing_feed_backs_off_and_is_marked(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    site.publish(full_item("harbour", "Harbour reopens", 0))
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 60, clock.now)
    site.fail = True
    gaps = []
    for n in range(1, FAILING_AFTER + 2):
        [result] = w.poll_due()
        assert result.status == "error" and result.error and "HTTP 500" in result.error
        assert result.failing == (n == FAILING_AFTER)  # reported once, when it starts failing
        gaps.append(result.next_run - clock.now)
        clock.now += 1
        assert w.poll_due() == []  # not retried a second later
        clock.now = result.next_run
    assert gaps == [120, 240, 480, 960, 1920, 3840]
    [feed] = w.feeds.feeds()
    assert (
        feed.failing and feed.failures == FAILING_AFTER + 1 and "HTTP 500" in str(feed.last_error)
    )
    site.fail = False
    [result] = w.poll_due()
    assert result.status == "ok" and len(result.added) == 1
    [feed] = w.feeds.feeds()
    assert (feed.failures, feed.failing, feed.last_error) == (0, False, None)
    assert feed.next_run == clock.now + 60


def test_a_feed_on_a_refused_address_fails_with_the_reason(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    site.publish(full_item("harbour", "Harbour reopens", 0))
    w = watcher(archive, clock, ReadLimits(allow_private_urls=False))
    w.feeds.add(site.feed_url, 60, clock.now)
    [result] = w.poll_due()
    assert result.status == "error" and "private or local address" in str(result.error)
    assert site.requests == []


def test_a_teaser_for_an_article_already_archived_is_not_fetched(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    from corpus.readers import read_input

    site.publish(teaser("ferry", "Ferry returns", 0), page("Ferry", "The night ferry is back."))
    archive.add(read_input(site.page_url("ferry")).articles)  # e.g. `newsqa ingest LINK`
    assert site.hits("/news/ferry") == 1
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 60, clock.now)
    [result] = w.poll_due()
    assert (result.status, result.added, result.updated) == ("ok", (), ())
    assert site.hits("/news/ferry") == 1 and len(archive.articles()) == 1
    site.items[0] = Item("ferry", "Ferry returns (updated)", T0, summary="Now with times.")
    clock.now += 60
    [result] = w.poll_due()  # an item edited since: its page is read again
    assert site.hits("/news/ferry") == 2
    assert [u.title for u in result.updated] == ["Ferry returns (updated)"]


def test_a_stop_mid_poll_commits_what_was_read_and_leaves_the_rest_due(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    import threading

    site.publish(full_item("harbour", "Harbour reopens", 0))
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 3600, clock.now)
    stop = threading.Event()
    stop.set()
    [feed] = w.feeds.due(clock.now)
    result = w.poll(feed, stop)
    assert (result.status, result.added) == ("ok", ())
    [feed] = w.feeds.due(clock.now)  # still due, and read in full next time (no validators)
    assert feed.etag is None
    [result] = w.poll_due()
    assert [a.title for a in result.added] == ["Harbour reopens"]
    assert w.feeds.due(clock.now) == []


def test_an_empty_feed_is_not_a_failure(archive: Archive, site: FeedServer, clock: Clock) -> None:
    w = watcher(archive, clock)
    w.feeds.add(site.feed_url, 60, clock.now)
    [result] = w.poll_due()
    assert (result.status, result.added, result.error) == ("ok", (), None)
    site.publish(full_item("harbour", "Harbour reopens", 0))
    clock.now += 60
    assert [a.title for a in w.poll_due()[0].added] == ["Harbour reopens"]


def test_not_a_feed_is_a_failure_of_that_feed(
    archive: Archive, site: FeedServer, clock: Clock
) -> None:
    w = watcher(archive, clock)
    w.feeds.add(site.page_url("nothing"), 60, clock.now)
    w.feeds.add(site.feed_url, 60, clock.now)
    site.publish(full_item("harbour", "Harbour reopens", 0))
    results = w.poll_due()
    assert [r.status for r in results] == ["error", "ok"]
    assert "HTTP 404" in str(results[0].error)


# the commands


def test_feeds_commands(
    fake_cli_index: Path,
    site: FeedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["feeds", "add", site.feed_url, "--every", "2m"]) == 0
    assert f"following {site.feed_url} (every 2m)" in capsys.readouterr().out
    assert main(["feeds", "add", site.feed_url]) == 1
    assert "already followed" in capsys.readouterr().err
    assert main(["feeds", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{site.feed_url}\n    every 2m, new, 0 articles, last fetch never")
    site.publish(full_item("harbour", "Harbour reopens", 0))
    assert main(["watch", "--once"]) == 0  # 127.0.0.1 is not allowed by the policy yet
    assert "private or local address" in capsys.readouterr().err
    assert main(["feeds", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["status"], listed["failures"], listed["articles"]) == ("error", 1, 0)
    assert main(["feeds", "remove", site.feed_url]) == 0
    assert "stopped following" in capsys.readouterr().out
    monkeypatch.setenv("NEWSQA_FETCH_ALLOW", "127.0.0.1")
    assert main(["feeds", "add", site.feed_url]) == 0
    assert "(every 15m)" in capsys.readouterr().out  # the feed_every default
    assert main(["watch", "--once"]) == 0
    assert "Harbour reopens" in capsys.readouterr().out
    assert main(["feeds", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["status"], listed["failures"], listed["articles"]) == ("ok", 0, 1)
    with pytest.raises(SystemExit):
        main(["feeds", "remove"])
    assert "feeds remove needs at least one URL" in capsys.readouterr().err


def test_a_salvaged_index_keeps_its_feeds_and_follows(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from index.follows import FollowStore
    from index.recovery import salvage_index
    from tests.conftest import make_article

    directory = tmp_path / "index"
    with Archive.open(directory, HashEncoder(), create=True) as archive:
        archive.add([make_article("a", "The night ferry sails again.")])
        FeedStore(archive.store).add("https://news.example/feed.xml", 60, 0.0)
        FollowStore(archive.store).follow(7, 7, "night ferry", datetime.now(UTC))
    salvage_index(directory, lambda model: HashEncoder())
    with Archive.open(directory, HashEncoder()) as archive:
        assert [f.url for f in FeedStore(archive.store).feeds()] == [
            "https://news.example/feed.xml"
        ]
        assert [f.topic for f in FollowStore(archive.store).following(7)] == ["night ferry"]
        assert len(archive.articles()) == 1
