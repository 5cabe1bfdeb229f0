"""BM25 in memory as answers ask for it: the pruned top k (MaxScore, `Scores.top`) against
summing every posting of every term once a search (as `Postings.scores` did before; a date
filter read as a mask here too, where it was `np.isin` over every passage), on an existing
index and the real news questions. Checks both give the same ids and scores, then times them.

The calls are recorded while this checkout answers the questions (`Answerer.answer`: the parsed
question's terms, the candidate pool as k, a dated question's allowed passages, the dense-only
candidates whose scores `Scores.of` fills in), then replayed, each way in turn, rounds alternated.

    .venv/bin/python bench/bench_bm25.py --index DIR [--rounds 3]

Prints each way's median and p95 per search (top k plus `of`), the ratio of medians, how many
results agree, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(1, str(Path(__file__).resolve().parent))
from common import QUESTIONS, questions  # noqa: E402

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Search:
    """One search's BM25: its phrases and weights, then what was asked of its scores."""

    phrases: list[str]
    weights: tuple[float, float]
    # ("top", k, allowed) and ("of", ids, None), in the order the search asked them
    asked: list[tuple[str, Any, Any]] = field(default_factory=list)


def record(index: Path, asked: list[str]) -> tuple[Any, list[Search], list[Any]]:
    """Answer every question once, recording the BM25 calls its searches make, and the
    filters of the filtered ones."""
    sys.path.insert(0, str(ROOT))
    from bot.answer import Answerer
    from bot.services import make_encoder
    from bot.settings import Settings
    from index import Archive
    from index.postings import Postings, Scores
    from index.search import Searching

    searches: list[Search] = []
    filters: list[Any] = []
    scores, top, of, allowed_of = Postings.scores, Scores.top, Scores.of, Searching._allowed

    def allowed_recorded(self: Searching, f: Any) -> Any:
        filters.append(f)
        return allowed_of(self, f)

    def scores_recorded(self: Postings, phrases: list[str], weights: tuple[float, float]) -> Scores:
        searches.append(Search(list(phrases), weights))
        return scores(self, phrases, weights)

    def top_recorded(self: Scores, k: int, allowed: NDArray[np.bool_] | None = None) -> Any:
        searches[-1].asked.append(("top", k, allowed))
        return top(self, k, allowed)

    def of_recorded(self: Scores, ids: list[int]) -> Any:
        searches[-1].asked.append(("of", list(ids), None))
        return of(self, ids)

    Postings.scores, Scores.top, Scores.of = scores_recorded, top_recorded, of_recorded  # type: ignore[method-assign,assignment]
    Searching._allowed = allowed_recorded  # type: ignore[method-assign]
    try:
        with Archive.open(index, make_encoder(Settings())) as archive:
            answerer = Answerer(archive)
            for q in asked:
                answerer.answer(q)
            postings = archive.postings()
    finally:
        Postings.scores, Scores.top, Scores.of = scores, top, of  # type: ignore[method-assign]
        Searching._allowed = allowed_of  # type: ignore[method-assign]
    return postings, searches, filters


def time_filters(index: Path, postings: Any, filters: list[Any]) -> None:
    """A dated search's allowed passages, both ways: listed by SQL, then `np.isin` over every
    passage (BM25) and FAISS's hashed id set, as before; or a mask from the passages' days in
    memory, a bitmap for FAISS."""
    import faiss
    import numpy as np

    from index.passage_dates import PassageDates
    from index.store import Store

    store = Store(index / "newsqa.sqlite")
    started = time.perf_counter()
    dates = PassageDates.read(store)
    read = time.perf_counter() - started
    dated = [f for f in filters if not f.sources]
    sql, memory = [], []
    for f in dated:
        started = time.perf_counter()
        ids = store.passage_ids(f)
        np.isin(postings.ids, ids)
        faiss.IDSelectorBatch(ids)
        sql.append(time.perf_counter() - started)
        started = time.perf_counter()
        mask = dates.allowed(f.since, f.until)
        bitmap = np.packbits(mask, bitorder="little")
        faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        memory.append(time.perf_counter() - started)
        assert np.array_equal(np.flatnonzero(mask), np.sort(ids))
    store.close()
    print(f"date filters ({len(dated)} searches, the same passages each way): SQL + np.isin + "
          f"id set median {statistics.median(sql) * 1000:.2f} ms; days in memory + bitmap "
          f"median {statistics.median(memory) * 1000:.2f} ms (the days read once: "
          f"{read:.2f} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an existing index")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import numpy as np

    postings, searches, filters = record(args.index, questions(args.questions))

    def pruned(search: Search) -> list[Any]:
        scores = postings.scores(search.phrases, search.weights)
        return [
            scores.top(k, allowed) if how == "top" else scores.of(k)
            for how, k, allowed in search.asked
        ]

    def every(search: Search) -> list[Any]:
        """As before pruning: every posting summed once a search, then its top k (the k-th
        best by partition) and the scores of given ids read off the sums."""
        scores = postings.scores(search.phrases, search.weights)
        rows, total = scores._every_row(None)
        out: list[Any] = []
        for how, k, allowed in search.asked:
            if how == "top":
                keep = slice(None) if allowed is None else postings.allowed_rows(allowed, rows)
                r, t = rows[keep], total[keep]
                if len(r) > k:
                    kth = np.partition(t, len(r) - k)[len(r) - k]
                    r, t = r[t >= kth], t[t >= kth]
                order = np.argsort(-t, kind="stable")[:k]
                out.append([(int(postings.ids[r[i]]), float(t[i])) for i in order])
            else:
                ids = np.unique(np.asarray(k, np.int64))
                wanted = np.searchsorted(postings.ids, ids)
                known = wanted < len(postings.ids)
                known[known] = postings.ids[wanted[known]] == ids[known]
                wanted = wanted[known]
                at = np.searchsorted(rows, wanted)
                held = at < len(rows)
                held[held] = rows[at[held]] == wanted[held]
                out.append([(int(postings.ids[rows[i]]), float(total[i])) for i in at[held]])
        return out

    same = sum(pruned(s) == every(s) for s in searches)
    ways: list[tuple[str, Callable[[Search], list[Any]]]] = [("pruned", pruned), ("every", every)]
    times: dict[str, list[float]] = {name: [] for name, _ in ways}
    for n in range(args.rounds):
        for name, way in ways if n % 2 == 0 else ways[::-1]:
            for search in searches:
                started = time.perf_counter()
                way(search)
                times[name].append(time.perf_counter() - started)
    dated = sum(any(a is not None for _, _, a in s.asked) for s in searches)
    answers = len(questions(args.questions))
    print(f"# BM25 in memory, {len(postings):,} passages ({args.index}), {len(searches)} "
          f"searches of {answers} answers ({dated} dated) x {args.rounds} rounds")  # fmt: skip
    for name, seconds in times.items():
        ms = sorted(s * 1000 for s in seconds)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(f"{name}: median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, "
              f"mean {statistics.mean(ms):.2f} ms")  # fmt: skip
    ratio = statistics.median(times["pruned"]) / statistics.median(times["every"])
    print(f"ratio of medians pruned/every {ratio:.3f}; same ids and scores for "
          f"{same}/{len(searches)} searches")  # fmt: skip
    held, left = [], []
    for search in searches:
        scores = postings.scores(search.phrases, search.weights)
        held.append(sum(len(t.rows) for t in scores._terms))
        for how, k, allowed in search.asked:
            if how == "top":
                left.append(len(scores._survivors(k, allowed)))
    started = time.perf_counter()
    postings._every_bound(searches[0].weights)  # what a generation's first query pays
    bounds = time.perf_counter() - started
    print(f"a search's terms hold {statistics.mean(held):,.0f} postings on average; pruning "
          f"leaves {statistics.mean(left):,.0f} passages to score exactly; every token's bound "
          f"in {bounds:.2f} s")  # fmt: skip
    time_filters(args.index, postings, filters)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
