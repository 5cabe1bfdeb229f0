"""bot/answer without a model: context rules, verification of citations, abstention plumbing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.answer import (
    Answer,
    AnswerConfig,
    Answerer,
    AnswerError,
    AnswerSentence,
    Citation,
    _Sentence,
    clean_question,
    context_range,
    verify,
)
from corpus.types import ArticleInfo, Passage
from index import Archive
from tests.conftest import make_article
from tests.fakes import HashEncoder


def sentences(*texts: str) -> list[_Sentence]:
    out, pos = [], 0
    for text in texts:
        out.append(_Sentence(pos, pos + len(text), text))
        pos += len(text) + 1
    return out


@pytest.mark.parametrize(
    ("texts", "i", "expected"),
    [
        # a quote whose speaker is named in the next sentence keeps that sentence
        (
            ["Intro.", "“We will not give in.”", "The minister said so on Monday.", "Later."],
            1,
            (1, 2),
        ),
        # "he told reporters": keep the sentence that names "he"
        (
            ["Lavrov rejected it.", "“Sanctions are exhausted,” he told reporters.", "Next."],
            1,
            (0, 1),
        ),
        # a quote running over two sentences keeps both, and its attribution
        (["“We are ready.", "Let us meet,” Tillerson said.", "Other."], 0, (0, 1)),
        (["Before.", "“We are ready.", "Let us meet,” he said.", "Other."], 2, (0, 2)),
        # a plain sentence stands alone
        (["Prices rose.", "Oil fell sharply on Monday.", "He left."], 1, (1, 1)),
        # a sentence opening with a pronoun keeps the one before
        (["Mattis spoke.", "He said options remain.", "Other."], 1, (0, 1)),
        # a question in the text (an FAQ heading, a quiz) is answered by what follows it
        (
            ["Intro.", "How many stripes are on the flag?", "There are 13 stripes.", "Later."],
            1,
            (1, 2),
        ),
        # so is a sentence that announces a list
        (["Intro.", "The tour dates:", "June 3, Boston.", "June 5, Chicago."], 1, (1, 2)),
    ],
)
def test_context_range(texts: list[str], i: int, expected: tuple[int, int]) -> None:
    assert context_range(sentences(*texts), i) == expected


def test_a_two_sentence_group_keeps_what_its_sentence_announces() -> None:
    """Groups of facts show two sentences at most (AnswerConfig); trimming one drops who "he"
    is, which the citation's article says, before the list the sentence announces."""
    limit = AnswerConfig().max_group_sentences
    group = sentences("The coach spoke on Friday.", "He named the signings:", "Smith and Jones.")
    assert limit == 2 and context_range(group, 1, limit) == (1, 2)
    assert context_range(group, 1, 3) == (0, 2)
    said = sentences("Lavrov spoke.", "He said options remain.", "Other.")
    assert context_range(said, 1, limit) == (0, 1)  # nothing announced: the name stays


def test_context_never_exceeds_the_limit() -> None:
    group = sentences("A.", "“B.", "C.", "D,” he said.", "E.")
    first, last = context_range(group, 2, limit=2)
    assert last - first + 1 <= 2 and first <= 2 <= last


ARTICLE = ArticleInfo("a1", "Title", "https://news.example/a1", "Wire", "2024-01-02", "origin")
PASSAGE = Passage("a1", 0, "First sentence here. Second one.", 0, ((0, 20), (21, 32)), id=7)


def answer_with(
    *sentences: AnswerSentence, citations: tuple[Citation, ...] | None = None
) -> Answer:
    cites = citations or (Citation(1, ARTICLE, PASSAGE, 1.0),)
    return Answer("q?", tuple(sentences), cites, False)


def test_verify_keeps_exact_quotes() -> None:
    answer = answer_with(
        AnswerSentence("First sentence here.", 1, 0), AnswerSentence("Second one.", 1, 21)
    )
    assert verify(answer) == answer


def test_verify_catches_a_tampered_sentence() -> None:
    good = AnswerSentence("Second one.", 1, 21)
    tampered = AnswerSentence("First sentence was changed.", 1, 0)
    checked = verify(answer_with(tampered, good))
    assert checked.sentences == (good,)
    assert not checked.abstained


def test_verify_catches_a_shifted_offset_and_a_wrong_citation() -> None:
    shifted = AnswerSentence("Second one.", 1, 20)
    wrong_number = AnswerSentence("Second one.", 2, 21)
    assert verify(answer_with(shifted)).abstained
    assert verify(answer_with(wrong_number)).abstained


def test_verify_catches_a_citation_to_the_wrong_article() -> None:
    other = dataclasses.replace(ARTICLE, id="someone-else")
    cites = (Citation(1, other, PASSAGE, 1.0),)
    checked = verify(answer_with(AnswerSentence("Second one.", 1, 21), citations=cites))
    assert checked.abstained and checked.citations == ()


@pytest.mark.parametrize("bad", ["", "   ", "?!?", "\x00\x01", "\u202e\u202d"])
def test_questions_without_words_are_refused(bad: str) -> None:
    with pytest.raises(AnswerError, match="ask a question in words"):
        clean_question(bad)


def test_question_cleaning() -> None:
    assert clean_question("  What\x00 did\u202e he\n say? ") == "What did he say?"
    assert len(clean_question("why " * 5000)) == 1000


def test_answers_are_verbatim_with_a_fake_encoder(archive: Archive) -> None:
    text = (
        "The harbour reopened on Monday after the storm. “It was the worst in years,” the mayor "
        "said. Fishermen returned to sea on Tuesday. Repairs will cost millions."
    )
    stored = make_article("h1", text, title="Harbour reopens", source="Coast News")
    archive.add([stored])
    answerer = Answerer(archive, AnswerConfig(threshold=0.3))
    answer = answerer.answer("When did the harbour reopen after the storm?")
    assert not answer.abstained
    assert "The harbour reopened on Monday after the storm." in answer.text
    for s in answer.sentences:
        c = next(c for c in answer.citations if c.n == s.citation)
        assert c.passage.text[s.start : s.start + len(s.text)] == s.text
        assert stored.text[c.passage.start : c.passage.end] == c.passage.text
        assert c.article.title == "Harbour reopens" and c.article.source == "Coast News"


def test_unknown_names_abstain(archive: Archive) -> None:
    archive.add([make_article("h1", "The harbour reopened on Monday. Boats returned.")])
    answer = Answerer(archive, AnswerConfig(threshold=0.0)).answer(
        "What did Zelensky say about boats?"
    )
    assert answer.abstained and answer.unknown == ("Zelensky",)
    assert answer.related  # the closest passages are still offered


def test_empty_archive_abstains(archive: Archive) -> None:
    answer = Answerer(archive).answer("Anything at all?")
    assert answer.abstained and answer.related == ()


def test_a_demonym_is_not_an_unknown_name(archive: Archive) -> None:
    archive.add([make_article("r1", "Russia rejected the plan on Monday, its minister said.")])
    answer = Answerer(archive, AnswerConfig(threshold=0.0)).answer(
        "What did the Russian minister say about the plan?"
    )
    assert answer.unknown == () and not answer.abstained


def test_the_value_asked_for_in_the_next_sentence_is_shown() -> None:
    from bot.answer import _Sentence, _value_follows
    from bot.question import NUMBER, Question

    text = "The club signed a new coach. The deal runs for five years.\n\nFans cheered."
    spans = [(0, 28), (29, 58), (60, 73)]
    sentences = [_Sentence(a, b, text[a:b]) for a, b in spans]
    q = Question("How long is the coach's deal?", expects=NUMBER, focus=("how", "long"))
    assert _value_follows(q, sentences, 0)  # the number is in the next sentence
    assert not _value_follows(q, sentences, 1)  # this one holds it already
    assert not _value_follows(Question("What happened?"), sentences, 0)  # no type asked for
    apart = "The club signed a new coach.\n\nThe deal runs for five years."
    split = [_Sentence(0, 28, apart[0:28]), _Sentence(30, 60, apart[30:60])]
    assert not _value_follows(q, split, 0)  # another paragraph: not this sentence's context


def test_a_how_many_question_abstains_on_evidence_without_a_number(archive: Archive) -> None:
    archive.add([make_article("k1", "The leader inspected the missile launch site on Monday.")])
    answerer = Answerer(archive, AnswerConfig(threshold=0.0))
    assert answerer.answer("How many missiles did the leader inspect?").abstained
    assert not answerer.answer("What did the leader inspect?").abstained
    archive.add([make_article("k2", "The leader inspected twelve missiles at the site.")])
    answer = answerer.answer("How many missiles did the leader inspect?")
    assert not answer.abstained and "twelve" in answer.text
    untyped = Answerer(archive, AnswerConfig(threshold=0.0, typed_abstention=False))
    archive.remove(["k2"])
    assert not untyped.answer("How many missiles did the leader inspect?").abstained


def test_an_article_changed_under_the_same_id_is_read_again(archive: Archive) -> None:
    """Whole article texts are kept between answers, but only for the generation that read them."""
    archive.add([make_article("h1", "The harbour reopened on Monday after the storm.")])
    answerer = Answerer(archive, AnswerConfig(threshold=0.0))
    question = "When did the harbour reopen after the storm?"
    assert "on Monday" in answerer.answer(question).text
    archive.remove(["h1"])
    archive.add([make_article("h1", "The harbour reopened on Friday after the storm.")])
    answer = answerer.answer(question)
    assert "on Friday" in answer.text and "on Monday" not in answer.text


def test_articles_are_read_together_as_each_alone(archive: Archive) -> None:
    long = " ".join(f"Sentence number {n} of the long report is here." for n in range(120))
    archive.add(
        [
            make_article("a1", long),
            make_article("a2", "A short note on the harbour."),
            make_article("a3", long.replace("report", "story")),
        ]
    )
    together = archive.store.articles_passages(["a3", "missing", "a1", "a2", "a1"])
    assert set(together) == {"a1", "a2", "a3"}
    assert len(together["a1"]) > 1
    for article_id, passages in together.items():
        assert {p.article_id for p in passages} == {article_id}
        assert [p.ordinal for p in passages] == sorted(p.ordinal for p in passages)
        alone = archive.store.passages([p.id or 0 for p in passages])
        assert passages == [alone[p.id or 0][0] for p in passages]


def test_stored_sentence_spans_are_parsed_together_as_each_alone() -> None:
    from index.store import _spans

    stored = ["[[0, 5], [6, 19]]", "[]", "[[120, 240]]"]
    assert _spans(stored) == [((0, 5), (6, 19)), (), ((120, 240),)]
    assert _spans([]) == []


def test_the_articles_kept_between_answers_are_bounded(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.answer._KEPT_PASSAGES", 3)
    topics = ["harbour", "bridge", "stadium", "airport", "library"]
    archive.add(
        [
            make_article(f"t{n}", f"The {t} reopened on Monday. Crowds came.")
            for n, t in enumerate(topics)
        ]
    )
    answerer = Answerer(archive, AnswerConfig(threshold=0.0))
    for topic in topics:
        answerer.answer(f"When did the {topic} reopen?")
        kept = sum(len(text.passages) for text in answerer._texts.values())
        assert kept == answerer._kept_passages <= 3
    assert answerer._texts  # the newest are kept


def test_a_prolific_speaker_is_answered_from_a_shortlist_of_quotes(
    archive: Archive, fake_encoder: HashEncoder
) -> None:
    """Every quote of a speaker is ranked by its sentences' stored vectors and words; only a
    shortlist is encoded whole, and quotes encoded once are kept for the next question."""
    from bot.answer import _QUOTES_ENCODED

    topics = ["the harbour", "the budget", "the schools", "the roads", "the trains"]
    archive.add(
        [
            make_article(f"m{n}", f"“We discussed {topics[n % 5]} at length ({n}),” Lavrov said.")
            for n in range(3 * _QUOTES_ENCODED)
        ]
        + [make_article("s", "“Sanctions against Russia are a dead end,” Lavrov said on Friday.")]
    )
    answerer = Answerer(archive, AnswerConfig(threshold=0.0))
    fake_encoder.calls.clear()
    answer = answerer.answer("What did Lavrov say about sanctions against Russia?")
    assert answer.speaker == "Lavrov" and "a dead end" in answer.sentences[0].text
    encoded = sum(fake_encoder.calls)
    assert _QUOTES_ENCODED <= encoded <= _QUOTES_ENCODED + 2  # the shortlist, and the question
    fake_encoder.calls.clear()
    again = answerer.answer("What did Lavrov say about sanctions against Russia?")
    assert again.text == answer.text and sum(fake_encoder.calls) <= 2  # nothing encoded again


def test_a_speaker_quoted_in_thousands_of_articles_is_answered_without_reading_them_all(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past a limit, one of each quoted text is kept (a wire story carried by many articles),
    then the quotes are ranked by their stored sentence vectors and words before any article is
    read: the right quote still leads, and only the shortlist's articles are read."""
    monkeypatch.setattr("bot.answer._QUOTES_SHORTLISTED_ABOVE", 8)
    monkeypatch.setattr("bot.answer._QUOTES_READ", 4)
    topics = ["the harbour", "the budget", "the schools", "the roads", "the trains"]
    archive.add(
        [
            make_article(f"m{n}", f"“We discussed {topics[n % 5]} at length ({n}),” Lavrov said.")
            for n in range(12)
        ]
        + [
            make_article(f"w{n}", f"Report {n}. “Sanctions are a dead end,” Lavrov said.")
            for n in range(6)  # one quote, carried by six articles
        ]
    )
    answerer = Answerer(archive, AnswerConfig(threshold=0.0))
    read: list[int] = []
    articles = answerer._articles

    def counting(wanted: Any) -> Any:
        read.append(len(wanted))
        return articles(wanted)

    monkeypatch.setattr(answerer, "_articles", counting)
    answer = answerer.answer("What did Lavrov say about sanctions?")
    assert answer.speaker == "Lavrov" and "a dead end" in answer.sentences[0].text
    assert read and max(read) <= 4  # the shortlist's articles, not the 18 that quote him
    assert sum("a dead end" in c.passage.text for c in answer.citations) == 1  # the copies: one
