"""A question, read once: what kind of answer it wants, whose words it asks for, which of its
words to search for, and which names the archive does not know (or knows under another form).

Every later stage (search, evidence selection, the abstention rules, the renderers) takes the
`Question`; none re-reads the raw text with word lists of its own.

- Kind and expected answer: "how many" wants a number, "how long" / "how tall" a number with its
  unit, "when" a date, "where" / "which country" a place, "which company" a name, "who" a person
  (a name, not an acronym), "why" a reason. A sentence that holds no value of the expected type
  is weaker evidence (`bot.evidence`).
- Names: capitalised words after the first. One the archive never mentions makes the question
  unanswerable, unless the archive holds another form of it: a place word ("Russian" for
  Russia, "Emirati" for the Emirates) or a spelling one letter away ("Tilerson" for Tillerson).
  Such forms are searched for in its place, and the answer says how it was understood.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from corpus.names import DEMONYMS, words
from corpus.quotes import SpeakerQuestion, speaker_in_question
from corpus.relative_dates import DateRange, time_in_question
from index.fts import STOPWORDS, query_terms

_WORD = re.compile(r"\w+")

# The answer types a sentence can hold (see bot.evidence for how each is recognised).
NUMBER, MONEY, DATE, PLACE, NAME, REASON, QUOTE = (
    "number", "money", "date", "place", "name", "reason", "quote"
)  # fmt: skip
PERSON = "person"  # "who": a name, and not an acronym (NBA, FBI name organisations)
MEASURE = "measure"  # "how long", "how tall": a number with its unit (five years)

_PLACE_NOUNS = words(
    """country state city town region province island nation capital continent ocean sea river
    county village airport venue stadium"""
)
_DATE_NOUNS = words("year month day date time decade season century week")
_NUMBER_NOUNS = words("number percentage percent share proportion age")
_MONEY_NOUNS = words("price cost amount sum fine salary budget fee")

_HOW = [
    (re.compile(r"\bhow (?:long|tall|big|large|high|fast|deep|wide|heavy)\b", re.I), MEASURE),
    (re.compile(r"\bhow (?:many|old|often|far)\b", re.I), NUMBER),
    (re.compile(r"\bhow much\b", re.I), MONEY),
    (re.compile(r"\bwhen\b", re.I), DATE),
    (re.compile(r"\bwhere\b", re.I), PLACE),
    (re.compile(r"\bwhy\b|\bwhat (?:caused|led to|prompted)\b", re.I), REASON),
    (re.compile(r"\b(?:who|whom|whose)\b", re.I), PERSON),
]
_WHICH = re.compile(
    r"\b(?:which|what)\s+(?:(?:\w+\s+){0,2}?)(?P<noun>[a-z]+)\b", re.I
)  # "which major change", "in which state", "what percentage"


class Lexicon(Protocol):
    """What reading a question needs from the archive: how common words are, the words it
    holds that look like a given one, and the people it quotes."""

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]: ...

    def similar_terms(self, word: str) -> list[tuple[str, int]]: ...

    def speaker_names(self) -> list[str]: ...


@dataclass(frozen=True)
class Question:
    """A parsed question. `terms` are what search matches (the archive's own forms of the words
    when the question used another); `understood_as` is the text after those replacements."""

    text: str
    expects: str | None = None  # NUMBER, MEASURE, MONEY, DATE, PLACE, NAME, PERSON, REASON, QUOTE
    terms: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # names the archive never mentions, in no other form either
    corrections: tuple[tuple[str, str], ...] = ()  # (as asked, as the archive writes it)
    speaker: SpeakerQuestion | None = None
    focus: tuple[str, ...] = field(default=())  # words of the question an answer must not repeat
    as_of: date | None = None  # answer from articles published on or before this day
    dates: DateRange | None = None  # "this week", "in March", "latest": resolved against as_of

    @property
    def search_terms(self) -> tuple[str, ...]:
        """The terms to search for while the question's dates apply: "last week" says when to
        look, not what to look for."""
        if self.dates is None:
            return self.terms
        when = {w.lower() for w in _WORD.findall(self.dates.phrase)}
        return tuple(t for t in self.terms if t not in when) or self.terms

    @property
    def understood_as(self) -> str:
        return _corrected(self.text, self.corrections)


def expected_answer(text: str) -> str | None:
    """The type of value the question asks for, if it asks for one."""
    for pattern, kind in _HOW:
        if pattern.search(text):
            if kind == PERSON and re.search(r"\bwho (?:said|says|told)\b", text, re.I):
                return QUOTE
            return kind
    match = _WHICH.search(text)
    if match:
        noun = _singular(match.group("noun").lower())
        if noun in _PLACE_NOUNS:
            return PLACE
        if noun in _DATE_NOUNS:
            return DATE
        if noun in _NUMBER_NOUNS:
            return NUMBER
        if noun in _MONEY_NOUNS:
            return MONEY
        if match.group(0).lower().startswith("which"):
            return NAME  # which company, which politician, which team
    return None


def _singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


def _edit_distance_one(a: str, b: str) -> bool:
    """Whether two different words are one insertion, deletion, substitution or swap apart."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )  # fmt: skip
    short, long = sorted((a, b), key=len)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1 :]


def archive_form(word: str, lexicon: Lexicon, short_ok: bool = False) -> str | None:
    """The archive's own term for a word it never holds as written: a shorter form of a place
    word (russian -> russia, emirati -> emir(ates)), or a spelling one letter away (for words of
    five letters or more, or four beside a name the archive knows: "Nikki Haly"); the most
    common such term, or None."""
    lower = word.lower()
    forms = []
    for term, df in lexicon.similar_terms(lower):
        if df <= 0 or term == lower:
            continue
        if len(term) >= 4 and lower.startswith(term) and len(lower) - len(term) <= 3:
            forms.append((1, df, term))  # a place word or plural: the base the archive holds
        elif (len(lower) >= 5 or short_ok) and _edit_distance_one(lower, term):
            forms.append((0, df, term))
    return max(forms)[2] if forms else None


def parse_question(text: str, lexicon: Lexicon, as_of: date | None = None) -> Question:
    """Read a (cleaned) question once, against what the archive holds; relative time in it
    ("this week", "yesterday", "latest") is resolved against `as_of` (default: today)."""
    dates = time_in_question(text, as_of or date.today())
    words = _WORD.findall(text)
    names = tuple(
        w for w in dict.fromkeys(words[1:]) if w[:1].isupper() and w.lower() not in STOPWORDS
    )
    frequencies = lexicon.document_frequencies(list(names))
    unknown: list[str] = []
    corrections: list[tuple[str, str]] = []
    replaced: dict[str, str] = {}
    for n, name in enumerate(names):
        if frequencies.get(name, 0) > 0:
            continue
        beside_known = any(
            frequencies.get(other, 0) > 0 for other in names[max(0, n - 1) : n + 2] if other != name
        )
        form = archive_form(name, lexicon, short_ok=beside_known)
        if form is None and name.lower() in DEMONYMS:
            continue  # "American ambassador" where the archive writes "US": a word, not a name
        if form is None:
            unknown.append(name)
        else:
            replaced[name.lower()] = form
            if not name.lower().startswith(form):  # a spelling fix, not a word form
                corrections.append((name, _surface(form, name)))
    terms = tuple(dict.fromkeys(replaced.get(t, t) for t in query_terms(text)))
    understood = _corrected(text, corrections)
    speaker = None if unknown else speaker_in_question(understood, lexicon.speaker_names())
    expects = QUOTE if speaker is not None else expected_answer(text)
    return Question(
        text=text,
        expects=expects,
        terms=terms,
        names=names,
        unknown=tuple(unknown),
        corrections=tuple(corrections),
        speaker=speaker,
        focus=tuple(t.lower() for t in words),
        as_of=as_of,
        dates=dates,
    )


def _corrected(text: str, corrections: Sequence[tuple[str, str]]) -> str:
    """The question with each misspelt name replaced by the archive's spelling."""
    for asked, fixed in corrections:
        text = re.sub(rf"\b{re.escape(asked)}\b", fixed, text)
    return text


def _surface(form: str, asked: str) -> str:
    """The corrected word in the question's own case ("tillerson" asked as "Tilerson")."""
    return form.capitalize() if asked[:1].isupper() else form
