"""Who said what: quotes and speakers against hand labels, each pattern on small sentences, name
joining, and questions about speakers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.bundled import bundled_articles
from corpus.quotes import (
    Quote,
    SpeakerQuestion,
    canonical_speakers,
    extract_quotes,
    same_person,
    speaker_in_question,
    speaker_key,
)
from corpus.types import Article
from tests.conftest import make_article

LABELS = Path(__file__).parent / "data" / "bundled_quotes.jsonl"


def _labels() -> list[dict[str, str | None]]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line]


def _article(prefix: str) -> Article:
    (article,) = [a for a in bundled_articles() if a.title.startswith(prefix)]
    return article


def _same_text(extracted: str, label: str) -> bool:
    """The extractor's quote contains the label's, or lies inside it covering 80% of it."""
    return label in extracted or extracted in label and len(extracted) >= 0.8 * len(label)


def _quotes(text: str) -> list[Quote]:
    return extract_quotes(make_article("t1", text))


def _who(text: str) -> list[tuple[str, str]]:
    return [(q.text, q.speaker) for q in _quotes(text)]


# ---- the labelled bundled articles ----------------------------------------------------------


def test_labels_are_verbatim_and_cover_every_quote_mark() -> None:
    labels = _labels()
    for label in labels:
        assert f"“{label['quote']}" in _article(str(label["article"])).text, label
    marks = sum(a.text.count("“") for a in bundled_articles())
    assert len(labels) == marks  # every quote in the two articles is labelled


def test_attribution_accuracy_and_recall_on_bundled_articles() -> None:
    labels = [label for label in _labels() if label["speaker"]]
    extracted = {a.title: extract_quotes(a) for a in bundled_articles()}
    found, correct, misses = 0, 0, []
    for label in labels:
        quote, speaker = str(label["quote"]), str(label["speaker"])
        article = _article(str(label["article"]))
        matches = [q for q in extracted[article.title] if _same_text(q.text, quote)]
        found += bool(matches)
        if any(same_person(q.speaker, speaker) for q in matches):
            correct += 1
        else:
            got = [q.speaker for q in matches] or "nothing"
            misses.append(f"{quote[:50]!r}: want {speaker}, got {got}")
    recall, accuracy = found / len(labels), correct / len(labels)
    assert recall >= 0.95, f"recall {recall:.0%}; misses: {misses}"
    assert accuracy >= 0.95, f"accuracy {accuracy:.0%}; misses: {misses}"


@pytest.mark.parametrize(
    ("prefix", "quote", "speaker", "cue"),
    [
        ("US battles", "We have repeatedly stated", "Sergei Lavrov", "told reporters"),
        ("US battles", "I think the Chinese are doing a lot. We do think", "Rex Tillerson", "said"),
        ("US battles", "If war comes", "Nikki Haley", "continued"),
        ("Donald Trump is", "We’re ready to have the first meeting", "Rex Tillerson", "said"),
        ("Donald Trump is", "increasing every day", "HR McMaster", "warned"),
    ],
)
def test_pronoun_and_continuation_cases_on_bundled_articles(
    prefix: str, quote: str, speaker: str, cue: str
) -> None:
    (q,) = [q for q in extract_quotes(_article(prefix)) if q.text.startswith(quote)]
    assert (q.speaker, q.cue) == (speaker, cue)


def test_no_speaker_is_invented_on_bundled_articles() -> None:
    """Every extracted quote is a labelled one; unattributed scare quotes stay unattributed."""
    labels = _labels()
    for article in bundled_articles():
        mine = [lb for lb in labels if article.title.startswith(str(lb["article"]))]
        for q in extract_quotes(article):
            label = next(lb for lb in mine if _same_text(q.text, str(lb["quote"])))
            assert label["speaker"] is not None, f"{q.text!r} is nobody's quote, got {q.speaker}"


def test_quotes_map_back_to_their_article_exactly() -> None:
    for article in bundled_articles():
        quotes = extract_quotes(article)
        assert quotes
        for q in quotes:
            assert q.article_id == article.id
            assert article.text[q.start : q.end] == q.text
            assert q.sentence_start <= q.start < q.end <= q.sentence_end
            assert article.text[q.sentence_start : q.sentence_end].strip()
            assert q.text == q.text.strip() and not q.text.endswith(",")


def test_speakers_are_canonical_full_names() -> None:
    speakers = {q.speaker for a in bundled_articles() for q in extract_quotes(a)}
    assert {"Sergei Lavrov", "Rex Tillerson", "HR McMaster", "Donald Trump"} <= speakers
    assert not speakers & {"Lavrov", "Mr Tillerson", "Gen McMaster", "Trump", "he", "she"}


# ---- each pattern on small sentences --------------------------------------------------------


def test_quote_then_name_said() -> None:
    quotes = _quotes("“We will not back down,” Ana Ruiz said on Monday.")
    assert [(q.text, q.speaker, q.cue) for q in quotes] == [
        ("We will not back down", "Ana Ruiz", "said")
    ]


def test_quote_then_said_name() -> None:
    assert _who("“Prices will fall,” said Finance Minister Karl Weber, who spoke in Bonn.") == [
        ("Prices will fall", "Karl Weber")
    ]


def test_name_said_colon_quote_and_name_said_quote() -> None:
    assert _who("Mayor Lena Ortiz said: “The bridge is safe.”") == [
        ("The bridge is safe.", "Lena Ortiz")
    ]
    assert _who("Lena Ortiz said “the bridge is safe” on Friday.") == [
        ("the bridge is safe", "Lena Ortiz")
    ]


def test_straight_quotes_work_too() -> None:
    text = 'The port reopened. "We are back in business," harbour master Tom Reilly said.'
    quotes = _quotes(text)
    assert [(q.text, q.speaker) for q in quotes] == [("We are back in business", "Tom Reilly")]
    assert text[quotes[0].start : quotes[0].end] == quotes[0].text


def test_according_to() -> None:
    assert _who("The deal is “dead in the water”, according to Senator Paul Grant.") == [
        ("dead in the water", "Paul Grant")
    ]
    quotes = _quotes("According to Maria Lopez, the plan was “a disaster”.")
    assert [(q.speaker, q.cue) for q in quotes] == [("Maria Lopez", "according to")]


def test_told_reporters_and_other_cues() -> None:
    text = (
        "“We are ready,” Ivan Petrov told reporters in Minsk. "
        "Anna Berg tweeted that the plan was “reckless”. "
        "“It will pass,” Tom Reilly insisted."
    )
    quotes = _quotes(text)
    assert [(q.speaker, q.cue) for q in quotes] == [
        ("Ivan Petrov", "told reporters"),
        ("Anna Berg", "tweeted"),
        ("Tom Reilly", "insisted"),
    ]


def test_pronoun_picks_the_compatible_person() -> None:
    text = (
        "Ambassador Nikki Haley met Foreign Minister Sergei Lavrov on Monday. "
        "“The talks were useful,” she said. "
        "“We disagree on sanctions,” he told reporters."
    )
    assert [q.speaker for q in _quotes(text)] == ["Nikki Haley", "Sergei Lavrov"]


def test_pronoun_prefers_the_latest_speaker_over_other_names() -> None:
    text = (
        "Mr Brown criticised the plan, with Mr Green saying it was “late”. "
        "“We should have acted a year ago,” he said."
    )
    assert _who(text) == [("late", "Green"), ("We should have acted a year ago", "Green")]


def test_pronoun_prefers_the_subject_over_a_name_in_an_aside() -> None:
    text = (
        "Rex Tillerson, who met Sigmar Gabriel on Thursday, was more cautious. "
        "“We are patient,” he said."
    )
    assert _who(text) == [("We are patient", "Rex Tillerson")]


def test_multi_sentence_quote_and_continuation() -> None:
    text = (
        "Mr Tillerson added that the US was ready.\n\n"
        "“We’re ready. Let’s just meet. We can talk about the weather,” he said.\n\n"
        "“But can we at least sit down.”\n\n"
        "Rex Tillerson spoke in Washington."
    )
    quotes = _quotes(text)
    assert [(q.text, q.speaker, q.cue) for q in quotes] == [
        ("We’re ready. Let’s just meet. We can talk about the weather", "Rex Tillerson", "said"),
        ("But can we at least sit down.", "Rex Tillerson", "continued"),
    ]
    first = quotes[0]
    assert text[first.sentence_start : first.sentence_end].startswith("“We’re ready.")
    assert text[first.sentence_start : first.sentence_end].endswith("he said.")


def test_partial_quotes_in_reported_speech() -> None:
    text = (
        "The state-run Global Times newspaper said China “will not impose sanctions”, adding "
        "that an embargo “might backfire”. But her call to “cut all ties” was rejected."
    )
    assert _who("Nikki Haley spoke first. " + text) == [
        ("will not impose sanctions", "Global Times"),
        ("might backfire", "Global Times"),
        ("cut all ties", "Nikki Haley"),
    ]


def test_organisations_as_speakers() -> None:
    text = (
        "The White House issued a statement, saying its views “have not changed”. "
        "China’s foreign ministry said the talks were “constructive”."
    )
    assert _who(text) == [
        ("have not changed", "White House"),
        ("constructive", "China’s foreign ministry"),
    ]


def test_scare_quotes_without_a_cue_are_skipped() -> None:
    text = "Under Mr Trump, the US has pursued a “maximum pressure” campaign."
    assert _quotes(text) == []
    assert _who("Lavrov said Russia saw the proposal “negatively”.") == [("negatively", "Lavrov")]


def test_descriptions_asides_and_titles_with_dots() -> None:
    text = (
        "Foreign Minister Sergei Lavrov met Nikki Haley. The minister said talks were “hard”. "
        "“I’m staying,” the prime minister, Boris Johnson, told the BBC. "
        '"It was a mistake," Mr. Smith said.'
    )
    assert _who(text) == [
        ("hard", "Sergei Lavrov"),
        ("I’m staying", "Boris Johnson"),
        ("It was a mistake", "Smith"),
    ]


def test_quote_running_over_paragraphs() -> None:
    text = "Ms Jane Doe spoke.\n\n“The first paragraph.\n\n“The second paragraph,” she said."
    assert _who(text) == [
        ("The first paragraph.", "Jane Doe"),
        ("The second paragraph", "Jane Doe"),
    ]


def test_unresolvable_pronoun_gives_no_quote() -> None:
    assert _quotes("“It is over,” she said.") == []


# ---- names ----------------------------------------------------------------------------------


def test_name_variants_join_to_the_fullest() -> None:
    article = make_article(
        "n1",
        "Foreign Minister Sergei Lavrov spoke. Mr Lavrov said no. Lavrov left. "
        "Gen McMaster agreed with HR McMaster’s staff. US President Donald Trump and Mr Trump. "
        "The United States and the US.",
    )
    canon = canonical_speakers(article)
    for variant in ("Lavrov", "Mr Lavrov", "Foreign Minister Sergei Lavrov", "Sergei Lavrov"):
        assert canon[variant] == "Sergei Lavrov", variant
    assert canon["Gen McMaster"] == canon["McMaster"] == "HR McMaster"
    assert canon["Mr Trump"] == canon["Donald Trump"] == "Donald Trump"
    assert canon["US"] == "United States"


def test_ambiguous_surname_stays_as_written() -> None:
    article = make_article("n2", "Donald Trump and Ivanka Trump arrived. Trump spoke.")
    assert canonical_speakers(article)["Trump"] == "Trump"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Lavrov", "Sergei Lavrov"),
        ("Mr Lavrov", "Foreign Minister Sergei Lavrov"),
        ("Kim Jong Un", "Kim Jong-Un"),
        ("H.R. McMaster", "HR McMaster"),
        ("Gen McMaster", "HR McMaster"),
        ("US", "the United States"),
        ("Trump’s", "Donald Trump"),
        ("the White House", "White House"),
    ],
)
def test_same_person(a: str, b: str) -> None:
    assert same_person(a, b) and same_person(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Kim", "Kim Jong Un"),
        ("Trump", "Donald Tusk"),
        ("Donald", "Donald Trump"),
        ("Donald Trump", "Ivanka Trump"),
        ("Times", "Global Times"),
        ("Korea", "North Korea"),
        ("", "Sergei Lavrov"),
    ],
)
def test_not_same_person(a: str, b: str) -> None:
    assert not same_person(a, b) and not same_person(b, a)


def test_speaker_key() -> None:
    assert speaker_key("Foreign Minister Sergei Lavrov") == "sergei lavrov"
    assert speaker_key("Kim Jong-Un") == speaker_key("Kim Jong Un")
    assert speaker_key("U.S.") == "united states"


# ---- questions ------------------------------------------------------------------------------

KNOWN = [
    "Sergei Lavrov",
    "Rex Tillerson",
    "HR McMaster",
    "Donald Trump",
    "Nikki Haley",
    "Global Times",
    "Kim Jong-Un",
]


@pytest.mark.parametrize(
    ("question", "speaker", "topic"),
    [
        ("What did Lavrov say about sanctions?", "Sergei Lavrov", "sanctions"),
        ("What did Tillerson tell reporters?", "Rex Tillerson", None),
        ("What has Gen McMaster said about China?", "HR McMaster", "China"),
        ("Did Trump say anything about Kim?", "Donald Trump", "Kim"),
        ("Haley's comments on North Korea", "Nikki Haley", "North Korea"),
        ("Lavrov’s remarks about the proposal?", "Sergei Lavrov", "the proposal"),
        ("quotes from Sergei Lavrov", "Sergei Lavrov", None),
        ("What did the Global Times say about an oil embargo?", "Global Times", "an oil embargo"),
        ("what did foreign minister sergei lavrov say", "Sergei Lavrov", None),
        ("What does Mr Tillerson say about talks?", "Rex Tillerson", "talks"),
        ("What did Kim Jong Un say?", "Kim Jong-Un", None),
        ("What Trump said about China", "Donald Trump", "China"),
        ("Why is an embargo dangerous, according to the Global Times?", "Global Times",
         "Why is an embargo dangerous"),
        ("According to Tillerson, what did China do?", "Rex Tillerson", "what did China do"),
    ],
)  # fmt: skip
def test_speaker_in_question(question: str, speaker: str, topic: str | None) -> None:
    assert speaker_in_question(question, KNOWN) == SpeakerQuestion(speaker, topic)


@pytest.mark.parametrize(
    "question",
    [
        "What happened in Minsk?",
        "Why did Russia reject the proposal?",
        "What did Macron say about sanctions?",
        "What did Kim say?",  # a first name alone is nobody in particular
        "Did they say anything?",
        "What is the range of the Hwasong-15?",
        "How big is the risk, according to new research?",  # no one the archive quotes
    ],
)
def test_no_speaker_in_question(question: str) -> None:
    assert speaker_in_question(question, KNOWN) is None


def test_a_group_or_a_bare_role_quoted_as_a_speaker_is_no_one_to_ask_about() -> None:
    known = [*KNOWN, "Authorities", "Police", "Officials", "The President"]
    assert (
        speaker_in_question("What did the Jamaican authorities say about the toll?", known) is None
    )
    assert speaker_in_question("What did police say?", known) is None
    assert speaker_in_question("What did McDonald's president say about wraps?", known) is None
    assert speaker_in_question("What did Lavrov say?", known) == SpeakerQuestion(
        "Sergei Lavrov", None
    )


def test_speaker_in_question_compares_only_names_that_can_match() -> None:
    """It looks up speakers by their key's last word; every speaker `same_person` accepts must
    still be found, the first of them in the given order (brute force over every pair)."""
    speakers = [*KNOWN, "Lavrov", "Mr. Tillerson", "H.R. McMaster", "the U.S.", "Kim Jong Un"]
    speakers += ["Kim", "Jong", "Ambassador Haley", "Trump's", "Ivanka Trump", "China"]
    names = ["Lavrov", "Sergei Lavrov", "McMaster", "Herbert R. McMaster", "Haley", "Kim"]
    names += ["Kim Jong Un", "the US", "United States", "Trump", "Ivanka Trump", "Putin", "China"]
    for name in names:
        expected = next((s for s in speakers if same_person(name, s)), None)
        for question in (f"What did {name} say about oil?", f"What did {name} say?"):
            found = speaker_in_question(question, speakers)
            assert (found.speaker if found else None) == expected, question
