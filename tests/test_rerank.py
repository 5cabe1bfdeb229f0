"""The learned rerank of search's top passages, its shipped weights, and the fit's halves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import fit_rerank
from bot.evaluate import load_questions
from bot.services import search_config
from bot.settings import Settings, SettingsError
from corpus.types import Passage
from index import Archive, SearchConfig
from index.rerank import FEATURES, Candidate, RerankModel, asks, default_model, reranked
from tests.conftest import make_article
from tests.fakes import HashEncoder

QUESTION = "Where did the storm hit the harbour?"

# the question's words spread over one passage's sentences, and together in one sentence of
# a passage that also talks of other things (so it ranks lower before the rerank)
SPREAD = make_article(
    "spread",
    "The harbour was busy. Fishing boats filled the harbour. The storm season began. "
    "Another storm came. Winds hit the coast. Waves hit the harbour wall.",
)
TOGETHER = make_article(
    "together",
    "Talks went on today in the capital about taxes and schools. Ministers met for hours. "
    "The storm hit the harbour on Monday. Officials spoke later about budgets and roads.",
)
FILLERS = [
    make_article(f"f{n}", f"Filler text number {n} about markets and trains.") for n in range(20)
]


def _top(tmp_path: Path, rerank: str, query: str) -> list[str]:
    config = SearchConfig(rerank=rerank, max_per_article=1)
    with Archive.open(tmp_path / rerank, HashEncoder(), create=True, search=config) as archive:
        archive.add([SPREAD, TOGETHER, *FILLERS])
        return [h.article.id for h in archive.search(query, k=2)]


def test_the_learned_rerank_lifts_the_passage_whose_sentence_answers(tmp_path: Path) -> None:
    """Fused dense + BM25 ranks the passage that holds the words apart first; the coverage
    rerank's small bonus leaves it there; the fitted model (the shipped weights) puts the
    passage with the one sentence that holds them all first."""
    assert _top(tmp_path, "coverage", QUESTION) == ["spread", "together"]
    assert _top(tmp_path, "learned", QUESTION) == ["together", "spread"]


def test_queries_that_are_not_questions_keep_the_coverage_rerank(tmp_path: Path) -> None:
    """The model was fitted on questions; keywords or a claim are reranked as before."""
    assert _top(tmp_path, "learned", "storm hit harbour") == ["spread", "together"]


def test_candidates_carry_the_features_search_ranks_by(tmp_path: Path) -> None:
    config = SearchConfig(rerank="learned", max_per_article=1)
    with Archive.open(tmp_path / "i", HashEncoder(), create=True, search=config) as archive:
        archive.add([SPREAD, TOGETHER, *FILLERS])
        candidates = archive.rerank_candidates(QUESTION, k=2)
        hits = archive.search(QUESTION, k=2)
    by_article = {c.passage.article_id: c for c in candidates}
    assert candidates[0].fused == pytest.approx(1.0)  # the fused order, best first
    assert by_article["together"].coverage == pytest.approx(1.0)
    assert by_article["spread"].coverage < 1.0
    assert by_article["together"].sentence_cosine > by_article["spread"].sentence_cosine
    model = default_model()
    assert [h.score for h in hits] == pytest.approx(
        [model.score(by_article[h.article.id]) for h in hits]
    )


def test_questions_are_told_from_other_queries() -> None:
    assert asks("Where did the storm hit?")
    assert asks("who won the election")
    assert asks("The Netflix plan changed in July?")
    assert not asks("0-dimensional biomaterials show inductive properties.")
    assert not asks("storm harbour")
    assert not asks("Whoever wins takes all.")


def _candidate(fused: float, coverage: float, cosine: float) -> Candidate:
    passage = Passage(article_id="a", ordinal=0, text="x", start=0, sentences=((0, 1),))
    return Candidate(passage, fused, coverage, cosine)


def test_scores_are_in_units_of_the_fused_score() -> None:
    model = RerankModel((2.0, 1.0, 4.0))
    assert model.score(_candidate(0.5, 1.0, 0.25)) == pytest.approx(0.5 + 0.5 + 0.5)
    ranked = reranked([(1, _candidate(0.9, 0.0, 0.1)), (2, _candidate(0.8, 1.0, 0.5))], model)
    assert [pid for pid, _ in ranked] == [2, 1]
    tied = reranked([(1, _candidate(0.5, 0.0, 0.0)), (2, _candidate(0.5, 0.0, 0.0))], model)
    assert [pid for pid, _ in tied] == [1, 2]  # a tie keeps the fused order


def test_the_shipped_weights_name_every_feature_and_say_how_they_were_fitted() -> None:
    path = Path(__file__).parent.parent / "index" / "rerank_weights.json"
    shipped = json.loads(path.read_text(encoding="utf-8"))
    assert set(shipped["features"]) == set(FEATURES)
    assert shipped["about"]["command"].startswith("python -m bot.fit_rerank ")
    assert default_model().weights[0] > 0
    with pytest.raises(ValueError, match="positive weight"):
        RerankModel.from_weights({"fused": 0.0, "coverage": 1.0})


def test_an_unknown_rerank_setting_is_a_settings_error() -> None:
    assert search_config(Settings()).rerank == "coverage"  # the default: better answers
    assert search_config(Settings(rerank="learned")).rerank == "learned"
    with pytest.raises(SettingsError, match="rerank"):
        search_config(Settings(rerank="magic"))


def test_the_fit_never_sees_the_held_out_half(tmp_path: Path) -> None:
    """The halves are seeded, disjoint and cover the scored questions; --split-out writes them
    as they are in the file, and the fit searches none of the held-out questions."""
    lines = [
        json.dumps({"question": f"Where is harbour {n}?", "articles": [f"a{n}"]}) for n in range(20)
    ] + [json.dumps({"question": "An unscored one?", "answerable": False})]
    path = tmp_path / "set" / "questions.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    questions = load_questions(path)
    fitted, held = fit_rerank.halves(questions, by_articles=True)
    assert (fitted, held) == fit_rerank.halves(questions, by_articles=True)
    assert not set(fitted) & set(held) and sorted(fitted + held) == list(range(20))
    assert len(held) == 10

    index = tmp_path / "index"
    with Archive.open(index, HashEncoder(), create=True) as archive:
        archive.add(
            [make_article(f"a{n}", f"Harbour {n} lies north. Boats {n} sail.") for n in range(20)]
        )
    asked: list[str] = []
    real = Archive.rerank_candidates

    def recording(self: Archive, query: str, *args: object, **kwargs: object) -> list[Candidate]:
        asked.append(query)
        return real(self, query, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Archive, "rerank_candidates", recording)
        mp.setattr(fit_rerank, "make_answerer", _fake_answerer)
        out = tmp_path / "weights.json"
        fit_rerank.main(
            ["--articles", str(index), str(path), "--split-out", str(tmp_path / "split"),
             "--out", str(out)]
        )  # fmt: skip
    held_questions = {questions[n].question for n in held}
    assert asked and not held_questions & set(asked)
    assert set(asked) <= {questions[n].question for n in fitted}
    written = (tmp_path / "split" / "set-questions-heldout.jsonl").read_text(encoding="utf-8")
    assert written.splitlines() == [lines[n] for n in held]
    assert set(json.loads(out.read_text(encoding="utf-8"))["features"]) == set(FEATURES)


def _fake_answerer(settings: Settings) -> object:
    """The answerer over the test's index, with the fake encoder instead of the model."""
    from bot.answer import Answerer

    return Answerer(Archive.open(settings.index_dir, HashEncoder()))
