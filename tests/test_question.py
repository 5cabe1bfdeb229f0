"""Reading a question once: its expected answer type, search terms, names the archive lacks
(or holds in another form), and whose words it asks for."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.question import (
    DATE,
    MEASURE,
    MONEY,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    QUOTE,
    REASON,
    archive_form,
    expected_answer,
    parse_question,
)


class FakeLexicon:
    """An archive's vocabulary as the full-text index stores it (lower case, stemmed)."""

    def __init__(self, terms: dict[str, int], speakers: Sequence[str] = ()):
        self.terms = terms
        self.speakers = list(speakers)

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        return {t: self.terms.get(t.lower(), 0) for t in terms}

    def similar_terms(self, word: str) -> list[tuple[str, int]]:
        return [(t, n) for t, n in self.terms.items() if t[:3] == word.lower()[:3]]

    def speaker_names(self) -> list[str]:
        return self.speakers


LEXICON = FakeLexicon(
    {"russia": 40, "lavrov": 12, "sanction": 30, "tillerson": 25, "emir": 3, "america": 9,
     "minist": 50, "foreign": 44, "oil": 20, "korea": 90, "till": 2},
    speakers=["Sergei Lavrov", "Rex Tillerson"],
)  # fmt: skip


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many astronauts were selected to join the mission?", NUMBER),
        ("How old is Biden?", NUMBER),
        ("How much did the stadium cost?", MONEY),
        ("When does the tour start?", DATE),
        ("In which year did the war end?", DATE),
        ("Where are many Americans moving?", PLACE),
        ("Which state appeared to be the hardest hit?", PLACE),
        ("Into which ocean did the spacecraft splash down?", PLACE),
        ("Which companies were selected?", NAME),
        ("Who is next in the line of royal succession?", PERSON),
        ("How long did the shutdown last?", MEASURE),
        ("How tall is the new tower?", MEASURE),
        ("How far can the missile reach?", NUMBER),  # often a place ("the US east coast")
        ("Why did some cities cancel their fireworks?", REASON),
        ("What percentage of couples are sleep divorced?", NUMBER),
        ("What did the report find?", None),
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_answer(question) == kind


def test_place_words_and_misspellings_take_the_archives_form() -> None:
    assert archive_form("Russian", LEXICON) == "russia"
    assert archive_form("Emirati", LEXICON) == "emir"
    assert archive_form("American", LEXICON) == "america"
    assert archive_form("Tilerson", LEXICON) == "tillerson"
    assert archive_form("Merkel", LEXICON) is None
    assert archive_form("Putin", LEXICON) is None


def test_a_demonym_is_searched_as_its_place_and_is_not_unknown() -> None:
    q = parse_question("What did the Russian foreign minister say about sanctions?", LEXICON)
    assert q.unknown == ()
    assert "russia" in q.terms and "russian" not in q.terms
    assert q.corrections == ()  # a word form, not a misspelling: nothing to tell the user
    assert q.understood_as == q.text


def test_a_misspelt_name_is_corrected_and_shown() -> None:
    q = parse_question("What did Tilerson say about oil?", LEXICON)
    assert q.unknown == ()
    assert q.corrections == (("Tilerson", "Tillerson"),)
    assert q.understood_as == "What did Tillerson say about oil?"
    assert q.speaker is not None and q.speaker.speaker == "Rex Tillerson"
    assert q.speaker.topic == "oil"
    assert q.expects == QUOTE


def test_a_name_the_archive_never_mentions_stays_unknown() -> None:
    q = parse_question("What did Angela Merkel say about Korea?", LEXICON)
    assert q.unknown == ("Angela", "Merkel")
    assert q.speaker is None


def test_lowercase_words_are_never_names() -> None:
    q = parse_question("what did the emiratis say about oil?", LEXICON)
    assert q.names == () and q.unknown == ()
