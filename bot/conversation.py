"""Follow-up questions: a question read in the light of the conversation's previous turn.

A follow-up ("And the minister?", "When did he say it?", "Why?", "What else did the article
say?") is rewritten into a self-contained question, which is what is answered and what the user
is shown ("understood as: ..."). A question that needs nothing from before starts a new topic and
inherits nothing. No language model: rules over the previous turn's question and the answer shown
(the speaker it quoted, the article it cited, the names in its evidence).

- he / she / him / his / her: the person quoted in the answer shown, else the person the question
  named; they / them / their: the first name of the previous question.
- it / that / this (as a pronoun): the previous topic ("say it" becomes "say that about <topic>").
- there: the place named before (the previous question's last name).
- "And X?", "What about X?", "How about X?": the previous question with X in place of its subject
  (a name or "the <role>") or of its topic (anything else).
- A bare "Why?" / "When?" / "Where?" / "How?": the previous question under that question word.
- "What else did the article / report / story say?": the previous article's title as the
  question, answered from that article only (`Turn.article`).

Context lapses after a quiet period (`Settings.conversation_minutes`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from bot.answer import Answer, Answerer, clean_question
from bot.question import Question
from corpus.names import FEMALE_ROLES, MALE_ROLES, PLACES, ROLES, words
from corpus.quotes import same_person, speaker_key
from index import Filters

_WH = r"(?:how (?:many|much|old|long|far|often)|what|which|who|whom|whose|when|where|why|how)"
_LEAD_WH = re.compile(
    rf"^\s*{_WH}\b(?:\s+(?!did|does|do|is|are|was|were|has|have|had|will|would|can|could)[a-z]+)?",
    re.I,
)
_BARE_WH = re.compile(
    r"^\s*(?:and\s+|but\s+)?(why|when|where|how much|how many|how|who)"
    r"(?:\s+(?:so|then|exactly))?\s*\??\s*$",
    re.I,
)
_ABOUT_X = re.compile(
    r"^\s*(?:and|but)?\s*(?:what|how)\s+about\s+(?P<x>.+?)\s*\??\s*$"
    r"|^\s*(?:and|but)\s+(?P<y>(?!(?:what|who|when|where|why|how|which|did|does|do|is|are|was|were)\b).+?)\s*\??\s*$",
    re.I,
)
_WHAT_ELSE = re.compile(
    r"\bwhat\s+else\b|\b(?:the|that|this)\s+(?:article|report|story|piece)\b", re.I
)
_PERSON = re.compile(r"\b(?:he|she|him)\b", re.I)
_POSSESSIVE = re.compile(r"\b(?:his|her)\b", re.I)
_THEY = re.compile(r"\bthey\b", re.I)
_PLURAL = re.compile(r"\b(?:they|them|their)\b", re.I)
_THEM = re.compile(r"\bthem\b", re.I)
_THEIR = re.compile(r"\btheir\b", re.I)
_ITS = re.compile(r"\bits\b", re.I)
_DEMONSTRATIVE = re.compile(r"\b(?:that|this|those|these)\s+\w+\s*[?.!]*\s*$", re.I)
_AUX = "is|was|are|were|has|had|does|did"
_WH_SUBJECT = re.compile(  # the question word is the subject: "Which country is the happiest?"
    rf"^\s*(?:(?:which|what)\s+\w+|who)\s+(?P<aux>{_AUX})\s+(?P<rest>.+?)\s*\??\s*$", re.I
)
_SAY_IT = re.compile(
    r"\b(say|said|says|tell|told|mean|meant|write|wrote|announce|announced)\s+(?:it|that|this)\b"
    r"(?=\s*[?.!]*$)",
    re.I,
)
_IT = re.compile(
    r"\b(?:it|that|this)\b(?=\s*(?:[?.!,]|$|\s+(?:happen|happened|begin|began|start|started|"
    r"end|ended|take place|took place)\b))",
    re.I,
)
_IT_AFTER = re.compile(
    r"\b(about|on|of|for|after|before|with|to|did|does|do|cause|caused)\s+(?:it|that|this)\b"
    r"(?!\s+(?:the|a|an|he|she|they|we|i|you|it)\b)",
    re.I,
)
_THERE = re.compile(
    r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )\bthere\b"
    r"(?!\s+(?:is|are|was|were|be|been|has|have|had|will|would)\b)",
    re.I,
)
_ABOUT = re.compile(r"\b(?:about|on|over|regarding|concerning)\s+(?P<topic>[^?]+?)\s*\??\s*$", re.I)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of\s+)?[A-Z][\w'’.-]*)*")
_DOER = re.compile(rf"\b(?:did|does|do|has|have|had|will)\s+({_NAME.pattern})")
_ROLES = "|".join(sorted(ROLES | FEMALE_ROLES | MALE_ROLES))
_ROLE = re.compile(rf"\bthe\s+(?:\w+\s+)?(?:{_ROLES})\b", re.I)
_ROLE_WORD = re.compile(rf"\b(?:{_ROLES})\b", re.I)
_FIRST_WORDS = words(
    "what who when where why how which did does do is are was were and but has have will can the i"
)


@dataclass(frozen=True)
class ArticleRef:
    """The article an answer cited first: what "the article" refers to next."""

    id: str
    title: str


@dataclass(frozen=True)
class Turn:
    """One turn as later questions may refer to it."""

    asked: str  # as the user wrote it
    understood: str  # the self-contained question that was answered
    at: float  # seconds since the epoch
    speaker: str | None = None  # the person whose words the answer quoted, or the role named
    names: tuple[str, ...] = ()  # names in the question, then in the evidence shown
    found: str | None = None  # the first name the answer showed that the question did not hold
    article: ArticleRef | None = None
    shown: tuple[str, ...] = ()  # the evidence sentences shown, so "what else" shows others


@dataclass(frozen=True)
class Rewrite:
    """A question as answered: `text` is self-contained; `follows` says it used the context;
    `article` restricts the answer to one article ("what else did the article say")."""

    text: str
    follows: bool = False
    article: ArticleRef | None = None
    shown: tuple[str, ...] = field(default=())


def names_in(text: str) -> list[str]:
    """Capitalised runs of words ("Sergei Lavrov", "North Korea"), less question words and the
    capitalised words that are no names: a gerund ("Using results"), a heading's "Top 10"."""
    found = []
    for match in _NAME.finditer(text):
        tokens = match.group(0).split()
        while tokens and tokens[0].lower() in _FIRST_WORDS:
            tokens = tokens[1:]
        if len(tokens) == 1 and (
            tokens[0].endswith("ing") or re.match(r"\s+\d", text[match.end() :])
        ):
            continue
        if tokens:
            found.append(" ".join(tokens).rstrip(".’'"))
    return list(dict.fromkeys(n for n in found if n))


def topic_of(question: str) -> str | None:
    """What a question is about: the phrase after "about" / "on", if it has one."""
    match = _ABOUT.search(question)
    return match.group("topic").strip() if match else None


def gist(question: str) -> str:
    """A question without its question word and auxiliary ("How did Russia react to the call?"
    -> "Russia react to the call"): what "it" refers to when the question has no "about"."""
    match = _LEAD_WH.match(question)
    rest = question[match.end() :] if match else question
    rest = re.sub(r"^\s*(?:did|does|do|is|are|was|were|has|have|had|will)\b", "", rest, flags=re.I)
    return rest.strip(" ?")


def _subject(turn: Turn) -> str | None:
    """The person or name a follow-up's subject replaces: the speaker if named in the question
    as answered, else the question's first name or role."""
    role = _ROLE.search(turn.understood)
    names = names_in(turn.understood)
    if turn.speaker:
        for name in names:
            if name in turn.speaker or turn.speaker.split()[-1] in name:
                return name
    if role and (not names or role.start() < turn.understood.find(names[0])):
        return role.group(0)
    return names[0] if names else (role.group(0) if role else None)


def _with_wh(previous: str, wh: str) -> str:
    """The previous question under another question word ("Why?" after "How did Russia react
    to the call?" -> "Why did Russia react to the call?")."""
    match = _LEAD_WH.match(previous)
    rest = previous[match.end() :] if match else " " + previous
    rest = re.sub(r"^\s*(?:did|does|do|is|are|was|were|has|have|had)\b", "", rest, flags=re.I)
    aux = re.match(
        r"^\s*(did|does|do|is|are|was|were|has|have|had)\b",
        previous[match.end() :] if match else "",
        re.I,
    )
    verb = aux.group(1).lower() if aux else "did"
    return f"{wh.capitalize()} {verb}{rest.rstrip(' ?')}?"


def is_follow_up(text: str) -> bool:
    """Whether a question leans on the previous turn (a pronoun, an ellipsis, "what else")."""
    return bool(
        _BARE_WH.match(text) or _ABOUT_X.match(text) or _WHAT_ELSE.search(text)
        or _PERSON.search(text) or _POSSESSIVE.search(text) or _PLURAL.search(text)
        or _SAY_IT.search(text) or _IT.search(text) or _IT_AFTER.search(text)
        or _THERE.search(text) or _ITS.search(text) or _DEMONSTRATIVE.search(text)
        or (_ROLE.search(text) and not names_in(text))
    )  # fmt: skip


def rewrite(text: str, previous: Turn | None) -> Rewrite:
    """The question as a self-contained one, given the previous turn (None: no context)."""
    if previous is None or not is_follow_up(text):
        return Rewrite(text)
    bare = _BARE_WH.match(text)
    if bare:
        wh, subject = bare.group(1), _WH_SUBJECT.match(previous.understood)
        if subject and previous.found:  # "Why?" after "Which country was the unhappiest?"
            aux, rest = subject.group("aux"), subject.group("rest")
            return Rewrite(f"{wh.capitalize()} {aux} {previous.found} {rest}?", follows=True)
        return Rewrite(_with_wh(previous.understood, wh), follows=True)
    about = _ABOUT_X.match(text)
    if about:
        return Rewrite(_substitute(previous, (about.group("x") or about.group("y")).strip()), True)
    if _WHAT_ELSE.search(text) and previous.article is not None:
        return Rewrite(
            f"What else did “{previous.article.title}” say?", True, previous.article, previous.shown
        )
    return Rewrite(_resolve(text, previous), follows=True)


def _substitute(previous: Turn, x: str) -> str:
    """The previous question with X as its subject (a name, "the minister") or its topic."""
    understood = previous.understood.rstrip(" ?")
    is_subject = (
        x[:1].isupper()
        or bool(_ROLE.fullmatch(x))
        or x.lower().startswith("the ")
        and any(r in x.lower().split() for r in ROLES)
    )
    subject = _subject(previous)
    if is_subject and subject:
        return re.sub(re.escape(subject), x, understood, count=1) + "?"
    topic = topic_of(previous.understood)
    if topic:
        return understood[: understood.rfind(topic)] + x + "?"
    if subject:
        return re.sub(re.escape(subject), x, understood, count=1) + "?"
    wh_subject = _WH_SUBJECT.match(previous.understood)
    if wh_subject:  # "What about the US?" after "Which country is the happiest?"
        return f"{wh_subject.group('aux').capitalize()} {x} {wh_subject.group('rest')}?"
    return f"{understood} {x}?"


def _person(previous: Turn) -> str | None:
    if previous.speaker:
        return previous.speaker
    return _subject(previous)


def _resolve(text: str, previous: Turn) -> str:
    """Pronouns replaced by what they refer to in the previous turn."""
    person = _person(previous)
    topic = topic_of(previous.understood)
    names = names_in(previous.understood)
    out = text
    if person:
        out = _PERSON.sub(person, out)
        out = _POSSESSIVE.sub(f"{person}’s", out)
    speaker = previous.speaker or ""
    others = [n for n in names if not (speaker and same_person(n, speaker))]  # they: not him
    group = others[0] if others else (names[0] if names else None)
    if group:
        out = _THEY.sub(group, out)
        out = _THEIR.sub(f"{group}’s", out)
        out = _THERE.sub(f"in {names[-1]}", out)
    if topic or group:
        out = _THEM.sub(topic or group or "", out)
    thing = names[0] if names else previous.found
    if thing:
        out = _ITS.sub(f"{thing}’s", out)
    if topic:
        out = _SAY_IT.sub(lambda m: f"{m.group(1)} that about {topic}", out)
    referent = topic or gist(previous.understood)
    out = _IT_AFTER.sub(lambda m: f"{m.group(1)} {referent}", out)
    out = _IT.sub(referent, out)
    if out == text:  # "that meeting", "the spokesman": the previous question says which
        out = f"{text.rstrip(' ?')}, on {gist(previous.understood)}?"
    return out


_SURNAMES: list[tuple[Sequence[str], dict[str, list[str]]]] = []  # the last speaker list seen


def _surname(name: str) -> str:
    tokens = speaker_key(name).split()
    return tokens[-1] if tokens else ""


def _by_surname(speakers: Sequence[str]) -> dict[str, list[str]]:
    """The archive's speakers by surname (two names of one person share it: `same_person`),
    built once per speaker list (the archive keeps one per generation)."""
    if not _SURNAMES or _SURNAMES[0][0] is not speakers:
        index: dict[str, list[str]] = {}
        for known in speakers:
            index.setdefault(_surname(known), []).append(known)
        _SURNAMES[:] = [(speakers, index)]
    return _SURNAMES[0][1]


def _place(name: str) -> bool:
    return any(w.lower() in PLACES for w in name.split())


def turn_of(
    asked: str, rewritten: Rewrite, answer: Answer, speakers: Sequence[str], at: float
) -> Turn:
    """What a later question may refer to in this turn: the question as answered, the person
    the answer quoted (its speaker, else the first known speaker named in its evidence), the
    names in both, and the article it cited first."""
    evidence = " ".join(s.text for s in answer.sentences)
    shown_names = names_in(evidence)
    speaker = answer.speaker
    role = _ROLE_WORD.search(rewritten.text)
    if speaker is None and role and not answer.abstained:  # "the spokeswoman": whom the
        titled = re.search(rf"(?i:\b{role.group(0)})\s+({_NAME.pattern})", evidence)  # evidence
        speaker = titled.group(1) if titled else None  # names with that title
    asked_names = names_in(rewritten.text)
    if speaker is None:  # a person the question names, else the first one the evidence quotes
        named = asked_names + ([] if answer.abstained else shown_names)
        by_surname = _by_surname(speakers)
        speaker = next(
            (
                known
                for name in named
                for known in by_surname.get(_surname(name), ())
                if same_person(name, known)
            ),
            None,
        )
        subject = _DOER.search(rewritten.text)  # "What did Geng Shuang say?": the archive may
        if (
            subject
            and not _place(subject.group(1))
            and not same_person(  # not quote him
                subject.group(1), speaker or ""
            )
        ):
            speaker = subject.group(1)
    article = None
    if answer.citations:
        info = answer.citations[0].article
        article = ArticleRef(info.id, info.title)
    elif rewritten.article is not None:
        article = rewritten.article
    return Turn(
        asked=asked,
        understood=rewritten.text,
        at=at,
        speaker=speaker,
        names=tuple(dict.fromkeys(names_in(rewritten.text) + shown_names)),
        found=next((n for n in shown_names if n not in rewritten.text), None),
        article=article,
        shown=rewritten.shown + tuple(s.text for s in answer.sentences),
    )


def within(answer: Answer, article: ArticleRef, shown: Sequence[str]) -> Answer:
    """An answer kept to one article's citations, less the sentences already shown."""
    keep = {c.n for c in answer.citations if c.article.id == article.id}
    sentences = [s for s in answer.sentences if s.citation in keep and s.text not in shown]
    if not any(s.evidence for s in sentences):
        return replace(answer, sentences=(), citations=(), abstained=True, related=(), more=False)
    cited = sorted({s.citation for s in sentences})
    number = {old: new for new, old in enumerate(cited, start=1)}
    return replace(
        answer,
        sentences=tuple(replace(s, citation=number[s.citation]) for s in sentences),
        citations=tuple(replace(c, n=number[c.n]) for c in answer.citations if c.n in number),
        groups=len(cited),
        more=False,
    )


@dataclass
class Conversation:
    """The turns of one conversation; context older than `quiet_s` seconds is not used."""

    id: str
    turns: list[Turn] = field(default_factory=list)
    quiet_s: float = 15 * 60
    max_turns: int = 20

    def context(self, now: float) -> Turn | None:
        if not self.turns or now - self.turns[-1].at > self.quiet_s:
            return None
        return self.turns[-1]

    def ask(
        self,
        answerer: Answerer,
        text: str,
        k: int = 5,
        filters: Filters | None = None,
        now: float | None = None,
        as_of: date | None = None,
    ) -> Answer:
        """Answer a question as a turn of this conversation, and remember the turn."""
        now = time.time() if now is None else now
        asked = clean_question(text)
        rewritten = rewrite(asked, self.context(now))
        question = answerer.read(rewritten.text, as_of)
        if rewritten.article is None:
            answer = answerer.answer(question, k, filters)
        else:
            answer = _from_article(answerer, question, k, filters, rewritten)
        if rewritten.follows:
            answer = replace(answer, question=asked, understood_as=question.understood_as)
        self.turns.append(turn_of(asked, rewritten, answer, answerer.archive.speaker_names(), now))
        del self.turns[: -self.max_turns]
        return answer

    def new_topic(self) -> None:
        self.turns.clear()


def _from_article(
    answerer: Answerer, question: Question, k: int, filters: Filters | None, rewritten: Rewrite
) -> Answer:
    """Pages of evidence for the article's own words until one shows something of it not yet
    shown (at most five pages). The article is known, so no threshold applies: whatever it says
    that was not shown yet is what else it said."""
    assert rewritten.article is not None
    config = replace(answerer.config, threshold=float("-inf"), candidates=max(k, 20))
    scoped = Answerer(answerer.archive, config, answerer.model)
    offset = 0
    for _ in range(5):
        answer = scoped.answer(question, max(k, 20), filters, offset=offset)
        kept = within(answer, rewritten.article, rewritten.shown)
        if not kept.abstained or not answer.more:
            return kept
        offset = answer.next_offset
    return kept
