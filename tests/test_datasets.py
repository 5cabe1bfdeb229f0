"""Public eval sets turned into newsqa's files: RealTime QA's halves and gold articles."""

from __future__ import annotations

import json
from pathlib import Path

from corpus.datasets import normal_answer, rtqa


def _write(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_rtqa_gold_articles_hold_the_answer_and_weeks_split_in_halves(tmp_path: Path) -> None:
    _write(tmp_path / "articles.jsonl", [
        {"id": "a1", "title": "Fireworks", "text": "Cities cancelled shows over the drought.",
         "url": "https://example.com/a1", "published": "2022-07-05", "source": "Example"},
        {"id": "a2", "title": "Other", "text": "Nothing to see.", "url": "", "published": "",
         "source": ""},
        {"id": "a3", "title": "Netflix", "text": "Netflix will show ads (advertisements).",
         "url": "", "published": "", "source": ""},
    ])  # fmt: skip
    _write(tmp_path / "questions.jsonl", [
        {"id": "q1", "question": "Why were fireworks cancelled?", "answer": "Drought",
         "date": "2022-07-08", "docs": ["a1", "a2"]},
        {"id": "q2", "question": "What is coming to Netflix?", "answer": "Advertisements",
         "date": "2022-07-15", "docs": ["a2", "a3"]},
        {"id": "q3", "question": "Same week as q1?", "answer": "nothing", "date": "2022-07-08",
         "docs": ["a2"]},
    ])  # fmt: skip
    articles, questions = rtqa(tmp_path)
    assert [a["id"] for a in articles] == ["a1", "a2", "a3"]
    by_id = {q["id"]: q for q in questions}
    assert by_id["q1"]["articles"] == ["a1"] and by_id["q1"]["answers"] == ["Drought"]
    assert by_id["q2"]["articles"] == ["a3"]
    assert by_id["q3"]["articles"] == ["a2"]  # "nothing" is in "Nothing to see."
    assert by_id["q1"]["split"] == by_id["q3"]["split"] == "tune"  # one week, one half
    assert by_id["q2"]["split"] == "heldout"


def test_answers_match_lower_cased_without_punctuation() -> None:
    assert normal_answer("Guns N’ Roses") == "guns n roses"
    assert normal_answer("  70,000 ") == "70000"
    assert normal_answer("U.S.") == normal_answer("US")
