"""Public evaluation sets turned into what newsqa reads: an articles JSONL to ingest and a
questions JSONL for `newsqa eval`.

- SQuAD 2.0: each paragraph becomes an article (id `squad-<n>`, title = the Wikipedia title). An
  answerable question's gold article is its paragraph and its `answers` the annotators' spans;
  unanswerable questions carry `answerable: false`.
- BEIR SciFact: each abstract becomes an article (id = the corpus `_id`), each test claim a question
  whose gold `articles` are the documents its qrels judge relevant (all score 1 in SciFact).
- RealTime QA (news quiz questions and the news articles a web search returned for them): articles
  are kept as they are; a question's gold `articles` are those of its search results whose text
  holds the answer, and its `split` is "tune" or "heldout" by quiz week (alternate weeks, so both
  halves span the whole period and no week is in both). `questions-tune.jsonl` and
  `questions-heldout.jsonl` hold the halves: choose weights and rules on the first, report both.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from corpus.errors import CorpusError

Record = dict[str, object]


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CorpusError(str(path), f"cannot read ({e})") from e


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
    except (OSError, ValueError) as e:
        raise CorpusError(str(path), f"cannot read ({e})") from e


def squad(path: Path) -> tuple[list[Record], list[Record]]:
    """(articles, questions) from a SQuAD 2.0 JSON file."""
    data = _json(path)
    if not isinstance(data, dict) or "data" not in data:
        raise CorpusError(str(path), "not a SQuAD JSON file (no 'data')")
    articles: list[Record] = []
    questions: list[Record] = []
    for topic in data["data"]:
        title = str(topic["title"]).replace("_", " ")
        for paragraph in topic["paragraphs"]:
            article_id = f"squad-{len(articles)}"
            articles.append(
                {"id": article_id, "title": title, "text": paragraph["context"], "source": "SQuAD"}
            )
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa["answers"]))
                impossible = bool(qa.get("is_impossible")) or not answers
                question: Record = {"question": qa["question"], "answerable": not impossible}
                if not impossible:
                    question |= {"answers": answers, "articles": [article_id]}
                questions.append(question)
    return articles, questions


def scifact(folder: Path) -> tuple[list[Record], list[Record]]:
    """(articles, questions) from a BEIR SciFact folder (corpus, queries, test qrels)."""
    articles: list[Record] = [
        {"id": str(d["_id"]), "title": d.get("title") or "", "text": d["text"], "source": "SciFact"}
        for d in _jsonl(folder / "corpus.jsonl")
    ]
    relevant: dict[str, list[str]] = defaultdict(list)
    try:
        with (folder / "qrels-test.tsv").open(encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if int(row["score"]) > 0:
                    relevant[row["query-id"]].append(row["corpus-id"])
    except (OSError, KeyError, ValueError) as e:
        raise CorpusError(str(folder / "qrels-test.tsv"), f"cannot read ({e})") from e
    questions: list[Record] = [
        {"question": q["text"], "articles": relevant[str(q["_id"])], "id": str(q["_id"])}
        for q in _jsonl(folder / "queries.jsonl")
        if str(q["_id"]) in relevant
    ]
    return articles, questions


def normal_answer(text: str) -> str:
    """Lower-cased, punctuation removed, spaces collapsed: how RealTime QA answers are matched."""
    return " ".join(_PUNCTUATION.sub("", text.casefold()).split())


_PUNCTUATION = re.compile(r"[^\w\s]")


def rtqa(folder: Path) -> tuple[list[Record], list[Record]]:
    """(articles, questions) from a RealTime QA folder (articles.jsonl, questions.jsonl)."""
    articles: list[Record] = list(_jsonl(folder / "articles.jsonl"))
    texts = {str(a["id"]): normal_answer(f"{a.get('title') or ''} {a['text']}") for a in articles}
    records = list(_jsonl(folder / "questions.jsonl"))
    weeks = sorted({str(q["date"]) for q in records})
    half = {week: ("tune" if n % 2 == 0 else "heldout") for n, week in enumerate(weeks)}
    questions: list[Record] = []
    for q in records:
        answer = str(q["answer"])
        docs = q.get("docs")
        listed = [str(d) for d in docs] if isinstance(docs, list) else []
        gold = [d for d in listed if normal_answer(answer) in texts.get(d, "")]
        questions.append(
            {
                "id": str(q["id"]),
                "question": str(q["question"]),
                "answers": [answer],
                "articles": gold,
                "date": str(q["date"]),
                "as_of": str(q["date"]),  # the quiz's day: "this week" is its week
                "split": half[str(q["date"])],
            }
        )
    return articles, questions


LOADERS = {"squad": squad, "scifact": scifact, "rtqa": rtqa}


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
