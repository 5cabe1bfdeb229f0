"""Building FTS5 queries from free text, so no question can inject FTS5 syntax."""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_TERMS = 64
_TOKEN = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    say said tell told
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def query_terms(text: str) -> list[str]:
    """The words of a question worth matching: stopwords out, unless nothing else is left."""
    words = [w.lower() for w in _TOKEN.findall(text)]
    content = [w for w in words if w not in STOPWORDS]
    unique = list(dict.fromkeys(content or words))
    return unique[:MAX_TERMS]


def match_expression(text: str) -> str | None:
    """An FTS5 MATCH expression OR-ing the quoted terms of `text`; None when it has no words."""
    return terms_expression(query_terms(text))


def terms_expression(terms: Sequence[str]) -> str | None:
    """An FTS5 MATCH expression OR-ing the given terms, each quoted; None when there are none."""
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms[:MAX_TERMS])
