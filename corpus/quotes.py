"""Who said what: the quotes in an article and the people (or bodies) who said them.

Each quote is attributed by the first rule that applies:

1. A cue right after the closing mark, in the same sentence: “…,” X said / “…,” said X /
   “…,” he said / “…,” spokeswoman X told journalists / “…”, according to X.
2. The nearest cue before the opening mark, in the sentence where the quote starts: X said: “…” /
   X said “…” / X said China “will not …” (a partial quote in reported speech) / according to X,
   “…” / her call for nations to “…” (a possessive speech noun just before the quote).
3. A continuation: a quote that is a whole sentence or more, with no cue of its own, right after a
   sentence with an attributed quote (or a cue) belongs to the same speaker, as news style has it;
   so does a paragraph whose quote is left open, running on into the next paragraph's quote.

Cues: said, says, told (reporters|journalists|…), added, warned, tweeted, wrote, asked, noted,
insisted, clarified, according to, … A participle after a comma (", saying", ", adding") takes the
subject of its main clause; "X, who warned" takes X; "—…—" and ", …," asides are skipped.

Pronouns (he/she/it/they, his/her/its/their) resolve to the most recent compatible speaker or
subject before the quote: looking back sentence by sentence from where the quote starts (a quote's
own words never count), first the speakers already attributed in that sentence (latest first), then
its subject (its first name), then its other names (latest first). He/she need a person not known
to be of the other gender (known from Mr/Ms, spokesman/spokeswoman, common first names, and earlier
he/she attributions); it/they need an organisation or a place. A description ("the minister
said", "the ministry said") resolves the same way, to a name carrying that word or title.

Scare quotes: a quoted word or phrase is attributed exactly when a cue governs it by rules 1-2
(Lavrov saying Russia saw the proposal “negatively” is Lavrov's); a quoted term that no cue governs
(the US has pursued a “maximum pressure” campaign) is nobody's quote and is skipped.

Names: titles and roles are stripped ("Foreign Minister Sergei Lavrov", "Mr Lavrov" -> "Sergei
Lavrov") and each speaker is given as the fullest form of the name in the article
(`canonical_speakers`). Across articles `same_person` joins a surname to a full name, never a first
name: "Lavrov" is "Sergei Lavrov", "Kim" is not "Kim Jong Un", "Kim Jong Un" is "Kim Jong-Un".
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from corpus.names import (
    ACRONYMS,
    ALIASES,
    CALENDAR,
    DEMONYMS,
    FEMALE_ROLES,
    FEMALE_TITLES,
    FIRST_NAMES,
    FIRST_NAMES_FEMALE,
    FIRST_NAMES_MALE,
    GROUPS,
    MALE_ROLES,
    MALE_TITLES,
    ORG_HEADS,
    PLACES,
    ROLES,
    STARTERS,
    TITLES,
    words,
)
from corpus.split import paragraphs, sentences
from corpus.types import Article


@dataclass(frozen=True)
class Quote:
    """Quoted words and their speaker; `article.text[start:end] == text`."""

    article_id: str
    speaker: str
    text: str
    start: int
    end: int
    sentence_start: int  # the whole sentence(s) carrying the quote
    sentence_end: int
    cue: str  # what attributed it: "said", "told reporters", "according to", "continued", …


@dataclass(frozen=True)
class SpeakerQuestion:
    """A question about what someone said: the known speaker it names, and its topic if any."""

    speaker: str
    topic: str | None = None


_VERBS = """said says say told tells added adds warned warns tweeted tweets wrote writes asked asks
    noted insisted insists stated declared argued explained complained clarified claimed announced
    urged replied responded recalled acknowledged admitted conceded posted remarked observed
    cautioned predicted promised pledged vowed threatened boasted joked quipped countered"""
_PARTICIPLES = """saying adding telling noting insisting arguing explaining claiming urging
    tweeting writing asking stating declaring"""
_AUDIENCE = r"(?:reporters|journalists|the press|a (?:news|press) conference|lawmakers|parliament)"
_CUE = re.compile(
    rf"\b(?:[Aa]ccording to|told(?:\s+{_AUDIENCE})?|"
    + "|".join(sorted((_VERBS + " " + _PARTICIPLES).split(), key=len, reverse=True))
    + r")\b"
)
_PARTICIPLE_SET = words(_PARTICIPLES)
_POSSESSIVE_CUE = re.compile(
    r"\b(?P<owner>[Hh]is|[Hh]er|[Tt]heir|[Ii]ts|[A-Z][\w-]*(?: [A-Z][\w-]*)*[’']s)"
    r"\s+(?:[a-z-]+\s+)?(?:call|calls|warning|demand|appeal|plea|pledge|promise|vow|threat|remarks|"
    r"comments|statement|words|message|claim|insistence|tweet|description|assessment)\b"
)
_TOKEN = (
    r"(?:(?:Mr|Mrs|Ms|Dr|Gen|Sen|Rep|Gov|Lt|Col|Prof|Capt|Sgt|Adm)\.|[A-Z](?:\.[A-Z])+\.?"
    r"|[A-Z][\w-]*(?:[’'][A-Z][\w-]*)?)"
)
_RUN = re.compile(rf"{_TOKEN}(?:[ \u00a0]+(?:of[ \u00a0]+(?:the[ \u00a0]+)?)?{_TOKEN})*")
_RUN_TOKEN = re.compile(rf"{_TOKEN}|of|the")
_PRONOUN = re.compile(r"(?i:he|she|they|it|his|her|their|its|who)")
_ADVERBIAL = re.compile(
    r"(?:\s+(?:later|also|then|now|recently|earlier|again|previously|repeatedly|separately|once|"
    r"reportedly|further|still|had|has|have|was|is|yesterday|today|newspaper|agency|daily|"
    r"broadcaster|on (?:Twitter|" + "|".join(sorted(CALENDAR)) + r")|"
    r"in an? (?:statement|tweet|post|interview|editorial|email|speech)))+\s*$"
)
_ASIDE = re.compile(r"(?:\s*—[^—“”\"]*—|\s*–[^–“”\"]*–|\s*\([^()]*\)|,[^,“”\"]{1,80},)\s*$")
_ORG_MENTION = re.compile(
    r"[A-Z][\w-]*[’']s\s+(?:[a-z-]+\s+){0,3}?(?:ministry|government|embassy|military|army|"
    r"foreign office|parliament|cabinet|state media|news agency|central bank)\b"
)
_ORG_NOUNS = words(
    "ministry government newspaper agency embassy army military company group party committee"
)
_DESCRIPTION = re.compile(
    r"\b[Tt]he\s+(?:[a-z-]+\s+){0,2}(?P<noun>"
    + "|".join(sorted(ROLES | _ORG_NOUNS | words("official premier mayor governor")))
    + r")\s*$"
)
_OPEN_MARKS = {"“": "”", '"': '"'}

Span = tuple[int, int]


@dataclass
class _Name:
    """A name in the article outside quotes, titles stripped."""

    start: int
    end: int
    raw: str  # as written, titles included
    name: str
    kind: str  # "person", "org", "place", "adj", or "" when unknown
    gender: str = ""  # "m", "f" or ""
    roles: tuple[str, ...] = ()  # titles and role words written with it ("minister", "gen")


@dataclass
class _QuoteSpan:
    open: int  # the index of the opening mark
    close: int  # the index of the closing mark (or the paragraph end when unclosed)
    first: int  # sentence indexes
    last: int
    speaker: str = ""
    cue: str = ""


@dataclass
class _State:
    """What attribution knows as it walks an article sentence by sentence."""

    text: str
    spans: list[Span]
    names: list[_Name]
    by_sentence: list[list[_Name]]
    canon: dict[str, str]
    kinds: dict[str, str]
    genders: dict[str, str]
    roles: dict[str, set[str]]
    speakers: list[list[tuple[int, str]]] = field(default_factory=list)  # per sentence


# ---- names ----------------------------------------------------------------------------------


def _strip_titles(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Leading titles removed ("Foreign Minister", "Secretary of State", "Mr"), and the titles."""
    titles: list[str] = []
    i = 0
    while i < len(tokens) - 1 and tokens[i].lower().rstrip(".") in TITLES:
        titles.append(tokens[i].lower().rstrip("."))
        i += 1
        if i < len(tokens) - 2 and tokens[i] == "of":
            i += 2 if tokens[i + 1] != "the" else 3
    rest = tokens[i:]
    if titles and (not rest or rest[-1].lower() in ORG_HEADS and len(rest) == 1):
        return tokens, []  # "Foreign Office" is a body, not an office-holder called "Office"
    return rest, titles


def _pieces(match: re.Match[str]) -> Iterable[list[re.Match[str]]]:
    """A capitalised run cut into names: at acronyms, demonyms and dates ("UN Nikki Haley")."""
    piece: list[re.Match[str]] = []
    for tok in _RUN_TOKEN.finditer(match.group(0)):
        word = tok.group(0)
        if word in CALENDAR:
            yield piece
            piece = []
            continue
        piece.append(tok)
        if (word in ACRONYMS or word.lower() in DEMONYMS) and len(piece) >= 1:
            yield piece
            piece = []
    yield piece


def _kind(tokens: list[str], titles: list[str], role: str) -> str:
    last = tokens[-1].lower()
    if last in DEMONYMS:
        return "adj"
    if last in ORG_HEADS or len(tokens) == 1 and tokens[0].isupper():
        return "org"
    if titles or role or tokens[0].lower() in FIRST_NAMES:
        return "person"
    if last in PLACES:
        return "place"
    return "person" if len(tokens) >= 2 else ""


def _gender(tokens: list[str], titles: list[str], role: str) -> str:
    if role in FEMALE_ROLES or any(t in FEMALE_TITLES for t in titles):
        return "f"
    if role in MALE_ROLES or any(t in MALE_TITLES for t in titles):
        return "m"
    first = tokens[0].lower()
    return "f" if first in FIRST_NAMES_FEMALE else "m" if first in FIRST_NAMES_MALE else ""


_ROLE_BEFORE = re.compile(r"\b([a-z-]+)\s+$")


def _names(text: str, quoted: list[Span]) -> list[_Name]:
    names = []
    for match in _RUN.finditer(text):
        base = match.start()
        if _inside(base, quoted):
            continue
        for piece in _pieces(match):
            while piece and (piece[0].group(0) in STARTERS or piece[0].group(0) in ("of", "the")):
                piece = piece[1:]
            while piece and piece[-1].group(0) in ("of", "the"):
                piece = piece[:-1]
            if not piece:
                continue
            raw_tokens = [t.group(0) for t in piece]
            tokens, titles = _strip_titles(raw_tokens)
            start, end = base + piece[0].start(), base + piece[-1].end()
            before = _ROLE_BEFORE.search(text, max(0, start - 30), start)
            role = before.group(1) if before and before.group(1) in ROLES else ""
            names.append(
                _Name(
                    start=start + len(" ".join(raw_tokens[: len(raw_tokens) - len(tokens)])),
                    end=end,
                    raw=text[start:end],
                    name=" ".join(tokens),
                    kind=_kind(tokens, titles, role),
                    gender=_gender(tokens, titles, role),
                    roles=(*titles, role) if role else tuple(titles),
                )
            )
    for match in _ORG_MENTION.finditer(text):  # "China’s foreign ministry"
        if not _inside(match.start(), quoted):
            phrase = match.group(0)
            names.append(_Name(match.start(), match.end(), phrase, phrase, "org"))
    return sorted(names, key=lambda n: (n.start, -n.end))


@lru_cache(maxsize=4096)
def speaker_key(name: str) -> str:
    """A comparable form of a name: no titles, possessive, dots, hyphens or case; US = United
    States."""
    text = unicodedata.normalize("NFKC", name).replace("’", "'").replace(".", "")
    text = re.sub(r"'s\b", "", text).replace("-", " ")
    tokens = text.split()
    while tokens and tokens[0].lower() == "the":
        tokens = tokens[1:]
    tokens, _ = _strip_titles(tokens)
    key = " ".join(tokens).lower()
    return ALIASES.get(key, key)


@lru_cache(maxsize=8192)
def same_person(a: str, b: str) -> bool:
    """Whether two names can be the same speaker: equal keys, a surname and a full name ending in
    it ("Lavrov", "Sergei Lavrov"), or the same first and last names ("H.R. McMaster",
    "Herbert R. McMaster"). A first name alone never matches ("Kim" is not "Kim Jong Un")."""
    ta, tb = speaker_key(a).split(), speaker_key(b).split()
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    short, long = sorted((ta, tb), key=len)
    if len(short) == 1:
        return (
            len(long) > 1
            and short[0] == long[-1]
            and long[-1] not in ORG_HEADS
            and long[-1] not in PLACES
            and short[0] not in FIRST_NAMES
        )
    first_a, first_b = ta[0], tb[0]
    initials = len(first_a) <= 2 or len(first_b) <= 2
    return ta[-1] == tb[-1] and (first_a == first_b or initials and first_a[0] == first_b[0])


def _length(name: str) -> int:
    return len(speaker_key(name).split())


def _canonical_map(names: Iterable[str]) -> dict[str, str]:
    """Each name mapped to the fullest name in the list it can be; kept as is when ambiguous."""
    listed = [n for n in names if n]
    counts = Counter(listed)
    by_last: dict[str, list[str]] = {}
    for n in counts:  # same_person needs the same last word, so only those are compared
        key = speaker_key(n).split()
        if key:
            by_last.setdefault(key[-1], []).append(n)
    canon: dict[str, str] = {}
    for n in counts:
        key = speaker_key(n).split()
        matches = [m for m in by_last.get(key[-1], []) if same_person(n, m)] if key else []
        if not matches:
            canon[n] = n
            continue
        best = max(matches, key=lambda m: (_length(m), len(m), counts[m]))
        fullest = [m for m in matches if _length(m) == _length(best)]
        ambiguous = any(not same_person(best, m) for m in fullest)
        canon[n] = n if ambiguous else best
    return canon


def canonical_speakers(article: Article) -> dict[str, str]:
    """Every name in the article, as written and without titles, mapped to its fullest form
    ("Mr Tillerson" and "Tillerson" -> "Rex Tillerson"; "US" -> "United States" when the article
    spells it out)."""
    names = _names(article.text, _quote_marks(article.text))
    canon = _canonical_map(n.name for n in names)
    result = {n.name: canon[n.name] for n in names}
    result.update({n.raw: canon[n.name] for n in names})
    return result


# ---- quotes and cues ------------------------------------------------------------------------


def _inside(pos: int, quoted: list[Span]) -> bool:
    return any(o <= pos <= c for o, c in quoted)


def _quote_marks(text: str) -> list[Span]:
    """(open, close) indexes of each pair of quote marks; an unclosed quote ends its paragraph."""
    pairs: list[Span] = []
    for p_start, p_end in paragraphs(text):
        pos = p_start
        while pos < p_end:
            opens = [i for m in _OPEN_MARKS if (i := text.find(m, pos, p_end)) >= 0]
            if not opens:
                break
            o = min(opens)
            c = text.find(_OPEN_MARKS[text[o]], o + 1, p_end)
            if text[o] == "“":
                reopen = text.find("“", o + 1, p_end)
                if c < 0 or 0 <= reopen < c:
                    c = reopen if reopen >= 0 else p_end
            elif c < 0:
                c = p_end
            pairs.append((o, c))
            pos = c + 1
    return pairs


def _words_in(span: str) -> int:
    return len(re.findall(r"[\w’'-]+", span))


def _trimmed(text: str, open_: int, close: int) -> Span:
    start, end = open_ + 1, close
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == ","):
        end -= 1
    return start, end


# ---- attribution ----------------------------------------------------------------------------


def _name_ending_at(state: _State, end: int) -> _Name | None:
    return next((n for n in state.names if n.end == end), None)


def _trim_region(state: _State, region_start: int, end: int) -> tuple[int, _Name | None]:
    """The end of a cue's subject once trailing adverbials ("later", "on Friday") and asides
    (", US ambassador to the UN,", "— who … —") are cut; or the name an aside consists of
    ("the prime minister, Boris Johnson, said")."""
    text = state.text
    for _ in range(6):
        region = text[region_start:end].rstrip()
        trimmed = region
        adverbial = _ADVERBIAL.search(trimmed)
        if adverbial:
            trimmed = trimmed[: adverbial.start()].rstrip()
        aside = _ASIDE.search(trimmed)
        if aside:
            inner = _name_ending_at(state, region_start + len(trimmed) - 1)
            inner_start = inner.end - len(inner.raw) if inner else 0
            if inner and not text[region_start + aside.start() : inner_start].strip(" ,"):
                return end, inner
            trimmed = trimmed[: aside.start()].rstrip()
        if len(trimmed) == len(region):
            return region_start + len(region), None
        end = region_start + len(trimmed)
    return end, None


def _subject_before(state: _State, region_start: int, cue_start: int) -> tuple[str, int] | None:
    """The speaker written before a cue, with its position: a name (canonical), an organisation
    phrase, a pronoun ("he") or a description ("the ministry") for `_speaker` to resolve."""
    text = state.text
    end, inner = _trim_region(state, region_start, cue_start)
    if inner:
        return state.canon.get(inner.name, inner.name), inner.start
    region = text[region_start:end]
    pron = re.search(r"(?:^|\s|—)(" + _PRONOUN.pattern + r")$", region)
    if pron:
        word = pron.group(1).lower()
        if word == "who":
            before = text[region_start : region_start + pron.start(1)].rstrip().rstrip(",")
            return _subject_before(state, region_start, region_start + len(before))
        return word, region_start + pron.start(1)
    described = _DESCRIPTION.search(region)
    if described:
        return f"the {described.group('noun')}", region_start + described.start()
    name = _name_ending_at(state, end)
    if name and name.kind != "adj" and name.start >= region_start:
        return state.canon.get(name.name, name.name), name.start
    return None


def _subject_after(state: _State, cue_end: int, limit: int) -> tuple[str, int] | None:
    """The speaker written after a cue ("said Gen McMaster", "according to the Global Times")."""
    text = state.text
    stop = re.compile(r"[,.;:—“”\"]").search(text, cue_end, limit)
    segment_end = stop.start() if stop else limit
    pron = re.match(r"\s+(he|she|they|it)\b", text[cue_end:segment_end])
    if pron:
        return pron.group(1), cue_end + pron.start(1)
    inside = [n for n in state.names if cue_end <= n.start and n.end <= segment_end]
    for i, n in enumerate(inside):
        gap = text[cue_end : n.start] if i == 0 else ""
        if i == 0 and _words_in(gap) > 4:
            return None
        adjacent = i + 1 < len(inside) and not text[n.end : inside[i + 1].start].strip()
        if n.kind == "adj" or adjacent and n.name in ACRONYMS:
            continue
        return state.canon.get(n.name, n.name), n.start
    return None


def _compatible(state: _State, name: str, pronoun: str, strict: bool) -> bool:
    """Whether `name` can be what a pronoun or a description ("the ministry") refers to; a strict
    match needs a known kind (and, for a description, the noun in the name or its titles)."""
    kind = state.kinds.get(name, "")
    if pronoun.startswith("the "):
        noun = pronoun.removeprefix("the ")
        if strict:
            return noun in name.lower() or noun in state.roles.get(name, set())
        return kind in (("org", "place") if noun in _ORG_NOUNS else ("person",))
    if pronoun in ("it", "its", "they", "their"):
        return kind in ("org", "place") or not strict and kind == ""
    want = "f" if pronoun in ("she", "her") else "m"
    gender = state.genders.get(name, "")
    if gender and gender != want:
        return False
    return kind == "person" or not strict and kind == ""


def _resolve(state: _State, pronoun: str, sentence: int, pos: int) -> str | None:
    """The most recent compatible speaker or subject before `pos` (see the module docstring)."""
    for strict in (True, False):
        for j in range(sentence, max(-1, sentence - 5), -1):
            said = sorted((p, s) for p, s in state.speakers[j] if j < sentence or p < pos)
            named = [
                full
                for n in state.by_sentence[j]
                if n.kind != "adj"
                and (j < sentence or n.end <= pos)
                and _compatible(state, full := state.canon.get(n.name, n.name), pronoun, strict)
            ]
            candidates = [s for _, s in reversed(said)] + named[:1] + named[:0:-1]
            found = next((c for c in candidates if _compatible(state, c, pronoun, strict)), None)
            if found:
                if pronoun in ("he", "his", "she", "her") and not state.genders.get(found):
                    state.genders[found] = "f" if pronoun in ("she", "her") else "m"
                return found
    return None


def _speaker(state: _State, found: tuple[str, int] | None, sentence: int) -> str | None:
    if found is None:
        return None
    who, pos = found
    if _PRONOUN.fullmatch(who) or who.startswith("the "):
        return _resolve(state, who.lower(), sentence, pos)
    return who


def _sentence_subject(state: _State, sentence: int, before: int) -> str | None:
    """The subject of a sentence's main clause, for a participle cue (", saying …")."""
    said = [s for p, s in state.speakers[sentence] if p < before]
    if said:
        return said[-1]
    start = state.spans[sentence][0]
    lead = re.match(r"(?:(?:But|And|Then|Later),?\s+)?(He|She|It|They)\b", state.text[start:before])
    if lead:
        return _resolve(state, lead.group(1).lower(), sentence, start)
    names = [n for n in state.by_sentence[sentence] if n.kind != "adj" and n.end <= before]
    return state.canon.get(names[0].name, names[0].name) if names else None


def _cue_text(match: re.Match[str]) -> str:
    return " ".join(match.group(0).split()).replace("According", "according")


def _cue_speaker(
    state: _State, cue: re.Match[str], si: int, quotes: list[_QuoteSpan]
) -> tuple[str | None, _QuoteSpan | None]:
    """The speaker of one cue, and the quote it attributes by rule 1 if any."""
    text = state.text
    s_start, s_end = state.spans[si]
    closes = [q for q in quotes if s_start <= q.close < cue.start() and q.last == si]
    last = closes[-1] if closes else None
    direct = last is not None and not text[last.close + 1 : cue.start()].strip(" ,—–-\u00a0")
    region_start = max([s_start] + [q.close + 1 for q in quotes if q.close < cue.start()])
    word = _cue_text(cue)
    participle = word in _PARTICIPLE_SET
    found: tuple[str, int] | None
    if word == "according to" or direct and not participle:
        found = _subject_after(state, cue.end(), s_end)
        found = found or _subject_before(state, region_start, cue.start())
    elif participle and text[region_start : cue.start()].rstrip().endswith(","):
        subject = _sentence_subject(state, si, cue.start())
        found = (subject, cue.start()) if subject else None
    else:
        found = _subject_before(state, region_start, cue.start())
    # Rule 1: the cue follows the quote, with at most a short subject between them ("“…,” said
    # X", "“…,” spokeswoman Lee Eugene told", "“…,” the prime minister, Boris Johnson, said").
    between = text[last.close + 1 : found[1]] if last and found else ""
    near = found is not None and (direct or _words_in(between) <= 5)
    attributes = last if last and near and not (participle and direct) else None
    if attributes and found:  # a pronoun after a quote looks back from where the quote starts
        return _speaker(state, (found[0], attributes.open), attributes.first), attributes
    return _speaker(state, found, si), attributes


def _attribute(state: _State, quotes: list[_QuoteSpan], article_id: str) -> list[Quote]:
    """Walk the sentences in order: resolve each cue's speaker, then attribute the quotes that
    end in the sentence (rules 1, 2, 3), so that later pronouns can look back at them."""
    text, spans = state.text, state.spans
    quoted = [(q.open, q.close) for q in quotes]
    cues = [m for m in _CUE.finditer(text) if not _inside(m.start(), quoted)]
    owners = [m for m in _POSSESSIVE_CUE.finditer(text) if not _inside(m.start(), quoted)]
    cue_speaker: dict[int, str] = {}
    for si, (s_start, s_end) in enumerate(spans):
        for cue in [c for c in cues if s_start <= c.start() < s_end]:
            speaker, attributed = _cue_speaker(state, cue, si, quotes)
            if not speaker:
                continue
            cue_speaker[cue.start()] = speaker
            state.speakers[si].append((cue.start(), speaker))
            if attributed and not attributed.speaker:
                attributed.speaker, attributed.cue = speaker, _cue_text(cue)
        for owner in [o for o in owners if s_start <= o.start() < s_end]:
            who = re.sub(r"[’']s$", "", owner.group("owner"))
            speaker = _speaker(state, (state.canon.get(who, who), owner.start()), si)
            if speaker:
                cue_speaker[owner.end()] = speaker
                state.speakers[si].append((owner.start(), speaker))
        for q in [q for q in quotes if q.last == si and not q.speaker]:
            _attribute_before(state, q, cues, owners, cue_speaker)
            if not q.speaker:
                _continue(state, q, quotes)
    for q, following in reversed(list(zip(quotes, quotes[1:], strict=False))):
        unclosed = q.close >= len(text) or text[q.close] not in '”"'
        if unclosed and not q.speaker and following.speaker and following.first == q.last + 1:
            q.speaker, q.cue = following.speaker, "continued"  # a quote running on over paragraphs
    return [_quote(text, spans, q, article_id) for q in quotes if q.speaker]


def _attribute_before(
    state: _State,
    q: _QuoteSpan,
    cues: list[re.Match[str]],
    owners: list[re.Match[str]],
    cue_speaker: dict[int, str],
) -> None:
    """Rule 2: the nearest cue before the opening mark in the sentence where the quote starts."""
    s_start = state.spans[q.first][0]
    before = [(c.end(), c.start(), _cue_text(c)) for c in cues if s_start <= c.start() < q.open]
    before += [
        (o.end(), o.end(), o.group(0).split()[-1])
        for o in owners
        if s_start <= o.start() and o.end() <= q.open and q.open - o.end() <= 40
    ]
    for _, key, cue in sorted(before, reverse=True):
        if key in cue_speaker:
            q.speaker, q.cue = cue_speaker[key], cue
            return


def _continue(state: _State, q: _QuoteSpan, quotes: list[_QuoteSpan]) -> None:
    """Rule 3: a whole-sentence quote with no cue continues the previous sentence's speaker."""
    text = state.text
    s_start, _ = state.spans[q.first]
    _, s_end = state.spans[q.last]
    whole = q.open == s_start and not text[q.close + 1 : s_end].strip(' .,!?”"')
    if not whole or q.first == 0:
        return
    previous = [p for p in quotes if p.last == q.first - 1 and p.speaker]
    if previous:
        q.speaker, q.cue = previous[-1].speaker, "continued"
    elif state.speakers[q.first - 1]:
        q.speaker, q.cue = state.speakers[q.first - 1][-1][1], "continued"
    if q.speaker:
        state.speakers[q.last].append((q.open, q.speaker))


def _quote(text: str, spans: list[Span], q: _QuoteSpan, article_id: str) -> Quote:
    start, end = _trimmed(text, q.open, q.close)
    return Quote(
        article_id=article_id,
        speaker=q.speaker,
        text=text[start:end],
        start=start,
        end=end,
        sentence_start=spans[q.first][0],
        sentence_end=spans[q.last][1],
        cue=q.cue,
    )


def _index(starts: list[int], pos: int) -> int:
    """The index of the sentence holding `pos`."""
    return max(0, bisect_right(starts, pos) - 1)


def _state(text: str, spans: list[Span], marks: list[Span]) -> _State:
    """Names outside quotes, joined to their fullest forms, with what is known of each."""
    starts = [s for s, _ in spans]
    names = _names(text, marks)
    canon = _canonical_map([n.name for n in names])
    kinds: dict[str, str] = {}
    genders: dict[str, str] = {}
    roles: dict[str, set[str]] = {}
    by_sentence: list[list[_Name]] = [[] for _ in spans]
    for n in names:
        full = canon[n.name]
        if n.kind == "person" or n.kind and kinds.get(full, "") in ("", "place"):
            kinds[full] = n.kind  # "Lavrov" is a person once "Sergei Lavrov" is
        genders[full] = genders.get(full) or n.gender
        roles.setdefault(full, set()).update(n.roles)
        by_sentence[_index(starts, n.start)].append(n)
    return _State(text, spans, names, by_sentence, canon, kinds, genders, roles)


def extract_quotes(article: Article) -> list[Quote]:
    """Every attributed quote in the article, in order (see the module docstring for the rules)."""
    text = article.text
    spans = sentences(text)
    if not spans:
        return []
    starts = [s for s, _ in spans]
    marks = _quote_marks(text)
    quotes = [
        _QuoteSpan(o, c, _index(starts, o), _index(starts, max(o, c - 1)))
        for o, c in marks
        if _trimmed(text, o, c)[0] < _trimmed(text, o, c)[1]
    ]
    state = _state(text, spans, marks)
    state.speakers = [[] for _ in spans]
    return _attribute(state, quotes, article.id)


# ---- questions ------------------------------------------------------------------------------

_TOPIC = r"(?:\s+(?:about|on|regarding|concerning|over|of)\s+(?P<topic>[^?.!]+?))?"
_SPEECH = (
    r"(?:say|said|says|tell|told|tweet|tweeted|write|wrote|claim|claimed|warn|warned|comment|"
    r"commented|mention|mentioned|speak|spoken|spoke|talk|talked|state|stated)"
)
_CAPITAL_WORD = r"(?-i:[A-Z][\w.’']*)"  # case-sensitive inside the case-blind patterns
_AUDIENCE_ASKED = (
    rf"(?:\s+(?:reporters|journalists|the press|lawmakers|parliament|"
    rf"{_CAPITAL_WORD}(?:\s+{_CAPITAL_WORD})*))?"
)  # "tell reporters", "tell Congress", "tell Fox News"
_QUESTIONS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bwhat (?:did|does|do|has|have|had) (?P<name>.+?) (?:call|calls|called|dub|dubbed|"
        r"label|labell?ed|name|named) (?P<topic>[^?.!]+?)\s*[?.!]*$",
        rf"\bhow (?:did|does|do|has|have|had) (?P<name>.+?) (?:describe|described|characteri[sz]e|"
        rf"view|react|reacted|respond|responded|see)\b(?:\s+(?:to|on))?{_TOPIC}"
        rf"(?:\s+(?P<topic2>[^?.!]+?))?\s*[?.!]*$",
        rf"\b(?:where|when) (?:did|does|do|has|have|had) (?P<name>.+?) (?:{_SPEECH}|make|made)\b"
        rf"{_AUDIENCE_ASKED}(?:\s+(?:the|those|these|his|her|their)\s+(?:remarks?|comments?|"
        rf"statements?|speech))?{_TOPIC}\s*[?.!]*$",
        rf"\bwhat (?:did|does|do|has|have|had) (?P<name>.+?) (?:tell|told)\b{_AUDIENCE_ASKED}"
        rf"{_TOPIC}\s*[?.!]*$",
        rf"\bwhat (?:did|does|do|has|have|had) (?P<name>.+?) {_SPEECH}\b(?:\s+(?:reporters|"
        rf"journalists|the press))?(?:\s+anything)?{_TOPIC}\s*[?.!]*$",
        rf"\b(?:did|has|have|does|do) (?P<name>.+?) {_SPEECH}\b(?:\s+anything)?{_TOPIC}\s*[?.!]*$",
        rf"\bwhat (?P<name>.+?) (?:said|says|told \w+|tweeted|wrote){_TOPIC}\s*[?.!]*$",
        r"\b(?P<name>[^?,]+?)[’']s?\s+(?:comments?|remarks?|quotes?|words|statements?|tweets?|"
        r"views?|response|reaction)(?:\s+(?:on|about|regarding|concerning|to)\s+"
        r"(?P<topic>[^?.!]+?))?\s*[?.!]*$",
        r"\b(?:quotes?|comments?|remarks?|statements?) (?:from|by) (?P<name>[^?,]+?)"
        + _TOPIC
        + r"\s*[?.!]*$",
        # "Why is an embargo dangerous, according to the Global Times?" and the other way round
        r"^(?P<topic>[^?!]+?),?\s+according to (?P<name>[^?,]+?)\s*[?.!]*$",
        r"^according to (?P<name>[^?,]+?),\s*(?P<topic>[^?!]+?)\s*[?.!]*$",
    )
]


@lru_cache(maxsize=2)  # one archive generation's speakers, read by every question
def _by_last_word(speakers: tuple[str, ...]) -> dict[str, list[str]]:
    """Speakers by the last word of their key, in first-seen order: `same_person` holds only
    for names whose keys end in the same word, so only those are compared. A group or a bare
    role ("Authorities", "The President") is left out: attributed quotes, but no one a question
    can name, since every article has its own."""
    out: dict[str, list[str]] = {}
    for speaker in dict.fromkeys(speakers):
        words = speaker_key(speaker).split()
        if words and not all(w in GROUPS or w in ROLES or w in TITLES for w in words):
            out.setdefault(words[-1], []).append(speaker)
    return out


def speaker_in_question(question: str, speakers: Iterable[str]) -> SpeakerQuestion | None:
    """The known speaker a question asks about ("What did Lavrov say about sanctions?" ->
    Sergei Lavrov, "sanctions"), or None when it asks about no one's words, no known speaker, or a
    group or bare role ("the authorities", "McDonald's president": answered as any question)."""
    text = " ".join(question.replace("’", "'").split())
    by_last: dict[str, list[str]] | None = None
    for pattern in _QUESTIONS:
        match = pattern.search(text)
        if not match:
            continue
        name = re.sub(r"^(?:what|did|has|have|does|do)\s+", "", match.group("name"), flags=re.I)
        words = speaker_key(name).split()
        if not words:
            continue
        if by_last is None:
            by_last = _by_last_word(tuple(speakers))
        for speaker in by_last.get(words[-1], ()):
            if same_person(name, speaker):
                groups = match.groupdict()
                topic = groups.get("topic") or groups.get("topic2")
                return SpeakerQuestion(speaker, topic.strip() if topic else None)
    return None
