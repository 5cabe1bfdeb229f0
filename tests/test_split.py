"""Sentence splitting and passages: news prose rules, and offsets that always map back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.bundled import bundled_articles
from corpus.split import SplitConfig, paragraphs, sentences, split_passages


def texts(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr Tillerson spoke. Mr. Kim did not.", ["Mr Tillerson spoke.", "Mr. Kim did not."]),
        ("Gen. McMaster said so. He left.", ["Gen. McMaster said so.", "He left."]),
        (
            "U.S. officials say it works. They are sure.",
            ["U.S. officials say it works.", "They are sure."],
        ),
        ("Talks with the U.S. Navy went on.", ["Talks with the U.S. Navy went on."]),
        (
            "Sanctions hit the U.S. The move was new.",
            ["Sanctions hit the U.S.", "The move was new."],
        ),
        ("John F. Kennedy spoke. Crowds cheered.", ["John F. Kennedy spoke.", "Crowds cheered."]),
        ("Prices rose 3.5 per cent. Then fell.", ["Prices rose 3.5 per cent.", "Then fell."]),
        (
            "“We want . . . China to recognise it,” he said.",
            ["“We want . . . China to recognise it,” he said."],
        ),
        ("He waited... Nothing came.", ["He waited... Nothing came."]),
        (
            "“We want\u2009.\u2009.\u2009.\u2009China to act,” he said.",
            ["“We want\u2009.\u2009.\u2009.\u2009China to act,” he said."],
        ),
        (
            "“It is over,” she said. “If war comes, we win.” Trump agreed.",
            ["“It is over,” she said.", "“If war comes, we win.”", "Trump agreed."],
        ),
        ("“Is it over?” he asked. Nobody knew.", ["“Is it over?” he asked.", "Nobody knew."]),
        (
            "Trump — who has traded barbs with Kim — asked Xi. Xi declined.",
            ["Trump — who has traded barbs with Kim — asked Xi.", "Xi declined."],
        ),
        ("See No. 5 on the list. It is long.", ["See No. 5 on the list.", "It is long."]),
        ("He said no. The talks ended.", ["He said no.", "The talks ended."]),
        (
            "Headline without a stop\n\nBody starts here. And ends.",
            ["Headline without a stop", "Body starts here.", "And ends."],
        ),
    ],
)
def test_sentence_rules(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_hard_wrapped_lines_join_but_paragraphs_do_not() -> None:
    text = "The minister said the talks\nwould resume soon.\n\nA new paragraph"
    assert [text[s:e] for s, e in paragraphs(text)] == [
        "The minister said the talks\nwould resume soon.",
        "A new paragraph",
    ]
    assert texts(text) == ["The minister said the talks\nwould resume soon.", "A new paragraph"]


def test_long_run_without_punctuation_is_cut_at_spaces() -> None:
    text = " ".join(["word"] * 400)
    spans = sentences(text, max_sentence_chars=100)
    assert len(spans) > 1
    assert all(e - s <= 100 for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text


def test_bundled_quotes_are_single_sentences() -> None:
    article = next(a for a in bundled_articles() if "global push" in a.title)
    found = texts(article.text)
    assert (
        "“We have repeatedly stated that the pressure of sanctions has been exhausted,” "
        "he told reporters in Minsk."
    ) in found
    assert (
        "“If war comes, make no mistake: The North Korean regime will be utterly destroyed.”"
        in found
    )


@pytest.mark.parametrize("config", [SplitConfig(), SplitConfig(2, 0, 400), SplitConfig(5, 2, 2000)])
def test_passages_map_back_and_overlap(config: SplitConfig) -> None:
    for article in bundled_articles():
        passages = split_passages(article.id, article.text, config)
        all_sentences = sentences(article.text)
        covered = set()
        for p in passages:
            assert article.text[p.start : p.end] == p.text
            assert 1 <= len(p.sentences) <= config.sentences_per_passage
            assert len(p.text) <= config.max_chars or len(p.sentences) == 1
            for s, e in p.sentences:
                covered.add((p.start + s, p.start + e))
        assert covered == set(all_sentences)
        for a, b in zip(passages, passages[1:], strict=False):
            shared = {a.start + s for s, _ in a.sentences} & {b.start + s for s, _ in b.sentences}
            assert len(shared) == min(config.overlap, len(a.sentences) - 1)
        assert [p.ordinal for p in passages] == list(range(len(passages)))


def test_passages_never_cross_articles() -> None:
    articles = bundled_articles()
    for article in articles:
        for p in split_passages(article.id, article.text):
            assert p.article_id == article.id
            assert p.text in article.text


_pieces = st.sampled_from(
    [
        "Mr",
        "U.S.",
        "said",
        "“",
        "”",
        "—",
        ". ",
        "? ",
        "! ",
        "\n",
        "\n\n",
        " ",
        "A",
        "b",
        "...",
        ". . .",
        "3.5",
        "’",
        "é",
        "\t",
        "Kim",
        "no.",
        ",",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=80).map("".join))
def test_offsets_always_map_back(text: str) -> None:
    spans = sentences(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        last = e
    for p in split_passages("a", text, SplitConfig(3, 1, 50)):
        assert text[p.start : p.end] == p.text
        for s, e in p.sentences:
            assert p.text[s:e] == text[p.start + s : p.start + e]
    joined = "".join(text[s:e] for s, e in spans)
    assert "".join(joined.split()) == "".join(text.split())
