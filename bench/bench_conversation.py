"""Follow-up latency: a dialogue's last turn answered as a turn of the conversation, against the
question it is rewritten into answered alone, alternated in the same run.

The difference is what conversations cost: the rewrite, reading the previous turn and noting
the new one (speakers by surname, names in the evidence); and, as the Telegram bot and
`ask --conversation` do it, loading the conversation from its SQLite file and saving it
again (timed on its own). "What else did the article say?" turns are left out: they page
through one article on purpose and are not the same work as one question.

    .venv/bin/python bench/bench_conversation.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import row, summary  # noqa: E402
from bot.answer import Answerer  # noqa: E402
from bot.conversation import Conversation  # noqa: E402
from bot.conversation_store import ConversationStore  # noqa: E402
from bot.evaluate import load_questions  # noqa: E402
from corpus.bundled import bundled_articles  # noqa: E402
from corpus.readers import stream_input  # noqa: E402
from corpus.types import Article  # noqa: E402
from index import Archive  # noqa: E402
from index.onnx_encoder import OnnxEncoder  # noqa: E402

DATA = REPO / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="times each last turn is timed")
    args = parser.parse_args()
    encoder = OnnxEncoder(quantize=True)
    encoder.load()
    dialogues = [q for q in load_questions(DATA / "dialogues.jsonl") if not q.same_article]
    extra = [
        a for a in stream_input(str(DATA / "dialogue_articles.jsonl")) if isinstance(a, Article)
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        Archive.open(Path(tmp) / "index", encoder, create=True) as archive,
    ):
        archive.add([*bundled_articles(), *extra])
        answerer = Answerer(archive)
        store = ConversationStore(Path(tmp) / "state")
        followed, alone, differences, stored = [], [], [], []
        for q in dialogues:
            conversation = Conversation("bench")
            for turn in q.context:
                conversation.ask(answerer, turn)
            context = list(conversation.turns)
            for _ in range(args.rounds):
                conversation.turns[:] = context
                started = time.perf_counter()
                conversation.ask(answerer, q.question)
                a = time.perf_counter() - started
                started = time.perf_counter()
                answerer.answer(conversation.turns[-1].understood)
                b = time.perf_counter() - started
                followed.append(a)
                alone.append(b)
                differences.append(a - b)
                conversation.turns[:] = context
                store.save(conversation, time.time())
                started = time.perf_counter()
                kept = store.load("bench", time.time())
                loaded = time.perf_counter() - started
                kept.ask(answerer, q.question)
                started = time.perf_counter()
                store.save(kept, time.time())
                stored.append(loaded + time.perf_counter() - started)
    print(f"{len(dialogues)} last turns x {args.rounds} rounds, alternated")
    print(row("last turn, as a follow-up", summary(followed)))
    print(row("its rewritten question, alone", summary(alone)))
    print(
        f"difference per question: median {statistics.median(differences) * 1000:.2f} ms; "
        f"ratio of medians {statistics.median(followed) / statistics.median(alone):.3f}"
    )
    print(row("loading + saving the conversation", summary(stored)))


if __name__ == "__main__":
    main()
