"""Near-duplicate stories: MinHash estimates, and one story shown once with "also reported by"."""

from __future__ import annotations

from bot.answer import AnswerConfig, Answerer
from bot.render import answer_json, answer_text
from corpus import dedup
from corpus.bundled import bundled_articles
from index import Archive
from tests.conftest import make_article

WIRE = (
    "Farmers blocked the main highway into the capital on Tuesday, protesting against new fuel "
    "taxes. Police said the blockade stretched for twelve kilometres. The agriculture minister "
    "promised talks with the unions next week. “We will not leave until the tax is withdrawn,” "
    "said union leader Marta Kowalska. Traffic was diverted through the northern ring road."
)


def test_minhash_tells_copies_from_other_stories() -> None:
    a, b = bundled_articles()
    copy = a.text.replace("Minsk", "Moscow") + "\n\nReporting by the wire desk."
    assert dedup.similarity(dedup.signature(a.text), dedup.signature(copy)) >= 0.8
    assert dedup.similarity(dedup.signature(a.text), dedup.signature(b.text)) < 0.1
    assert set(dedup.bands(dedup.signature(a.text))) & set(dedup.bands(dedup.signature(copy)))
    half = a.text[: len(a.text) // 3]
    assert (
        dedup.similarity(dedup.signature(a.text), dedup.signature(half)) < dedup.DUPLICATE_JACCARD
    )


def test_signature_is_stable_and_handles_tiny_texts() -> None:
    assert dedup.signature(WIRE) == dedup.signature(WIRE.upper())
    assert len(dedup.signature("Short.")) == dedup.HASHES


def test_a_wire_copy_shows_once_with_also_reported_by(archive: Archive) -> None:
    archive.add(
        [
            make_article("w1", WIRE, title="Farmers block highway", source="Wire One",
                         url="https://one.example/farmers"),
            make_article("w2", WIRE.replace("Tuesday", "Tuesday morning"),
                         title="Farmers block highway into capital", source="Daily Two",
                         url="https://two.example/news/farmers?id=9"),
            make_article("o1", "Fishermen in the north protested against fuel taxes too. "
                         "They blocked a harbour.", title="Fishermen protest", source="Coast"),
        ]
    )  # fmt: skip
    hits = archive.search("farmers blockade highway fuel taxes", k=5)
    articles = [h.article.id for h in hits]
    shown = [a for a in articles if a in ("w1", "w2")]
    assert len(shown) == 1 and "o1" in articles  # the story once, by its best-ranked copy
    lead = next(h for h in hits if h.article.id == shown[0])
    assert [a.id for a in lead.also] == [{"w1": "w2", "w2": "w1"}[shown[0]]]
    assert all(h.also == () for h in hits if h.article.id == "o1")

    answer = Answerer(archive, AnswerConfig(threshold=0.2)).answer(
        "Why did farmers block the highway?"
    )
    text = answer_text(answer)
    assert ("also reported by: Daily Two (https://two.example/news/farmers?id=9)" in text) or (
        "also reported by: Wire One (https://one.example/farmers)" in text
    )
    cited = answer_json(answer)["citations"]
    assert cited[0]["also"][0]["article_id"] in ("w1", "w2")  # type: ignore[index]

    archive.remove([shown[0]])
    hits = archive.search("farmers blockade highway fuel taxes", k=5)
    assert {"w1", "w2"} - {shown[0]} <= {h.article.id for h in hits}  # the other copy shows now
    assert archive.check() == []


def test_rebuild_backfills_stories_for_older_indexes(archive: Archive) -> None:
    archive.add([make_article("w1", WIRE), make_article("w2", WIRE + " Extra line.")])
    with archive.store.transaction() as db:
        db.execute("DELETE FROM signatures")
    before = {h.article.id for h in archive.search("farmers highway taxes", k=5)}
    assert before == {"w1", "w2"}  # without stories, both copies fill the results
    archive.rebuild()
    ids = [h.article.id for h in archive.search("farmers highway taxes", k=5)]
    assert len(set(ids) & {"w1", "w2"}) == 1


BRIEF = (
    "The city council voted on Monday to close the old swimming pool on Elm Street next month, "
    "citing repair costs of two million euros."
)
FOOTER = (
    "The Harbour Gazette is published every weekday morning by Harbour Media Group and "
    "delivered to subscribers across the region."
)


def test_two_short_copies_one_word_apart_are_one_story(archive: Archive) -> None:
    copy = BRIEF.replace("Monday", "Tuesday")
    assert dedup.similarity(dedup.signature(BRIEF), dedup.signature(copy)) >= 0.7
    archive.add(
        [
            make_article("b1", BRIEF, title="Pool to close", url="https://one.example/pool"),
            make_article("b2", copy, title="Elm Street pool closes", url="https://two.example/p"),
        ]
    )
    stories = archive.store.stories(["b1", "b2"])
    assert stories["b1"] == stories["b2"] == "b1"


def test_short_stories_sharing_a_footer_stay_apart(archive: Archive) -> None:
    other = (
        "Fishermen in the north harbour landed a record catch of herring on Saturday, the port "
        "authority said, the largest since records began."
    )
    first, second = f"{BRIEF}\n\n{FOOTER}", f"{other}\n\n{FOOTER}"
    assert dedup.similarity(dedup.signature(first), dedup.signature(second)) < 0.5
    archive.add([make_article("s1", first), make_article("s2", second)])
    stories = archive.store.stories(["s1", "s2"])
    assert stories == {"s1": "s1", "s2": "s2"}


def test_an_index_with_older_signatures_gets_them_made_again(archive: Archive) -> None:
    archive.add([make_article("b1", BRIEF), make_article("b2", BRIEF.replace("Monday", "Sunday"))])
    with archive.store.transaction() as db:  # as an index of the 5-word version left them
        db.execute("UPDATE signatures SET story = article_id")
        db.execute("UPDATE meta SET value = 'minhash-64x5w' WHERE key = 'dedup'")
    directory = archive.directory
    archive.close()
    from index.store import Store

    store = Store(directory / "newsqa.sqlite")
    try:
        assert store.get_meta("dedup") == dedup.VERSION
        assert store.stories(["b1", "b2"]) == {"b1": "b1", "b2": "b1"}
    finally:
        store.close()


def test_an_index_of_schema_2_gains_pages_and_new_signatures(archive: Archive) -> None:
    archive.add([make_article("b1", BRIEF), make_article("b2", BRIEF.replace("Monday", "Sunday"))])
    with archive.store.transaction() as db:  # as newsqa before PDF pages and 3-word shingles
        db.execute("DROP INDEX articles_info")
        db.execute("ALTER TABLE articles DROP COLUMN pages")
        db.execute("DELETE FROM meta WHERE key = 'dedup'")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        db.execute("UPDATE signatures SET story = article_id")
    directory = archive.directory
    archive.close()
    from index.store import SCHEMA_VERSION, Store

    store = Store(directory / "newsqa.sqlite")
    try:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert store.get_meta("dedup") == dedup.VERSION
        assert store.stories(["b1", "b2"]) == {"b1": "b1", "b2": "b1"}
        article = store.get_article("b2")
        assert article is not None and article.pages == ()
    finally:
        store.close()
