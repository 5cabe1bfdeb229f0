"""Telegram HTML rendering and splitting: escaped, valid, and never over Telegram's limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Answer, AnswerSentence, Citation
from bot.telegram import render
from bot.telegram.render import LIMIT, pack, split_paragraph, visible_length, visible_text
from corpus.types import ArticleInfo, Passage
from tests.telegram_fake import check_text, parse_html

HOSTILE = "<b>Tom & Jerry</b> *_[x](y)_* `code` &amp; </i>"


def citation(n: int, title: str, text: str, url: str | None = "https://example.org/a?x=1&y=2"):
    info = ArticleInfo(f"id{n}", title, url, "Outlet <&>", "2017-12-01T09:00:00", f"test:{n}")
    return Citation(n, info, Passage(f"id{n}", 0, text, 0, ((0, len(text)),), id=n), 0.9)


def an_answer(*groups: tuple[str, Citation]) -> Answer:
    sentences = tuple(AnswerSentence(text, c.n, 0) for text, c in groups)
    citations = tuple({c.n: c for _, c in groups}.values())
    return Answer("q", sentences, citations, abstained=False, groups=len(groups))


def valid(message: str) -> str:
    """The visible text, after checking Telegram would accept the message."""
    plain, _ = check_text(message, "HTML")
    assert len(plain) <= LIMIT
    return plain


def test_answer_escapes_everything_and_links_citations() -> None:
    c = citation(1, HOSTILE, HOSTILE)
    [quote, sources] = render.answer_paragraphs(an_answer((HOSTILE, c)))
    assert quote.startswith("<blockquote>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;")
    assert '<a href="https://example.org/a?x=1&amp;y=2">[1]</a></blockquote>' in quote
    plain = valid(render.pack([quote, sources])[0])
    assert plain == (f"{HOSTILE} [1]\n\nSources\n[1] {HOSTILE} — Outlet <&>, 2017-12-01")
    _, entities = parse_html(sources)
    assert {"type": "text_link", "url": "https://example.org/a?x=1&y=2"} in [
        {k: e[k] for k in ("type", "url")} for e in entities if e["type"] == "text_link"
    ]


@pytest.mark.parametrize("url", [None, "file:///etc/passwd", "javascript:alert(1)"])
def test_only_web_urls_become_links(url: str | None) -> None:
    c = citation(1, "T", "Text.", url=url)
    html = "\n".join(render.answer_paragraphs(an_answer(("Text.", c))))
    assert "<a " not in html
    valid(html)


def test_consecutive_sentences_of_one_source_share_a_paragraph() -> None:
    a, b = citation(1, "A", "x"), citation(2, "B", "y")
    answer = an_answer(("One.", a), ("Two.", a), ("Three.", b))
    assert render.cited_groups(answer) == [("One. Two.", 1), ("Three.", 2)]


def test_abstention_and_sources_render_related_passages() -> None:
    c = citation(1, "Title & co", "A passage <with> markup & more.")
    abstained = Answer("q", (), (), True, related=(c,), unknown=("Zorro<",))
    text = valid("\n\n".join(render.answer_paragraphs(abstained)))
    assert "It never mentions: Zorro<." in text and "May be related" in text
    full = valid("\n\n".join(render.sources_paragraphs(abstained)))
    assert "A passage <with> markup & more." in full and "https://example.org/a?x=1&y=2" in full


def test_a_long_answer_packs_into_messages_under_the_limit() -> None:
    sentence = "The glassblowers of Vellmar kept the furnaces lit & <warm>. " * 30
    groups = [(sentence, citation(n, f"Title {n} " * 40, sentence)) for n in range(1, 5)]
    paragraphs = render.answer_paragraphs(an_answer(*groups))
    messages = pack(paragraphs)
    assert len(messages) >= 2
    texts = [valid(m) for m in messages]
    assert "".join(texts).count("The glassblowers of Vellmar") == 4 * 30


def test_an_over_long_paragraph_is_cut_at_sentences_with_tags_reopened() -> None:
    sentence = "Sanctions & <pressure> were exhausted, he said. "
    paragraph = f'<b><a href="https://x.org/?a=1&amp;b=2">{render.escape(sentence * 200)}</a></b>'
    pieces = split_paragraph(paragraph, LIMIT)
    assert len(pieces) == 3
    for piece in pieces:
        plain, entities = parse_html(piece)
        assert len(plain) <= LIMIT and plain.strip().endswith("he said.")
        assert {e["type"] for e in entities} == {"bold", "text_link"}
    joined = " ".join(visible_text(p) for p in pieces)
    assert joined.split() == (sentence * 200).split()


def test_words_are_not_broken_unless_one_is_longer_than_the_limit() -> None:
    pieces = split_paragraph("word " * 3000, 100)
    assert all(p.split() == ["word"] * len(p.split()) for p in pieces)
    assert all(visible_length(p) <= 100 for p in pieces)
    pieces = split_paragraph("<i>" + "x" * 250 + "</i>", 100)
    assert [visible_length(p) for p in pieces] == [100, 100, 50]
    assert all(p.startswith("<i>") and p.endswith("</i>") for p in pieces)


def test_astral_characters_count_twice() -> None:
    assert visible_length("😀&amp;") == 3
    pieces = split_paragraph("😀" * 100, 51)
    assert all(visible_length(p) <= 51 for p in pieces)
    assert "".join(pieces) == "😀" * 100


def test_ingest_report_escapes_titles_and_reasons() -> None:
    info = ArticleInfo("a", "<b>Tom & Jerry", None, None, None, "telegram:x.txt")
    summary = render.IngestSummary(added=(info,), failed=("x.jsonl:2: malformed <JSON>",))
    text = valid("\n\n".join(render.ingest_paragraphs(summary)))
    assert text == ("Added (1)\n• <b>Tom & Jerry\n\nCould not read\n• x.jsonl:2: malformed <JSON>")
    assert render.ingest_paragraphs(render.IngestSummary()) == ["Nothing was added."]


def test_start_and_stats_texts_are_valid() -> None:
    start = render.start_paragraphs(3, ["A&B", "C"], ["What did <X> say?"], admin=True)
    text = valid("\n\n".join(start))
    assert "holds 3 articles from A&B, C." in text and "• What did <X> say?" in text
    assert "/add link" in text
    assert "/add" not in valid(render.help_html(admin=False))
    assert "Last update: never" in valid(render.stats_html(0, 0, [], ""))


_text = st.lists(
    st.sampled_from(list("ab <>&\"'.!?\n😀é") + ["word ", ". ", "\n\n"]), max_size=200
).map("".join)


@st.composite
def paragraphs(draw: st.DrawFn) -> str:
    """Self-contained HTML like the renderer makes: escaped text in nested tags."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        text = render.escape(draw(_text))
        tag = draw(st.sampled_from(["", "b", "i", "blockquote", "a"]))
        if tag == "a":
            text = render.link(f"<b>{text}</b>", 'https://e.org/?q=<1>&r="2"')
        elif tag:
            text = f"<{tag}>{text}</{tag}>"
        parts.append(text)
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(st.lists(paragraphs(), min_size=1, max_size=5), st.integers(20, 300))
def test_packing_never_breaks_tags_or_the_limit(items: list[str], limit: int) -> None:
    messages = pack(items, limit)
    for message in messages:
        plain, _ = parse_html(message)  # raises on a broken tag or entity
        assert visible_length(message) <= limit
        assert plain.strip()
    words = "".join(visible_text(p) for p in items).split()
    assert "".join("".join(visible_text(m) for m in messages).split()) == "".join(words)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (None, "/srv/data/export.jsonl:7"),
        (None, "/home/newsqa/articles/story.txt"),
        ("file:///srv/data/story.html", "/srv/data/story.html"),
    ],
)
def test_sources_never_show_a_server_path(url: str | None, origin: str) -> None:
    info = ArticleInfo("id1", "Harbour cranes", url, "Harbour Gazette", "2024-03-01", origin)
    c = Citation(1, info, Passage("id1", 0, "Cranes.", 0, ((0, 7),), id=1), 0.9)
    full = valid("\n\n".join(render.sources_paragraphs(an_answer(("Cranes.", c)))))
    assert full.startswith("[1] Harbour cranes\nHarbour Gazette, 2024-03-01\nCranes.")
    assert "/srv" not in full and "/home" not in full and "file:" not in full
