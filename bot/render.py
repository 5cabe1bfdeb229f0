"""Answers as JSON and as plain text; the terminal and Telegram renderers build on these pieces."""

from __future__ import annotations

from datetime import date

from bot.answer import NO_ANSWER, Answer, Citation
from corpus.relative_dates import relative_dates
from corpus.types import ArticleInfo, Passage


def where(article: ArticleInfo) -> str:
    """The link of an article, or where it came from when it has none."""
    return article.url or article.origin


def byline(article: ArticleInfo) -> str:
    """'Title — Outlet, 2017-12-01' with whatever of outlet and date is known."""
    details = ", ".join(x for x in (article.source, (article.published or "")[:10]) if x)
    return f"{article.title} — {details}" if details else article.title


def page_label(article: ArticleInfo, passage: Passage) -> str:
    """'p. 4' or 'pp. 4–5' for a passage of a paged document (a PDF); '' for any other."""
    pages = article.page_range(passage.start, passage.end)
    if pages is None:
        return ""
    first, last = pages
    return f"p. {first}" if first == last else f"pp. {first}–{last}"


def cited_byline(c: Citation) -> str:
    """The byline of a citation, with the page it quotes where the article has pages."""
    page = page_label(c.article, c.passage)
    return f"{byline(c.article)}, {page}" if page else byline(c.article)


def excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"


def citation_json(c: Citation) -> dict[str, object]:
    return {
        "n": c.n,
        "article_id": c.article.id,
        "title": c.article.title,
        "source": c.article.source,
        "url": c.article.url,
        "published": c.article.published,
        "origin": c.article.origin,
        "passage_id": c.passage.id,
        "passage": c.passage.text,
        "pages": list(c.article.page_range(c.passage.start, c.passage.end) or []),
        "score": round(c.score, 4),
        "also": [
            {
                "article_id": a.id,
                "title": a.title,
                "source": a.source,
                "url": a.url,
                "published": a.published,
                "origin": a.origin,
            }
            for a in c.also
        ],
    }


def answer_json(answer: Answer) -> dict[str, object]:
    """The `ask --json` object."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "sentences": [
            {"text": s.text, "citation": s.citation, "evidence": s.evidence}
            for s in answer.sentences
        ],
        "citations": [citation_json(c) for c in answer.citations],
        "abstained": answer.abstained,
        "unknown": list(answer.unknown),
        "speaker": answer.speaker,
        "understood_as": answer.understood_as or answer.question,
        "dates": answer.dates,
        "date_notes": date_notes(answer),
        "related": [citation_json(c) for c in answer.related],
        "more": answer.more,
        "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
    }


def abstention_lines(answer: Answer) -> list[str]:
    lines = [NO_ANSWER]
    if answer.speaker:
        lines.append(f"It quotes {answer.speaker}, but not on that; their closest quotes follow.")
    if answer.unknown:
        lines.append("It never mentions: " + ", ".join(answer.unknown) + ".")
    if answer.related:
        lines.append("")
        lines.append("May be related:")
        for c in answer.related:
            lines.append(f"  [{c.n}] {cited_byline(c)}")
            lines.append(f"      {excerpt(c.passage.text)}")
    return lines


def sources_lines(citations: tuple[Citation, ...]) -> list[str]:
    lines = []
    for c in citations:
        lines.append(f"[{c.n}] {cited_byline(c)}")
        lines.append(f"    {where(c.article)}")
        if c.also:
            lines.append(f"    {also_reported(c)}")
    return lines


def also_reported(c: Citation) -> str:
    """'also reported by: Reuters (https://…), AP' for a story carried more than once."""
    names = [f"{a.source or a.title}" + (f" ({a.url})" if a.url else "") for a in c.also]
    return "also reported by: " + ", ".join(names)


def understood_line(answer: Answer) -> str | None:
    """'(understood as: What did Tillerson say?, in articles of 3-9 June 2024)' when a name's
    spelling was fixed or the question's dates narrowed the search."""
    parts = [f"understood as: {answer.understood_as}"] if answer.understood_as else []
    if answer.dates:
        parts.append(f"searched {answer.dates}")
    return f"({'; '.join(parts)})" if parts else None


def date_notes(answer: Answer) -> list[str]:
    """'“on Thursday” [1]: Thursday 6 June 2024' for each relative date in the quoted sentences,
    made absolute from its article's publication date: beside the verbatim text, never in it."""
    by_number = {c.n: c for c in answer.citations}
    notes = []
    for s in answer.sentences:
        published = (by_number[s.citation].article.published or "")[:10]
        try:
            day = date.fromisoformat(published)
        except ValueError:
            continue
        for found in relative_dates(s.text, day):
            notes.append(f"“{found.phrase}” [{s.citation}]: {found.means}")
    return list(dict.fromkeys(notes))


def answer_text(answer: Answer, next_page: int = 1) -> str:
    """The plain-text answer `newsqa ask` prints: the excerpts, then the numbered sources;
    `next_page` is what `--more` takes to show the evidence after this page."""
    head = [line] if (line := understood_line(answer)) else []
    if answer.abstained:
        return "\n".join(head + abstention_lines(answer))
    notes = date_notes(answer)
    lines = [*head, answer.text, *(["", "Dates:", *notes] if notes else [])]
    lines += ["", "Sources:", *sources_lines(answer.citations)]
    if answer.more:
        lines += [
            "",
            f"(more evidence: newsqa ask --more {next_page} QUESTION, or :more in the REPL)",
        ]
    return "\n".join(lines)
