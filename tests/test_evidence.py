"""The evidence model: answer-type features and the ranking fit."""

from __future__ import annotations

import json
import random

from bot.evidence import (
    FEATURES,
    Candidate,
    EvidenceModel,
    default_model,
    features,
    fit_ranking,
    holds,
)
from bot.question import DATE, MEASURE, MONEY, NAME, NUMBER, PERSON, PLACE, REASON, Question


def _q(text: str, expects: str | None) -> Question:
    return Question(text=text, expects=expects, focus=tuple(w.lower() for w in text.split()))


def test_answer_types_are_recognised() -> None:
    q = _q("Which politician announced she is running", NAME)
    assert holds(NAME, "Nikki Haley announced on Tuesday she is running.", q)
    assert not holds(NAME, "The politician announced she is running.", q)
    assert holds(NUMBER, "NASA selected four astronauts.", _q("How many", NUMBER))
    assert holds(NUMBER, "It rose 13% in a year.", _q("How many", NUMBER))
    assert not holds(NUMBER, "NASA selected the astronauts.", _q("How many", NUMBER))
    # a number that says when is not a count
    many = _q("How many Cubans arrived", NUMBER)
    assert not holds(NUMBER, "The crew was named at 10 a.m. on April 3 in Houston.", many)
    assert not holds(NUMBER, "Artemis II is expected to launch in 2024.", many)
    assert not holds(NUMBER, "The deadline is 3/14/2024, or 14th March.", many)
    assert holds(NUMBER, "In March 2022, more than 32,000 Cubans arrived.", many)
    assert holds(NUMBER, "On March 16, 2,400 Cubans arrived.", many)
    assert holds(NUMBER, "A total of 2000 Cubans arrived.", many)  # "of 2000": a count
    assert holds(MONEY, "It cost $4.5 billion.", _q("How much", MONEY))
    assert not holds(MONEY, "It cost a lot.", _q("How much", MONEY))
    assert holds(DATE, "The tour opens on March 3 in Austin.", _q("When", DATE))
    assert not holds(DATE, "The tour opens soon.", _q("When", DATE))
    assert holds(PLACE, "Many are moving to Mexico City.", _q("Where are people moving", PLACE))
    assert holds(REASON, "They cancelled the shows because of drought.", _q("Why", REASON))


def test_who_wants_a_person_and_how_long_a_number_with_its_unit() -> None:
    who = _q("Who did the Detroit Pistons hire as head coach", PERSON)
    # the question's own names and an acronym (an organisation) are not the person asked for
    lead = "The Detroit Pistons have a new head coach, before NBA free agency."
    assert not holds(PERSON, lead, who)
    assert holds(PERSON, "The organization has hired J.B. Bickerstaff on Sunday.", who)
    assert holds(NAME, lead, _q("Which league", NAME))
    long = _q("How long is the deal", MEASURE)
    assert holds(MEASURE, "The deal is for five years, with a team option.", long)
    assert holds(MEASURE, "It crosses the river on a 1.2-mile bridge.", long)
    assert holds(MEASURE, "The talks lasted 45 minutes.", long)
    assert not holds(MEASURE, "He was one of four known candidates.", long)
    assert not holds(MEASURE, "He went 48-97 from 2017-19.", long)
    assert holds(MEASURE, "It lasted an hour; the flat has 500 square feet.", long)
    assert not holds(MEASURE, "They met on a dance floor in a public square.", long)


def _candidate(**values: float) -> Candidate:
    base = dict(text="A sentence.", cosine=0.5, coverage=0.5,
                context_coverage=0.5, hit_score=1.0, hit_rank=0, sentence_index=3)  # fmt: skip
    return Candidate(**(base | values))  # type: ignore[arg-type]


def test_features_follow_the_declared_order() -> None:
    x = features(_q("How many?", NUMBER), _candidate(text="Four of them:"))
    assert len(x) == len(FEATURES)
    named = dict(zip(FEATURES, x, strict=True))
    assert named["bias"] == 1.0 and named["holds_expected"] == 1.0
    assert named["lacks_expected"] == 0.0 and named["colon"] == 1.0 and named["short"] == 1.0


def test_fit_ranking_learns_which_feature_marks_the_answer() -> None:
    rng = random.Random(3)
    questions = []
    for _ in range(60):
        xs, ys = [], []
        answer = rng.randrange(6)
        for i in range(6):
            row = [1.0] + [rng.random() for _ in FEATURES[1:]]
            row[FEATURES.index("cosine")] = rng.random() * 0.5 + (0.5 if i == answer else 0.0)
            xs.append(row)
            ys.append(int(i == answer))
        questions.append((xs, ys))
    weights = fit_ranking(questions)
    named = dict(zip(FEATURES, weights, strict=True))
    assert named["cosine"] > 2.0
    assert named["cosine"] > max(abs(v) for n, v in named.items() if n != "cosine")
    assert fit_ranking(questions) == weights  # deterministic


def test_the_shipped_weights_load_and_round_trip(tmp_path) -> None:
    model = default_model()
    assert len(model.weights) == len(FEATURES)
    again = EvidenceModel.from_weights(json.loads(model.to_json({}))["features"])
    assert again == model


def test_a_fitted_weights_file_and_the_margins_come_from_settings(tmp_path) -> None:
    """`evidence_weights` names a file written by `python -m bot.fit_evidence` (weights fitted on
    one's own questions); a file that is not one is a one-line settings error."""
    import pytest

    from bot.services import answer_config, evidence_model
    from bot.settings import SettingsError, load_settings

    env = {"NEWSQA_CONFIG": str(tmp_path / "none.toml")}
    assert evidence_model(load_settings(env=env)) == default_model()
    weights = {name: float(n) for n, name in enumerate(FEATURES)}
    fitted = tmp_path / "weights.json"
    fitted.write_text(EvidenceModel.from_weights(weights).to_json({"command": "test"}))
    settings = load_settings(
        env={
            **env,
            "NEWSQA_EVIDENCE_WEIGHTS": str(fitted),
            "NEWSQA_ANSWER_SAME_ARTICLE_MARGIN": "0.75",
        }
    )
    assert evidence_model(settings) == EvidenceModel.from_weights(weights) != default_model()
    assert answer_config(settings).same_article_margin == 0.75
    assert answer_config(load_settings(env=env)).same_article_margin == 2.0

    for name, text in [
        ("missing.json", None),
        ("empty.json", ""),
        ("list.json", "[1, 2]"),
        ("foreign.json", '{"features": {"cosine": 1, "sparkle": 2}}'),
        ("text.json", '{"features": {"cosine": "high"}}'),
    ]:
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        bad = load_settings(env={**env, "NEWSQA_EVIDENCE_WEIGHTS": str(path)})
        with pytest.raises(SettingsError) as failed:
            evidence_model(bad)
        message = str(failed.value)
        assert message.startswith(f"setting evidence_weights: {path} ") and "\n" not in message


def test_fit_evidence_wants_one_positive_weight_per_data_set(tmp_path, capsys) -> None:
    import pytest

    from bot.fit_evidence import main

    data = ["--data", str(tmp_path / "idx"), str(tmp_path / "q.jsonl")]
    for weights in (["--set-weight", "1", "--set-weight", "0.5"], ["--set-weight", "0"]):
        with pytest.raises(SystemExit) as stopped:
            main([*data, *weights, "--out", str(tmp_path / "w.json")])
        assert stopped.value.code == 2
        assert "--set-weight: one positive weight per --data" in capsys.readouterr().err
    assert not (tmp_path / "w.json").exists()
