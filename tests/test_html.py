"""News pages as they come: tables kept as readable rows, headings as their own lines, honest
metadata from canonical URLs and og:site_name, boilerplate tag values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.html import is_boilerplate, outlet, readable_tables
from corpus.readers import read_input
from corpus.split import sentences
from corpus.types import Article

PARAGRAPH = (
    "The Harbour City Rovers kept their lead after a narrow win on Saturday, and the race "
    "for second place tightened as Eastport lost ground."
)
STANDINGS = f"""<!doctype html><html><head><title>League standings after week 5</title>
<meta property="og:site_name" content="Sports Daily">
<link rel="canonical" href="https://sportsdaily.example/league/standings-week-5">
</head><body><nav><a href="/">Home</a></nav><article>
<h1>League standings after week 5</h1>
<p>{PARAGRAPH}</p>
<table>
<tr><th>Team</th><th>Played</th><th>Points</th></tr>
<tr><td>Harbour City Rovers</td><td>5</td><td>13</td></tr>
<tr><td>Eastport United</td><td>5</td><td>10</td></tr>
<tr><td>Northbridge Athletic</td><td>5</td><td>7</td></tr>
</table>
<p>The next round is played on Saturday, when the Rovers travel to Northbridge for the match
of the week, with a crowd of twelve thousand expected.</p>
</article></body></html>"""


def read_page(tmp_path: Path, html: str, name: str = "page.html") -> Article:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    result = read_input(str(path))
    assert result.failures == []
    (article,) = result.articles
    return article


def test_a_table_is_kept_as_one_readable_row_per_line(tmp_path: Path) -> None:
    article = read_page(tmp_path, STANDINGS)
    lines = article.text.split("\n\n")
    assert "Harbour City Rovers: Played 5, Points 13" in lines
    assert "Eastport United: Played 5, Points 10" in lines
    assert "Northbridge Athletic: Played 5, Points 7" in lines
    assert not any("|" in line or "---" in line for line in lines)
    found = [article.text[s:e] for s, e in sentences(article.text)]
    assert "Eastport United: Played 5, Points 10" in found  # a sentence a citation can quote


def test_readable_tables_without_a_header_join_cells() -> None:
    text = "Prices today:\n| Bread | 2.10 |\n| Milk | 0.95 |\nThat is all."
    assert readable_tables(text) == "Prices today:\nBread; 2.10\nMilk; 0.95\nThat is all."


HEADLINE_PAGE = f"""<html><head><title>Rovers hold on to the lead | Sports Daily</title></head>
<body><article><h1>Rovers hold on to the lead</h1>
<p>{PARAGRAPH}</p>
<h2>Captain back from injury</h2>
<p>iPhone footage shared by fans showed the captain scoring the winner in the last minute of
the match, a month after he was injured in training.</p>
<h2>What comes next</h2>
<ul><li>Rovers play Northbridge on Saturday</li><li>Eastport host the leaders in May</li></ul>
<p>The club said tickets for both matches would go on sale on Monday morning at the stadium.</p>
</article></body></html>"""


def test_headings_and_list_items_stay_lines_of_their_own(tmp_path: Path) -> None:
    article = read_page(tmp_path, HEADLINE_PAGE)
    found = [article.text[s:e] for s, e in sentences(article.text)]
    assert "Captain back from injury" in found
    assert "What comes next" in found
    assert "- Rovers play Northbridge on Saturday" in found
    assert "- Eastport host the leaders in May" in found
    assert found[0] == PARAGRAPH  # the headline is the title, not a sentence of the body
    assert article.title == "Rovers hold on to the lead"


def test_lines_after_a_list_item_or_table_row_are_never_joined_to_it() -> None:
    text = "Key points\n- first item\nthird line\n| a | b |\nlower case after a row"
    assert [text[s:e] for s, e in sentences(text)] == [
        "Key points",
        "- first item",
        "third line",
        "| a | b |",
        "lower case after a row",
    ]


BODY = (
    "<p>The port authority approved the new ferry terminal on Tuesday after a two-year review, "
    "the largest investment in the harbour since the war.</p>"
    "<p>Construction starts in the spring and is expected to take eighteen months.</p>"
)


@pytest.mark.parametrize(
    ("head", "title", "url", "source"),
    [
        (  # the outlet "Hosted", the site name as the title: neither believed
            '<title>Harbour Herald</title><meta property="og:site_name" content="Hosted">'
            '<link rel="canonical" href="https://www.harbourherald.example/news/ferry">',
            "The port authority approved the new ferry terminal on Tuesday after a two-year review",
            "https://www.harbourherald.example/news/ferry",
            "harbourherald.example",
        ),
        (  # "Copyright 2014" as the site name
            '<title>Ferry terminal approved</title><meta property="og:site_name" '
            'content="Copyright 2014"><meta property="og:url" content="https://herald.example/f">',
            "Ferry terminal approved",
            "https://herald.example/f",
            "herald.example",
        ),
        (  # a URL as the outlet
            '<title>Ferry terminal approved</title><meta property="og:site_name" '
            'content="https://www.herald.example/">'
            '<link rel="canonical" href="/news/ferry?utm_source=x">',
            "Ferry terminal approved",
            "https://www.herald.example/news/ferry",  # the extractor resolves the relative link
            "herald.example",
        ),
        (  # an honest page: og:site_name and the canonical URL are taken as they are
            '<title>Ferry terminal approved</title><meta property="og:site_name" '
            'content="The Harbour Herald"><link rel="canonical" '
            'href="https://harbourherald.example/news/ferry">',
            "Ferry terminal approved",
            "https://harbourherald.example/news/ferry",
            "The Harbour Herald",
        ),
        (  # a page saved by a browser: the address it noted is the URL
            "<!-- saved from url=(0041)https://harbourherald.example/news/ferry -->"
            "<title>Ferry terminal approved</title>",
            "Ferry terminal approved",
            "https://harbourherald.example/news/ferry",
            "harbourherald.example",
        ),
    ],
)
def test_bad_metadata_tags_are_refused(
    tmp_path: Path, head: str, title: str, url: str | None, source: str
) -> None:
    html = f"<html><head>{head}</head><body><article>{BODY}</article></body></html>"
    article = read_page(tmp_path, html)
    assert (article.title, article.url, article.source) == (title, url, source)


def test_a_fetched_page_keeps_its_address_unless_the_canonical_one_is_on_the_same_site() -> None:
    from corpus.html import extract_page

    elsewhere = (
        '<html><head><link rel="canonical" href="https://other.example/copy"></head>'
        f"<body><article>{BODY}</article></body></html>"
    )
    page = extract_page(elsewhere, "https://herald.example/ferry?id=3")
    assert page is not None and page.url == "https://herald.example/ferry?id=3"
    same = elsewhere.replace("https://other.example/copy", "https://www.herald.example/ferry")
    page = extract_page(same, "https://herald.example/ferry?id=3")
    assert page is not None and page.url == "https://www.herald.example/ferry"


@pytest.mark.parametrize(
    "value",
    ["Hosted", "Copyright 2014", "© 2023 Herald Media", "Home", "2014", "All rights reserved"],
)
def test_boilerplate_values(value: str) -> None:
    assert is_boilerplate(value)
    assert outlet(value, None, "https://www.herald.example/x") == "herald.example"


@pytest.mark.parametrize("value", ["The Harbour Herald", "Reuters", "BBC News", "Le Monde"])
def test_outlet_names_are_kept(value: str) -> None:
    assert not is_boilerplate(value)
    assert outlet(value, None, None) == value
