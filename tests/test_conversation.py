"""Follow-ups rewritten into self-contained questions: the rules alone, then turns answered from
the bundled articles with the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.conversation import ArticleRef, Conversation, Turn, is_follow_up, names_in, rewrite
from bot.evaluate import evaluate, load_questions
from corpus.bundled import bundled_articles
from corpus.readers import ReadLimits, stream_input
from corpus.types import Article
from index import Archive
from index.encoder import SentenceTransformerEncoder

DATA = Path(__file__).parent / "data"


def turn(
    understood: str,
    speaker: str | None = None,
    article: ArticleRef | None = None,
    found: str | None = None,
) -> Turn:
    return Turn(understood, understood, 0.0, speaker, article=article, found=found)


LAVROV = turn("What did Lavrov say about sanctions?", speaker="Sergei Lavrov")
RUSSIA = turn("How did Russia react to the call to cut off all ties with North Korea?")
HAPPIEST = turn("Which country is the happiest in the world?", found="Finland")


@pytest.mark.parametrize(
    ("previous", "asked", "understood"),
    [
        (LAVROV, "When did he say it?", "When did Sergei Lavrov say that about sanctions?"),
        (LAVROV, "Why?", "Why did Lavrov say about sanctions?"),
        (LAVROV, "And Haley?", "What did Haley say about sanctions?"),
        (LAVROV, "What about the oil embargo?", "What did Lavrov say about the oil embargo?"),
        (LAVROV, "And the minister?", "What did the minister say about sanctions?"),
        (RUSSIA, "What about China?",
         "How did China react to the call to cut off all ties with North Korea?"),
        (RUSSIA, "Why?", "Why did Russia react to the call to cut off all ties with North Korea?"),
        (RUSSIA, "What did they say?", "What did Russia say?"),
        (RUSSIA, "When did that happen?",
         "When did Russia react to the call to cut off all ties with North Korea happen?"),
        (LAVROV, "What did his ministry say?", "What did Sergei Lavrov’s ministry say?"),
        (LAVROV, "How many?", "How many did Lavrov say about sanctions?"),
        (HAPPIEST, "What was its score?", "What was Finland’s score?"),
        (HAPPIEST, "What about the United States?",
         "Is the United States the happiest in the world?"),
        (HAPPIEST, "Why?", "Why is Finland the happiest in the world?"),
        (RUSSIA, "Who gave that assurance?", "Who gave that assurance, on Russia react to the call "
         "to cut off all ties with North Korea?"),
        (RUSSIA, "Who was the spokesman?", "Who was the spokesman, on Russia react to the call to "
         "cut off all ties with North Korea?"),
    ],
)  # fmt: skip
def test_follow_ups_are_rewritten(previous: Turn, asked: str, understood: str) -> None:
    rewritten = rewrite(asked, previous)
    assert rewritten.follows
    assert rewritten.text == understood


@pytest.mark.parametrize(
    "asked",
    [
        "What is the population of Pyongyang?",
        "What did Nikki Haley warn would happen to the North Korean regime if war comes?",
        "Is there an oil embargo on North Korea?",
        "Who said that sanctions have failed?",
        "How many missiles did North Korea launch?",
    ],
)
def test_a_self_contained_question_inherits_nothing(asked: str) -> None:
    assert not is_follow_up(asked)
    assert rewrite(asked, LAVROV).text == asked
    assert not rewrite(asked, LAVROV).follows


def test_names_leave_out_question_words_headings_and_gerunds() -> None:
    text = "Top 10 happiest countries Using results from the Gallup World Poll, Finland was first."
    assert names_in(text) == ["Gallup World Poll", "Finland"]
    assert names_in("What did Sergei Lavrov say?") == ["Sergei Lavrov"]


def test_without_context_a_follow_up_stays_as_asked() -> None:
    assert rewrite("When did he say it?", None).text == "When did he say it?"


def test_what_else_stays_in_the_cited_article() -> None:
    article = ArticleRef("a1", "US battles for global push on North Korea")
    rewritten = rewrite(
        "What else did the article say?", turn("What did Haley warn?", article=article)
    )
    assert rewritten.article == article
    assert rewritten.text == "What else did “US battles for global push on North Korea” say?"


def test_context_lapses_after_the_quiet_period() -> None:
    conversation = Conversation("c", [LAVROV], quiet_s=900)
    assert conversation.context(now=899.0) is LAVROV
    assert conversation.context(now=901.0) is None


@pytest.mark.model
def test_turns_answered_from_the_archive(
    bundled_index: Path, real_encoder: SentenceTransformerEncoder
) -> None:
    answerer = Answerer(Archive.open(bundled_index, real_encoder))
    conversation = Conversation("c")
    first = conversation.ask(answerer, "What did Lavrov say about sanctions?", now=0.0)
    assert "pressure of sanctions" in first.text
    assert conversation.turns[-1].speaker == "Sergei Lavrov"  # the person quoted
    again = conversation.ask(answerer, "When did he say it?", now=60.0)
    assert again.question == "When did he say it?"
    assert again.understood_as == "When did Sergei Lavrov say that about sanctions?"
    assert "Lavrov" in again.text

    shown = set(first.text.split("\n\n"))
    more = conversation.ask(answerer, "What else did the article say?", now=120.0)
    cited = conversation.turns[-2].article
    assert cited is not None and not more.abstained
    assert {c.article.id for c in more.citations} == {cited.id}
    assert not shown & set(more.text.split("\n\n"))

    alone = conversation.ask(answerer, "What is the population of Pyongyang?", now=180.0)
    assert alone.abstained and alone.understood_as is None  # a new topic, as if asked alone
    late = conversation.ask(answerer, "Why?", now=180.0 + 16 * 60)
    assert late.understood_as is None  # the quiet period passed: nothing to follow


@pytest.fixture(scope="module")
def dialogue_index(
    tmp_path_factory: pytest.TempPathFactory, real_encoder: SentenceTransformerEncoder
) -> Path:
    """The bundled articles and the RealTime QA articles the dialogue set asks about."""
    directory = tmp_path_factory.mktemp("dialogues") / "index"
    articles = [a for a in stream_input(str(DATA / "dialogue_articles.jsonl"), ReadLimits())]
    assert all(isinstance(a, Article) for a in articles) and len(articles) == 4
    with Archive.open(directory, real_encoder, create=True) as archive:
        archive.add([*bundled_articles(), *(a for a in articles if isinstance(a, Article))])
    return directory


@pytest.mark.model
def test_the_dialogue_set(dialogue_index: Path, real_encoder: SentenceTransformerEncoder) -> None:
    """docs/quality.md: at least 90% of last turns right, every topic switch handled."""
    questions = load_questions(DATA / "dialogues.jsonl")
    assert len(questions) >= 40 and sum(q.switch for q in questions) >= 8
    assert all(1 <= len(q.context) <= 3 for q in questions)
    with Archive.open(dialogue_index, real_encoder) as archive:
        report = evaluate(Answerer(archive), questions, retrievers=())
    scores = report["answers (hybrid)"]
    assert scores["dialogues: last turn right"] >= 0.9
    assert scores["... topic switches handled"] == 1.0
    assert scores["citation precision"] == 1.0
