"""Answers that know the date: as of a day, relative time in the question, dated notes."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from bot.answer import AnswerConfig, Answerer
from bot.cli import main
from bot.render import answer_text, date_notes
from index import Archive
from tests.conftest import make_article

FERRY = "The harbour ferry {} on {}, the port authority said."


def _ferries(archive: Archive) -> Answerer:
    archive.add([
        make_article("old", FERRY.format("stopped", "Thursday"), published="2024-05-30"),
        make_article("new", FERRY.format("restarted", "Monday"), published="2024-06-10"),
        make_article("later", FERRY.format("sank", "Friday"), published="2024-06-21"),
    ])  # fmt: skip
    return Answerer(archive, AnswerConfig(threshold=0.0))


def test_as_of_answers_from_articles_published_up_to_that_day(archive: Archive) -> None:
    answerer = _ferries(archive)
    answer = answerer.answer("What happened to the harbour ferry?", as_of=date(2024, 6, 12))
    cited = {c.article.id for c in answer.citations}
    assert cited and "later" not in cited
    assert answer.dates == "articles up to 2024-06-12"


def test_this_week_is_the_week_of_the_as_of_day(archive: Archive) -> None:
    answerer = _ferries(archive)
    question = "What happened to the harbour ferry this week?"
    answer = answerer.answer(question, as_of=date(2024, 6, 12))
    assert {c.article.id for c in answer.citations} == {"new"}
    assert answer.dates == "articles of 6-12 June 2024"  # the 7 days up to the day itself
    q = answerer.read(question, date(2024, 6, 12))
    assert "week" in q.terms and "week" not in q.search_terms  # when to look, not what for


def test_a_range_without_articles_falls_back_to_the_whole_archive(archive: Archive) -> None:
    answerer = _ferries(archive)
    answer = answerer.answer("What happened to the harbour ferry in 2019?")
    assert not answer.abstained and answer.dates == "all articles; none of 2019 answers it"


def test_a_range_whose_articles_do_not_answer_falls_back_to_the_as_of_archive(
    archive: Archive,
) -> None:
    archive.add([
        make_article("ferry", FERRY.format("restarted", "Monday"), published="2024-05-20"),
        make_article("budget", "The council approved the school budget on Tuesday.",
                     published="2024-06-11"),
        make_article("after", FERRY.format("sank", "Friday"), published="2024-06-21"),
    ])  # fmt: skip
    answerer = Answerer(archive, AnswerConfig(threshold=0.5))  # the budget article: 0.13
    question = "What happened to the harbour ferry this week?"
    answer = answerer.answer(question, as_of=date(2024, 6, 12))
    assert [c.article.id for c in answer.citations] == ["ferry"]  # never the later article
    assert answer.dates == "articles up to 2024-06-12; none of 6-12 June 2024 answers it"


def test_latest_and_currently_answer_from_undated_articles_too(archive: Archive) -> None:
    archive.add([make_article("u", FERRY.format("restarted", "Monday"))])  # no date at all
    answerer = Answerer(archive, AnswerConfig(threshold=0.0))
    for question in ("What is the latest on the harbour ferry?",
                     "What does the harbour ferry currently do?"):  # fmt: skip
        answer = answerer.answer(question)
        assert [c.article.id for c in answer.citations] == ["u"], question
        assert answer.dates is None


def test_latest_puts_the_newest_evidence_first(archive: Archive) -> None:
    answerer = _ferries(archive)
    answer = answerer.answer("What is the latest on the harbour ferry?", as_of=date(2024, 6, 30))
    assert answer.citations[0].article.id == "later"


def test_latest_does_not_lead_with_a_newer_but_weak_line(archive: Archive) -> None:
    answerer = _ferries(archive)
    archive.add([make_article("newest", "Weather today: sunny, with a breeze on the water.",
                              published="2024-06-28")])  # fmt: skip
    answer = answerer.answer("What is the latest on the harbour ferry?", as_of=date(2024, 6, 30))
    assert answer.citations[0].article.id == "later"  # the newest of the good evidence
    groups, _ = answerer.evidence(answerer.read("What is the latest on the harbour ferry?"))
    weak = next(g for g in groups if g.article.info.id == "newest")
    assert weak.score < groups[0].score - answerer.config.other_margin  # what the test is about


def test_relative_dates_in_quoted_sentences_are_noted_beside_them(archive: Archive) -> None:
    answerer = _ferries(archive)
    answer = answerer.answer("When did the harbour ferry restart?", as_of=date(2024, 6, 12))
    assert "“on Monday” [1]: Monday 10 June 2024" in date_notes(answer)
    text = answer_text(answer)
    assert "restarted on Monday, the port authority said." in text  # the verbatim sentence
    assert "Dates:" in text


def test_ask_json_lines_carry_their_own_as_of(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    rows = [
        {"title": "Ferry", "text": FERRY.format("restarted", "Monday"), "published": "2024-06-10",
         "url": "https://example.org/a"},
        {"title": "Ferry sinks", "text": FERRY.format("sank", "Friday"), "published": "2024-06-21",
         "url": "https://example.org/b"},
    ]  # fmt: skip
    feed = tmp_path / "ferries.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["ingest", str(feed)]) == 0
    capsys.readouterr()
    lines = [
        json.dumps({"question": "What happened to the harbour ferry?", "as_of": "2024-06-12"}),
        json.dumps({"question": "What happened to the harbour ferry?", "as_of": "June"}),
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["ask", "--json", "-"]) == 0
    first, bad = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["dates"] == "articles up to 2024-06-12"
    assert (
        all("sank" not in c["text"] for c in first["citations"]) if "citations" in first else True
    )
    assert "expected a date" in bad["error"]


def test_eval_as_of_window_answers_from_those_days_only(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NEWSQA_ANSWER_THRESHOLD", "0.01")  # the fake encoder is not calibrated
    rows = [
        {"id": day, "title": "Ferry", "text": FERRY.format(what, "Monday"), "published": day}
        for day, what in (("2024-05-30", "stopped"), ("2024-06-10", "restarted"),
                          ("2024-06-21", "sank"))
    ]  # fmt: skip
    feed = tmp_path / "ferries.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["ingest", str(feed)]) == 0
    questions = tmp_path / "q.jsonl"  # its date words are ignored: the window decides
    questions.write_text(json.dumps({
        "question": "When was the harbour ferry stopped this year?", "answers": ["stopped"],
        "as_of": "2024-06-12",
    }) + "\n")  # fmt: skip
    records = {}
    for days in (3, 14):
        out = tmp_path / f"{days}.jsonl"
        assert main(["eval", str(questions), "--retriever", "hybrid", "--as-of-window",
                     str(days), "--answers-out", str(out)]) == 0  # fmt: skip
        records[days] = json.loads(out.read_text())
    assert set(records[3]["cited"]) == {"2024-06-10"} and not records[3]["in_answer"]  # 10-12 June
    assert records[14]["cited"][0] == "2024-05-30" and records[14]["in_answer"]
    assert "2024-06-21" not in records[14]["cited"]  # never after the as-of day
    with pytest.raises(SystemExit):  # one or the other
        main(["eval", str(questions), "--as-of-window", "3", "--ignore-as-of"])
