"""Hostile questions and text: never an error, never broken formatting.

Property tests for the full-text query builder (against a real FTS5 table) and for the Telegram
renderer on arbitrary answers; then hostile questions through the real model, `newsqa ask --json`
and the Telegram renderer.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Answer, Answerer, AnswerError, AnswerSentence, Citation
from bot.cli import main
from bot.render import answer_json
from bot.telegram import render
from corpus.types import ArticleInfo, Passage
from index import Archive
from index.fts import MAX_TERMS, match_expression
from index.onnx_encoder import OnnxEncoder
from tests.telegram_fake import check_text

HOSTILE_QUESTIONS = [
    "What did Lavrov say about sanctions? " * 280,  # about 10,000 characters
    "x" * 10_000,
    "What\x00 did\x07 Lavrov\x1b[31m say\r\n about\u200b sanctions\u202e?",
    "ماذا قال لافروف عن العقوبات؟",  # right to left
    "\u202eWhat did Lavrov say?\u202c about sanctions",
    "What did 🇷🇺 Lavrov 😀 say about sanctions 🤔?",
    "<b>What</b> did <script>alert(1)</script> Lavrov say? </i> &amp; &lt;",
    "**What** did _Lavrov_ say about `sanctions` [x](javascript:alert(1))?",
    '"sanctions',
    "Lavrov NEAR(sanctions pressure, 2)",
    "sanct* OR pres*",
    "title:Lavrov text:sanctions",
    "((Lavrov AND (sanctions",
    "- Lavrov ^ sanctions + :",
    "NOT AND OR NEAR",
    "'; DROP TABLE articles; --",
]
SYMBOLS_ONLY = ["😀🤔", "?!?", "\x00\x01", "   ", "<>&"]


# --- the FTS5 query builder, against SQLite itself ---


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, text, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    db.execute("INSERT INTO t VALUES ('Lavrov on sanctions', 'The pressure of sanctions')")
    yield db
    db.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from(list('"*():^-+{}[],.NEARORANDNOT \x00\t'))),
        st.lists(st.sampled_from(HOSTILE_QUESTIONS + SYMBOLS_ONLY)).map(" ".join),
    )
)
def test_any_text_gives_no_expression_or_one_sqlite_accepts(
    fts: sqlite3.Connection, text: str
) -> None:
    expression = match_expression(text)
    if expression is None:
        return
    assert expression.count(" OR ") < MAX_TERMS
    fts.execute("SELECT rowid, bm25(t) FROM t WHERE t MATCH ?", (expression,)).fetchall()


# --- the Telegram renderer, on arbitrary answers ---

_any_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300
)
_url = st.one_of(
    st.none(),
    st.just("javascript:alert(1)"),
    _any_text.map(lambda t: "https://example.org/?q=" + t),
)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    citations = []
    for n in range(1, draw(st.integers(1, 4)) + 1):
        text = draw(_any_text)
        info = ArticleInfo(
            f"id{n}",
            draw(_any_text),
            draw(_url),
            draw(st.one_of(st.none(), _any_text)),
            draw(st.one_of(st.none(), st.just("2017-12-01"), _any_text)),
            "test",
        )
        passage = Passage(f"id{n}", 0, text, 0, ((0, len(text)),), id=n)
        citations.append(Citation(n, info, passage, 0.9))
    sentences = tuple(
        AnswerSentence(draw(_any_text), draw(st.integers(1, len(citations))), 0)
        for _ in range(draw(st.integers(0, 6)))
    )
    abstained = not sentences
    return Answer(
        draw(_any_text),
        sentences,
        () if abstained else tuple(citations),
        abstained,
        related=tuple(citations) if abstained else (),
        unknown=tuple(draw(st.lists(_any_text, max_size=3))) if abstained else (),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_any_answer_renders_to_messages_telegram_accepts(answer: Answer) -> None:
    for paragraphs in (render.answer_paragraphs(answer), render.sources_paragraphs(answer)):
        for message in render.pack(paragraphs):
            plain, _ = check_text(message, "HTML")  # Telegram's own checks, as the fake does them
            assert 0 < len(plain.encode("utf-16-le")) // 2 <= render.LIMIT


# --- the real model ---


@pytest.mark.model
def test_hostile_questions_get_an_answer_or_a_clear_refusal(
    bundled_index: Path, real_encoder: OnnxEncoder
) -> None:
    with Archive.open(bundled_index, real_encoder) as archive:
        answerer = Answerer(archive)
        for question in HOSTILE_QUESTIONS:
            answer = answerer.answer(question)
            json.dumps(answer_json(answer))
            assert len(answer.question) <= 1000
            assert not any(c in answer.question for c in "\x00\x07\x1b\u202e\u200b")
            for message in render.pack(render.answer_paragraphs(answer)):
                check_text(message, "HTML")
            for sentence in answer.sentences:  # every quote is still verbatim
                cited = answer.citations[sentence.citation - 1].passage.text
                assert sentence.text in cited
        for question in SYMBOLS_ONLY:
            with pytest.raises(AnswerError, match="ask a question in words"):
                answerer.answer(question)


@pytest.mark.model
def test_hostile_questions_through_ask_json(
    bundled_index: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(bundled_index, tmp_path / "index")
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("NEWSQA_CONFIG", str(tmp_path / "no-config.toml"))
    for question in HOSTILE_QUESTIONS[2:8]:
        assert main(["ask", "--json", question]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["question"] and "Traceback" not in err
    assert main(["ask", "--json", "😀🤔"]) == 1
    _, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        "newsqa: error: ask a question in words, for example: What did Lavrov say about sanctions?"
    ]
    # one JSON line per question, a symbols-only line among them included
    lines = ["What did Lavrov say?", "😀🤔", HOSTILE_QUESTIONS[6], HOSTILE_QUESTIONS[0]]
    monkeypatch.setattr("sys.stdin", iter(line + "\n" for line in lines))
    assert main(["ask", "--json", "-"]) == 0
    out, _ = capsys.readouterr()
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 4
    assert "ask a question in words" in objects[1]["error"]
    assert all("answer" in o for i, o in enumerate(objects) if i != 1)
