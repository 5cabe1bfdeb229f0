"""From hits to an answer: the sentences that answer a question, verbatim and cited, or an honest
"not in the archive".

1. Retrieve passages with the hybrid search.
2. Score every sentence of those passages with the evidence model (bot/evidence.py, fitted on
   data): the encoder's cosine, how much of the question's rarer words the sentence and its
   context cover, the passage's search score, whether it holds the kind of value asked for...
3. Give each chosen sentence just enough context to stand alone: a quote keeps the sentence that
   names its speaker, a "he said" keeps the sentence naming "he", a quote running over two sentences
   keeps both, a sentence ending in a colon or a question keeps the next one (its answer); all of
   it inside one stored passage, which the citation points to.
4. The first page: the best group, then groups of other articles (another outlet's version) or of
   the same one only when they score close to it; later pages (":more") hold the rest.
5. Abstain when no group is relevant enough (cosine plus coverage under a threshold calibrated on
   data, docs/quality.md), or a "how many" question finds no number, offering the closest passages
   as "may be related".
6. Verify: every sentence must be the exact text at its offset in the cited passage, and the
   passage must belong to the cited article; anything else is dropped (`verify`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from bot.evidence import Candidate, EvidenceModel, default_model, holds
from bot.question import MEASURE, MONEY, NUMBER, Question, parse_question
from corpus.errors import NewsqaError
from corpus.quotes import Quote, same_person, speaker_key
from corpus.relative_dates import span
from corpus.types import ArticleInfo, Passage
from index import Archive, Filters, Hit
from index.lexical import TermWeights, coverage, covered, joined_stems, stems, term_weights

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class AnswerError(NewsqaError):
    """A question that cannot be asked (empty, or nothing but symbols)."""


MAX_QUESTION_CHARS = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_WORD = re.compile(r"\w+")
_ATTRIBUTION = re.compile(
    r"\b(?:said|says|say|saying|told|tells|telling|added|adds|adding|asked|warned|stated|"
    r"explained|noted|insisted|wrote|tweeted|declared|argued|according to|complained|clarified)\b",
    re.IGNORECASE,
)
_PRONOUN_ATTRIBUTION = re.compile(
    r"(?:^|[,”’\"]\s*)(?:he|she|they)\s+(?:said|says|told|added|asked|warned|tweeted|wrote)\b"
    r"|\b(?:said|added|told)\s+(?:he|she|they)\b",
    re.IGNORECASE,
)
_PRONOUN_START = re.compile(r"^[“‘\"]?(?:He|She|They|His|Her|Their|It|This)\b")
_ANNOUNCES = re.compile(r"(?:[:：?？]|\bthe following)\s*$")  # a colon or a question: answered next
_OPEN, _CLOSE = "“", "”"
_VALUES = (NUMBER, MONEY, MEASURE)  # "how many", "how much", "how long": an answer shows a number
# whole articles kept between answers, counted in passages (3.1 KB each with their sentences,
# measured with tracemalloc on the real archive): a typical news article has 27, a live blog 900
_KEPT_PASSAGES = 10_000
# A speaker question scores every quote of the speaker; only the best few by their sentences'
# stored vectors are encoded whole (a prolific speaker has hundreds: 12 ms each), and the texts
# encoded are kept for the next questions about the same people.
_QUOTES_ENCODED = 16
# A speaker quoted in thousands of articles (more quotes than a year of one outlet holds: 1,148
# of Trump's in the 3,300 real articles) would cost seconds of article reading: one of each quoted
# text is kept, and if still too many, they are ranked by stored sentence vectors and words, and
# only the best are read.
_QUOTES_SHORTLISTED_ABOVE = 1_500
_QUOTES_READ = 256
_CONTEXT_BEFORE = 300  # characters before a quote whose sentences count as its context
_KEPT_QUOTE_VECTORS = 4_096
_KEPT_SPEAKERS = 256


@dataclass(frozen=True)
class AnswerConfig:
    """How evidence is chosen; the threshold and weights are calibrated in docs/quality.md."""

    candidates: int = 8  # passages whose sentences compete
    max_groups: int = 3  # evidence groups per page of an answer
    # sentences a group may show around its evidence: a fact needs its sentence and at most one
    # of context (chosen on the RealTime QA tuning half, docs/quality.md); a quote runs on over
    # several sentences and its speaker is often named in another
    max_group_sentences: int = 2
    max_quote_sentences: int = 3
    lexical_weight: float = 1.0
    threshold: float = 0.75  # abstain when no group's relevance reaches this
    merge_margin: float = 1.0  # log-odds: a neighbour merges into a group if this close
    # A further group on the first page must score this close to the lead (log-odds): another
    # article's version of the answer, or a second group of an article already shown. Chosen on
    # the RealTime QA tuning half (docs/quality.md, fourth round): another article's group at 0.5
    # rather than 1.0 keeps every answer there and shortens the median answer.
    other_margin: float = 0.5
    same_article_margin: float = 2.0
    first_page_per_article: int = 2
    related: int = 3
    typed_abstention: bool = True  # a "how many" answer must show a number


@dataclass(frozen=True)
class Citation:
    """A numbered source: the passage quoted and the article it belongs to."""

    n: int
    article: ArticleInfo
    passage: Passage
    score: float
    also: tuple[ArticleInfo, ...] = ()  # the same story from other outlets or URLs


@dataclass(frozen=True)
class AnswerSentence:
    """One verbatim sentence; `start` is its offset in the cited passage's text."""

    text: str
    citation: int
    start: int
    evidence: bool = True  # False for context kept so that a quote stands alone


@dataclass(frozen=True)
class Answer:
    question: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    abstained: bool
    related: tuple[Citation, ...] = ()
    unknown: tuple[str, ...] = ()  # names in the question that the archive never mentions
    speaker: str | None = None  # "What did X say?": answered from X's quotes only
    understood_as: str | None = None  # the question as answered, when a spelling was fixed
    dates: str | None = None  # the dates searched, when the question or as-of set them
    offset: int = 0  # index of this page's first evidence group
    groups: int = 0  # evidence groups on this page
    more: bool = False  # whether further evidence exists past this page
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def next_offset(self) -> int:
        return self.offset + self.groups

    @property
    def text(self) -> str:
        """The answer as plain text: one paragraph per cited group, each ending with its number."""
        if self.abstained:
            return NO_ANSWER
        paragraphs: list[str] = []
        current: list[str] = []
        last: int | None = None
        for sentence in self.sentences:
            if last is not None and sentence.citation != last:
                paragraphs.append(f"{' '.join(current)} [{last}]")
                current = []
            current.append(sentence.text)
            last = sentence.citation
        if current:
            paragraphs.append(f"{' '.join(current)} [{last}]")
        return "\n\n".join(paragraphs)


NO_ANSWER = "The archive holds no clear answer to that question."


class _Sentence(NamedTuple):
    """One sentence of an article (a tuple: an answer builds hundreds, a frozen dataclass's
    `__init__` costs twice as much)."""

    start: int  # offsets in the article's text
    end: int
    text: str


@dataclass
class _ArticleText:
    """An article's sentences and passages, rebuilt from its stored passages."""

    info: ArticleInfo
    passages: list[Passage]
    sentences: list[_Sentence]
    also: tuple[ArticleInfo, ...] = ()

    @classmethod
    def from_passages(
        cls, info: ArticleInfo, passages: list[Passage], also: tuple[ArticleInfo, ...] = ()
    ) -> _ArticleText:
        spans: dict[int, _Sentence] = {}
        for p in passages:  # passages overlap: a shared sentence is built once
            base, text = p.start, p.text
            for s, e in p.sentences:
                if base + s not in spans:
                    spans[base + s] = _Sentence(base + s, base + e, text[s:e])
        return cls(info, passages, [spans[k] for k in sorted(spans)], also)

    @cached_property
    def _starts(self) -> dict[int, int]:
        return {s.start: i for i, s in enumerate(self.sentences)}

    def index_of(self, start: int) -> int:
        return self._starts[start]

    def seen_as(self, info: ArticleInfo, also: tuple[ArticleInfo, ...]) -> _ArticleText:
        """The same text, cited as a hit cites it (its info and its story's other articles)."""
        if info == self.info and also == self.also:
            return self
        return _ArticleText(info, self.passages, self.sentences, also)

    @cached_property
    def sentence_refs(self) -> dict[int, tuple[int, int]]:
        """Each sentence's start -> (a passage holding it, its number there): where its stored
        vector is found."""
        refs: dict[int, tuple[int, int]] = {}
        for p in self.passages:
            if p.id is not None:
                for n, (s, _) in enumerate(p.sentences):
                    refs.setdefault(p.start + s, (p.id, n))
        return refs

    def index_containing(self, offset: int) -> int:
        """The sentence holding a character offset (the last one starting at or before it)."""
        return max((i for i, s in enumerate(self.sentences) if s.start <= offset), default=0)

    def passage_holding(self, start: int, end: int) -> Passage | None:
        holding = [p for p in self.passages if p.start <= start and end <= p.end]
        return min(holding, key=lambda p: len(p.text)) if holding else None


@dataclass(frozen=True)
class _Group:
    article: _ArticleText
    first: int  # sentence indexes, inclusive
    last: int
    evidence: int
    passage: Passage
    score: float  # the evidence model's log-odds that the evidence sentence holds the answer
    relevance: float  # cosine + coverage: whether the archive answers at all (the threshold)
    candidate: Candidate | None = None

    @property
    def text(self) -> str:
        """The group's sentences as one text."""
        return " ".join(s.text for s in self.article.sentences[self.first : self.last + 1])


def clean_question(question: str) -> str:
    """The question without control or bidi-override characters, trimmed to a sane length."""
    text = " ".join(_CONTROL.sub(" ", question).split())[:MAX_QUESTION_CHARS]
    if not _WORD.search(text):
        raise AnswerError(
            "ask a question in words, for example: What did Lavrov say about sanctions?"
        )
    return text


def context_range(sentences: Sequence[_Sentence], i: int, limit: int = 3) -> tuple[int, int]:
    """The sentences around sentence i that it needs to stand alone (indexes, inclusive)."""
    first = last = i
    text = sentences[i].text
    if text.count(_OPEN) > text.count(_CLOSE) and i + 1 < len(sentences):
        last = i + 1  # the quote runs on into the next sentence
    elif text.count(_CLOSE) > text.count(_OPEN) and i > 0:
        first = i - 1  # the quote began in the sentence before
    group_text = " ".join(s.text for s in sentences[first : last + 1])
    if not _ATTRIBUTION.search(group_text):
        if last + 1 < len(sentences) and _ATTRIBUTION.search(sentences[last + 1].text):
            last += 1  # "…” the speaker said" in the next sentence
        elif first > 0 and group_text.lstrip().startswith(_OPEN):
            first -= 1
    announced = _ANNOUNCES.search(sentences[last].text) is not None and last + 1 < len(sentences)
    if announced:
        last += 1  # "... Tour 2020 dates:": what it announces is in the next sentence or line
    lead = sentences[first].text
    group_text = " ".join(s.text for s in sentences[first : last + 1])
    unnamed = _PRONOUN_ATTRIBUTION.search(lead) or _PRONOUN_START.match(lead)
    quoted = lead.lstrip().startswith(_OPEN) and _PRONOUN_ATTRIBUTION.search(group_text)
    if first > 0 and (unnamed or quoted):
        first -= 1  # "he said": keep the sentence that says who "he" is
    while last - first + 1 > limit:
        if last > i and not (announced and first < i):
            last -= 1
        else:  # what a sentence announces outweighs who "he" is: the citation names the article
            first += 1
    while (
        last + 1 < len(sentences)
        and last - first + 1 < limit + 2
        and _open_quote(sentences[first : last + 1])
    ):
        last += 1  # never stop inside a quote: its end often holds what was asked
    return first, last


def _value_follows(q: Question, sentences: Sequence[_Sentence], i: int) -> bool:
    """Whether sentence i lacks the type of value the question asks for and the next one, in the
    same paragraph, holds it: the answer often follows the sentence that matches the question."""
    if q.expects is None or i + 1 >= len(sentences):
        return False
    between = sentences[i].end, sentences[i + 1].start
    return (
        not holds(q.expects, sentences[i].text, q)
        and holds(q.expects, sentences[i + 1].text, q)
        and between[1] - between[0] < 2  # no paragraph break (a blank line) between them
    )


def _open_quote(sentences: Sequence[_Sentence]) -> bool:
    text = " ".join(s.text for s in sentences)
    return text.count(_OPEN) > text.count(_CLOSE)


class Answerer:
    """Answers questions from an archive; plain Python, no terminal or Telegram code."""

    def __init__(
        self,
        archive: Archive,
        config: AnswerConfig | None = None,
        model: EvidenceModel | None = None,
    ):
        self.archive = archive
        self.config = config or AnswerConfig()
        self.model = model or default_model()
        # whole articles recently read, by (generation, article id): an answer reads its hits'
        # articles, a date-range answer may search twice, and a conversation stays on a topic
        self._texts: OrderedDict[tuple[int, str], _ArticleText] = OrderedDict()
        self._kept_passages = 0
        self._texts_lock = threading.Lock()
        self._quote_vectors: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._speaker_names: OrderedDict[tuple[int, str], list[str]] = OrderedDict()

    def _articles(
        self, wanted: Sequence[tuple[ArticleInfo, tuple[ArticleInfo, ...]]]
    ) -> dict[str, _ArticleText]:
        """The whole texts of some articles (each with the first `also` given for it), read
        together in one query where they are not kept from an earlier answer."""
        generation = self.archive.generation
        first: dict[str, tuple[ArticleInfo, tuple[ArticleInfo, ...]]] = {}
        for info, also in wanted:
            first.setdefault(info.id, (info, also))
        out: dict[str, _ArticleText] = {}
        with self._texts_lock:
            for article_id in first:
                kept = self._texts.get((generation, article_id))
                if kept is not None:
                    self._texts.move_to_end((generation, article_id))
                    out[article_id] = kept
        missing = [a for a in first if a not in out]
        read = self.archive.store.articles_passages(missing) if missing else {}
        with self._texts_lock:
            for article_id in missing:
                text = _ArticleText.from_passages(first[article_id][0], read.get(article_id, []))
                out[article_id] = text
                if (generation, article_id) not in self._texts:
                    self._texts[(generation, article_id)] = text
                    self._kept_passages += len(text.passages)
            while self._kept_passages > _KEPT_PASSAGES:
                _, oldest = self._texts.popitem(last=False)
                self._kept_passages -= len(oldest.passages)
        return {a: out[a].seen_as(*first[a]) for a in first}

    def read(self, question: str, as_of: date | None = None) -> Question:
        """Parse a question once, against what the archive holds (and as of a day)."""
        return parse_question(clean_question(question), self.archive, as_of)

    def answer(
        self,
        question: str | Question,
        k: int = 5,
        filters: Filters | None = None,
        offset: int = 0,
        as_of: date | None = None,
    ) -> Answer:
        """Answer one question; `offset` pages through further evidence groups (":more");
        `as_of` answers from articles published on or before that day, resolving "this week"
        and the like against it."""
        started = time.perf_counter()
        q = question if isinstance(question, Question) else self.read(question, as_of)
        dated, label = _dated(filters, q)
        groups, hits = self.evidence(q, k, dated)
        if q.dates is not None and not self._answers(q, groups):
            # nothing in that range answers it: search every article (up to the as-of day),
            # and say so beside the answer; "latest" as of a day already searched them all
            wanted = q.dates.label
            q = replace(q, dates=None)
            wider, label = _dated(filters, q)
            if wider != dated:
                groups, hits = self.evidence(q, k, wider)
            if wanted.startswith("articles of "):  # a range, not only "the newest"
                wanted = wanted.removeprefix("articles of ")
                label = f"{label or 'all articles'}; none of {wanted} answers it"
        searched = time.perf_counter()
        timings = {"search": (searched - started) * 1000}
        speaker = q.speaker.speaker if q.speaker else None
        understood = q.understood_as if q.understood_as != q.text else None
        if not self._answers(q, groups):
            if q.speaker is not None and groups:  # the speaker is quoted, but not on this topic
                related = tuple(
                    Citation(n, g.article.info, g.passage, g.relevance, g.article.also)
                    for n, g in enumerate(groups[: self.config.related], start=1)
                )
            else:
                related = tuple(
                    Citation(n, h.article, h.passage, h.score, h.also)
                    for n, h in enumerate(hits[: self.config.related], start=1)
                )
            timings["total"] = (time.perf_counter() - started) * 1000
            return Answer(
                q.text, (), (), True, related, unknown=q.unknown, speaker=speaker,
                understood_as=understood, dates=label, timings_ms=timings,
            )  # fmt: skip
        if q.dates is not None and q.dates.newest_first:
            groups = self._newest_first(groups)
        ordered, first_page = self._pages(q, groups)
        page = ordered[offset : offset + (first_page if offset == 0 else self.config.max_groups)]
        answer = _build(q.text, page, offset, more=len(ordered) > offset + len(page))
        answer = replace(answer, speaker=speaker, understood_as=understood, dates=label)
        answer = verify(answer)
        timings["total"] = (time.perf_counter() - started) * 1000
        return replace(answer, timings_ms=timings)

    def _newest_first(self, groups: list[_Group]) -> list[_Group]:
        """For "latest" and "currently": the groups nearly as good as the best (within the
        margin a first page allows another article), newest first, then the rest by score; a
        newer article's weak line ("Hurricane Melissa spaghetti models") does not lead."""
        best = max((g.score for g in groups), default=0.0)
        near = [g for g in groups if g.score >= best - self.config.other_margin]
        rest = [g for g in groups if g.score < best - self.config.other_margin]
        near.sort(key=lambda g: g.article.info.published or "", reverse=True)
        return near + sorted(rest, key=lambda g: -g.score)

    def _answers(self, q: Question, groups: list[_Group]) -> bool:
        """Whether any evidence group can answer the question."""
        return any(self._answering(q, g) for g in groups)

    def _answering(self, q: Question, g: _Group) -> bool:
        """Whether a group can answer: relevant enough (the calibrated threshold) and, when the
        question asks how many or how much, holding a number (in the group's text). Dates are
        not gated: "when" answers such as "the 1050s" or "the 19th century" escape any pattern."""
        if g.relevance < self.config.threshold:
            return False
        if not self.config.typed_abstention or q.expects not in _VALUES:
            return True
        # "how much" (90%) and "how long" answers need a number, not always with its unit
        return holds(NUMBER, g.text, q)

    def evidence(
        self, q: Question, k: int = 5, filters: Filters | None = None, distinct: bool = True
    ) -> tuple[list[_Group], list[Hit]]:
        """The candidate evidence groups for a question, best first, and the hits they came from;
        with `distinct=False`, every candidate sentence's group (to fit the evidence model)."""
        query_vector = self.archive.encoder.encode_queries([q.understood_as])[0]
        hits = self.archive.search(
            q.understood_as, max(k, self.config.candidates), filters,
            query_vector=query_vector, terms=q.search_terms,
        )  # fmt: skip
        if q.unknown:
            return [], hits
        if q.speaker is not None:
            return self._quote_groups(q, query_vector, filters), hits
        groups = self._groups(q, query_vector, hits) if hits else []
        return (self._distinct(groups) if distinct else groups), hits

    def _groups(
        self, q: Question, query_vector: NDArray[np.float32], hits: list[Hit]
    ) -> list[_Group]:
        """Every candidate sentence as a group with its context, best first, no two overlapping."""
        candidates: list[tuple[_ArticleText, int, int]] = []  # (article, sentence, hit rank)
        seen: set[tuple[str, int]] = set()
        refs: list[tuple[int, int]] = []  # (passage id, sentence number): stored vectors
        articles = self._articles([(hit.article, hit.also) for hit in hits])
        for rank, hit in enumerate(hits):
            source = articles[hit.article.id]
            for n, (s, _) in enumerate(hit.passage.sentences):
                key = (hit.article.id, hit.passage.start + s)
                if key not in seen:
                    seen.add(key)
                    candidates.append((source, source.index_of(hit.passage.start + s), rank))
                    refs.append((hit.passage.id or 0, n))
        vectors = self.archive.sentence_vectors(
            refs, [article.sentences[i].text for article, i, _ in candidates]
        )
        cosines = vectors @ query_vector
        weights = self._term_weights(q.terms)
        best_hit = max(hits[0].score, 1e-9)
        groups = []
        for (article, i, rank), cosine in zip(candidates, cosines, strict=True):
            first, last = context_range(article.sentences, i, self.config.max_group_sentences)
            if _value_follows(q, article.sentences, i) and last == i:
                last = i + 1  # "X has a new coach." then "It hired Y.": the value asked for
            group = self._fit(article, first, last, i)
            context = article.sentences[group[0] : group[1] + 1]
            context_coverage = covered(joined_stems(s.text for s in context), weights)
            candidate = Candidate(
                text=article.sentences[i].text,
                cosine=float(cosine),
                coverage=coverage(article.sentences[i].text, weights),
                context_coverage=context_coverage,
                hit_score=max(0.0, hits[rank].score / best_hit),
                hit_rank=rank,
                sentence_index=i,
            )
            relevance = float(cosine) + self.config.lexical_weight * context_coverage
            groups.append(
                _Group(
                    article, group[0], group[1], i, group[2],
                    score=self.model.score(q, candidate), relevance=relevance,
                    candidate=candidate,
                )
            )  # fmt: skip
        return groups

    def _distinct(self, groups: list[_Group]) -> list[_Group]:
        """Groups best first; one overlapping an earlier one is merged into it or dropped."""
        groups = sorted(groups, key=lambda g: -g.score)
        chosen: list[_Group] = []
        for g in groups:
            overlapping = next(
                (
                    c
                    for c in chosen
                    if c.article is g.article and c.first <= g.last and g.first <= c.last
                ),
                None,
            )
            if overlapping is None:
                chosen.append(g)
            elif (
                not overlapping.first <= g.evidence <= overlapping.last
                and g.relevance >= self.config.threshold
                and g.score >= overlapping.score - self.config.merge_margin
            ):
                merged = self._merge(overlapping, g)
                if merged is not None:
                    chosen[chosen.index(overlapping)] = merged
        return chosen

    def _merge(self, kept: _Group, other: _Group) -> _Group | None:
        """`kept` widened to also hold `other`'s evidence, if one passage holds the union."""
        first, last = min(kept.first, other.first), max(kept.last, other.last)
        if last - first + 1 > self.config.max_group_sentences + 1:
            return None
        sentences = kept.article.sentences
        passage = kept.article.passage_holding(sentences[first].start, sentences[last].end)
        return None if passage is None else replace(kept, first=first, last=last, passage=passage)

    @staticmethod
    def _fit(article: _ArticleText, first: int, last: int, i: int) -> tuple[int, int, Passage]:
        """The widest range around sentence i within [first, last] that one passage holds."""
        ranges = [(a, b) for a in range(first, i + 1) for b in range(i, last + 1)]
        ranges.sort(key=lambda r: (-(r[1] - r[0]), -(r[0] < i)))
        for a, b in ranges:
            passage = article.passage_holding(article.sentences[a].start, article.sentences[b].end)
            if passage is not None:
                return a, b, passage
        raise AssertionError("a sentence always lies in the passage it came from")

    def _quote_groups(
        self, q: Question, query_vector: NDArray[np.float32], filters: Filters | None
    ) -> list[_Group]:
        """The speaker's own quotes (never anyone else's), best match to the question first.

        Each quote (with the context that names its speaker) is scored as any other evidence
        is, against the whole question: its meaning by the encoder, so a paraphrased topic
        matches, and its words; so the same calibrated threshold applies. With no topic, the
        earliest quotes come first."""
        assert q.speaker is not None
        names = self._names_of(q.speaker.speaker)
        found = [
            (quote, info)
            for quote, info in self.archive.quotes_of([speaker_key(n) for n in names])
            if _passes(info, filters)
        ]
        if len(found) > _QUOTES_SHORTLISTED_ABOVE:
            found = _first_of_each_text(found)
            if q.speaker.topic and len(found) > _QUOTES_SHORTLISTED_ABOVE:
                found = self._likely_quotes(q, found, query_vector)
        articles = self._articles([(info, ()) for _, info in found])
        groups = []
        for quote, info in found:
            source = articles[info.id]
            first = source.index_containing(quote.sentence_start)
            last = max(first, source.index_containing(quote.sentence_end - 1))
            context = context_range(source.sentences, first, self.config.max_quote_sentences)
            a, b, passage = self._fit(source, min(first, context[0]), max(last, context[1]), first)
            groups.append(_Group(source, a, b, first, passage, 1.0, 1.0))
        if not q.speaker.topic or not groups:
            return self._distinct(groups)
        weights = self._term_weights(q.terms)
        lexical = [self.config.lexical_weight * coverage(g.text, weights) for g in groups]
        if len(groups) > _QUOTES_ENCODED:  # shortlist by the sentences' stored vectors
            rough = self._rough_cosines(groups, query_vector)
            order = sorted(range(len(groups)), key=lambda n: -(rough[n] + lexical[n]))
            keep = sorted(order[:_QUOTES_ENCODED])
            groups, lexical = [groups[n] for n in keep], [lexical[n] for n in keep]
        quoted = self._encode_quotes([g.text for g in groups])
        scored = []
        for g, vector, words in zip(groups, quoted, lexical, strict=True):
            relevance = float(vector @ query_vector) + words
            scored.append(replace(g, score=relevance, relevance=relevance))
        return self._distinct(scored)

    def _likely_quotes(
        self,
        q: Question,
        found: list[tuple[Quote, ArticleInfo]],
        query_vector: NDArray[np.float32],
    ) -> list[tuple[Quote, ArticleInfo]]:
        """The `_QUOTES_READ` quotes most like the question, in their order, judged without
        reading their articles (a prolific speaker's thousands of quotes would cost seconds): by
        the stored vectors of the quote's sentences and of those just before it (where the
        context that shows with a quote usually is; their mean's cosine, as `_rough_cosines`),
        and the question's words in the quote."""
        spans = [
            (info.id, max(0, quote.sentence_start - _CONTEXT_BEFORE), quote.sentence_end)
            for quote, info in found
        ]
        vectors = self.archive.stored_sentence_vectors(spans)
        weights = self._term_weights(q.terms)
        rough = [
            _mean_cosine(own, query_vector)
            + self.config.lexical_weight * coverage(quote.text, weights)
            for own, (quote, _) in zip(vectors, found, strict=True)
        ]
        best = sorted(range(len(found)), key=lambda n: -rough[n])[:_QUOTES_READ]
        return [found[n] for n in sorted(best)]

    def _names_of(self, speaker: str) -> list[str]:
        """The archive's names for a speaker ("Trump", "President Donald Trump"): a scan of
        every quoted name, kept per generation for the next question about them."""
        key = (self.archive.generation, speaker)
        with self._texts_lock:
            names = self._speaker_names.get(key)
        if names is None:
            names = [n for n in self.archive.speaker_names() if same_person(n, speaker)]
            with self._texts_lock:
                self._speaker_names[key] = names
                while len(self._speaker_names) > _KEPT_SPEAKERS:
                    self._speaker_names.popitem(last=False)
        return names

    def _rough_cosines(
        self, groups: Sequence[_Group], query_vector: NDArray[np.float32]
    ) -> list[float]:
        """Each group's closeness to the question from its sentences' stored vectors (their
        mean's cosine): cheap, close to encoding the group whole, good enough to shortlist."""
        refs: list[tuple[int, int]] = []
        texts: list[str] = []
        rows: list[list[int]] = []
        for g in groups:
            where = g.article.sentence_refs
            rows.append([])
            for sentence in g.article.sentences[g.first : g.last + 1]:
                if sentence.start in where:
                    rows[-1].append(len(refs))
                    refs.append(where[sentence.start])
                    texts.append(sentence.text)
        vectors = self.archive.sentence_vectors(refs, texts) if refs else None
        if vectors is None:
            return [-1.0 for _ in rows]
        return [_mean_cosine(vectors[own], query_vector) for own in rows]

    def _encode_quotes(self, texts: list[str]) -> list[NDArray[np.float32]]:
        """The encoder's vectors of quote texts, those encoded for an earlier question kept."""
        with self._texts_lock:
            kept = {t: self._quote_vectors[t] for t in texts if t in self._quote_vectors}
            for t in kept:
                self._quote_vectors.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in kept))
        if missing:
            fresh = self.archive.encoder.encode_documents(missing)
            with self._texts_lock:
                for t, vector in zip(missing, fresh, strict=True):
                    kept[t] = vector
                    self._quote_vectors[t] = vector
                while len(self._quote_vectors) > _KEPT_QUOTE_VECTORS:
                    self._quote_vectors.popitem(last=False)
        return [kept[t] for t in texts]

    def _term_weights(self, terms: Sequence[str]) -> TermWeights:
        return term_weights(self.archive, terms, self.archive.passage_count)

    def _pages(self, q: Question, groups: list[_Group]) -> tuple[list[_Group], int]:
        """The groups that clear the threshold, in the order pages show them, and how many of
        them the first page shows.

        The first page opens with the best evidence and adds a group only when it could add
        something: another article (or outlet) whose evidence is nearly as likely to hold the
        answer, not repeating what the page already says (most of its words: a near-verbatim
        copy from another outlet, or half of them within one article). Groups citing one passage sit
        together, so it is cited once. Later pages take the rest by score, so no page repeats
        another."""
        size = self.config.max_groups
        passing = [g for g in groups if self._answering(q, g)]
        if groups and groups[0] not in passing:
            passing.insert(0, groups[0])  # the best evidence leads when any group passes
        first = passing[:1]
        for same_article in (False, True):  # other articles' versions first, then seconds
            margin = self.config.same_article_margin if same_article else self.config.other_margin
            for g in passing[1:]:
                if g.score < first[0].score - margin:
                    break
                of_article = sum(p.article is g.article for p in first)
                if (
                    len(first) < size
                    and g not in first
                    and (of_article < self.config.first_page_per_article
                         if same_article else not of_article)
                    and all(_overlap(p, g) < (0.5 if same_article else 0.8) for p in first)
                ):  # fmt: skip
                    first.append(g)
        first.sort(key=passing.index)
        lead_of = {g.passage.id: n for n, g in reversed(list(enumerate(first)))}
        first.sort(key=lambda g: lead_of[g.passage.id])  # one passage: one paragraph, one number
        return first + [g for g in passing if g not in first], len(first)


def _mean_cosine(vectors: NDArray[np.float32], query_vector: NDArray[np.float32]) -> float:
    """The cosine of the vectors' mean to the question: -1 when there are none to go by."""
    mean = vectors.sum(axis=0)
    norm = float((mean @ mean) ** 0.5) if len(vectors) else 0.0
    return float(mean @ query_vector) / norm if norm else -1.0


def _first_of_each_text(
    found: list[tuple[Quote, ArticleInfo]],
) -> list[tuple[Quote, ArticleInfo]]:
    """One of each quoted text, the first: the same words carried by several articles (a wire
    story, a quote repeated in each day's report) are one piece of evidence."""
    seen: set[str] = set()
    unique = []
    for quote, info in found:
        if quote.text not in seen:
            seen.add(quote.text)
            unique.append((quote, info))
    return unique


def _dated(filters: Filters | None, q: Question) -> tuple[Filters, str | None]:
    """The search filters narrowed to the question's dates and its as-of day, and how the answer
    names them ("articles of 3-9 June 2024"), or None when no date applies."""
    filters = filters or Filters()
    since, until = filters.since, filters.until
    label = None
    if q.dates is not None:
        if q.dates.since is not None:
            since = max(filter(None, (since, q.dates.since.isoformat())))
        if q.dates.until is not None:
            until = min(filter(None, (until, q.dates.until.isoformat())))
        label = q.dates.label
    if q.as_of is not None:
        until = min(filter(None, (until, q.as_of.isoformat())))
        label = label or f"articles up to {q.as_of.isoformat()}"
    if q.dates is not None and since and until and since <= until:
        label = f"articles of {span(date.fromisoformat(since), date.fromisoformat(until))}"
    return replace(filters, since=since, until=until), label


def _overlap(a: _Group, b: _Group) -> float:
    """The share of the shorter group's words that the other holds: near 1 for a repeat."""
    wa, wb = stems(a.text), stems(b.text)
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def _passes(info: ArticleInfo, filters: Filters | None) -> bool:
    """Whether an article passes search filters (outlet, published date range)."""
    if filters is None or filters.is_empty():
        return True
    sources = {x.casefold() for x in filters.sources}
    if sources and (info.source or "").casefold() not in sources:
        return False
    day = (info.published or "")[:10]
    if (filters.since or filters.until) and not day:
        return False
    return not ((filters.since and day < filters.since) or (filters.until and day > filters.until))


def _build(question: str, groups: list[_Group], offset: int, more: bool) -> Answer:
    """Number citations in order of appearance and lay out the sentences of each group."""
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    for group in groups:
        passage = group.passage
        n = next((c.n for c in citations if c.passage.id == passage.id), len(citations) + 1)
        if n > len(citations):
            citations.append(
                Citation(n, group.article.info, passage, group.score, group.article.also)
            )
        for i in range(group.first, group.last + 1):
            s = group.article.sentences[i]
            sentences.append(
                AnswerSentence(s.text, n, s.start - passage.start, i == group.evidence)
            )
    return Answer(
        question,
        tuple(sentences),
        tuple(citations),
        False,
        offset=offset,
        groups=len(groups),
        more=more,
    )


def verify(answer: Answer) -> Answer:
    """Drop any sentence that is not the exact text at its offset in the passage it cites, and any
    citation whose passage does not belong to its article. Runs on every answer."""
    by_number = {
        c.n: c for c in answer.citations if c.passage.article_id == c.article.id and c.passage.text
    }
    kept = tuple(
        s
        for s in answer.sentences
        if s.citation in by_number
        and s.text
        and by_number[s.citation].passage.text[s.start : s.start + len(s.text)] == s.text
    )
    cited = {s.citation for s in kept}
    citations = tuple(c for c in answer.citations if c.n in cited)
    if not kept:
        return replace(answer, sentences=(), citations=(), abstained=True)
    return replace(answer, sentences=kept, citations=citations)
