"""Junk rules, title inference, and the bundled articles as the cleaner leaves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.bundled import BUNDLED_PREFIX, bundled_articles, bundled_dir
from corpus.clean import (
    JUNK_RULES,
    MAX_JUNK_WORDS,
    clean_text,
    infer_title,
    junk_rule,
    looks_like_title,
    split_title,
)
from corpus.readers import read_input
from corpus.types import Article

FT_FILE = "004_a14b4b362a01b66d.txt"
FT_TITLE = "Donald Trump is putting pressure on China to cut off oil exports to Pyongyang"
FT_JUNK = {
    "© FT montage; Bloomberg; Reuters",
    "Experimental feature",
    "Listen to this article",
    "Follow Demetri Sevastopulo and Katrina Manson on Twitter: @dimi @katrinamanson",
    "Leave a Reply",
    "Time limit is exhausted. Please reload the CAPTCHA.",
}
OTHER_FILE = "000_57222b0a6e0aa89a.txt"
OTHER_TITLE = "US battles for global push on North Korea amid Russia, China doubts"

# Each rule: lines it must drop, and lines that look alike but are news and must stay.
JUNK = {
    "image credit": [
        "© FT montage; Bloomberg; Reuters",
        "Photo: Jane Doe/Getty Images",
        "Kim Jong Un at a parade in Pyongyang. Ed Jones/AFP",
    ],
    "page chrome": [
        "Experimental feature",
        "Listen to this article",
        "Share this article",
        "5 min read",
        "Reporting by Jane Doe; Editing by John Roe",
    ],
    "social follow": [
        "Follow Demetri Sevastopulo and Katrina Manson on Twitter: @dimi @katrinamanson",
        "@dimi, @katrinamanson",
    ],
    "comments": ["Leave a Reply", "12 comments", "Comments:"],
    "captcha": ["Time limit is exhausted. Please reload the CAPTCHA."],
    "cookie notice": ["We use cookies. By continuing you accept our cookie policy."],
    "no words": ["* * *", "—", "|"],
}
KEPT = {
    "image credit": [
        "Photographers waited outside the court all day.",
        "Copyrighted music was played at the rally.",
    ],
    "page chrome": [
        "Listen to the full interview with the minister on our podcast.",
        "Share prices fell sharply in Tokyo on Monday.",
    ],
    "social follow": [
        "Follow-up talks are planned for Thursday, officials said.",
        "Mr Trump said on Twitter that he would follow the talks closely and that he expected "
        "China to do much more, adding that the regime in Pyongyang had been warned many times "
        "before.",
    ],
    "comments": ["Reply came three weeks later, in a short letter."],
    "captcha": [
        "Researchers showed that a simple CAPTCHA could be solved by software in seconds, "
        "raising questions about how banks and ticket sellers protect their websites from bots "
        "that buy up seats.",
    ],
    "cookie notice": [
        "She baked cookies for the whole street.",
        "The regulator said the new cookie policy, which websites must accept by law from "
        "January, would force publishers to ask for consent before tracking readers across the "
        "internet.",
    ],
    "no words": ["2017", "Yes."],
}


def test_every_junk_rule_has_examples() -> None:
    names = [name for name, _ in JUNK_RULES]
    assert sorted(names) == sorted(JUNK) == sorted(KEPT)


@pytest.mark.parametrize(("rule", "line"), [(r, line) for r, ls in JUNK.items() for line in ls])
def test_junk_line_is_dropped_by_its_rule(rule: str, line: str) -> None:
    assert junk_rule(line) == rule
    cleaned = clean_text(f"Kept paragraph.\n\n{line}\n\nAnother one.")
    assert cleaned == "Kept paragraph.\n\nAnother one."


@pytest.mark.parametrize(("rule", "line"), [(r, line) for r, ls in KEPT.items() for line in ls])
def test_news_line_that_looks_like_junk_is_kept(rule: str, line: str) -> None:
    assert junk_rule(line) is None
    assert clean_text(f"Kept paragraph.\n\n{line}") == f"Kept paragraph.\n\n{line}"


def test_long_lines_are_never_junk() -> None:
    line = "Follow us on Twitter " + "and read more " * MAX_JUNK_WORDS
    assert junk_rule("Follow us on Twitter") == "social follow"
    assert junk_rule(line) is None


def test_clean_text_keeps_lines_and_one_blank_line_between_paragraphs() -> None:
    raw = "\ufeff  First paragraph.  \r\n\r\n\r\nListen\r\n\r\nSecond,\r\nwrapped line.\r\n\r\n\n"
    assert clean_text(raw) == "First paragraph.\n\nSecond,\nwrapped line."


def test_clean_text_of_only_junk_is_empty() -> None:
    assert clean_text("Leave a Reply\n\nAdvertisement\n\n* * *\n") == ""


def test_infer_title_from_a_short_first_sentence() -> None:
    assert infer_title("The bridge reopened on Tuesday. Engineers replaced it.") == (
        "The bridge reopened on Tuesday"
    )


def test_infer_title_cuts_a_long_sentence_at_a_clause() -> None:
    text = (
        "Rex Tillerson, the US secretary of state, said on Tuesday that the administration "
        "wanted China to go much further than the sanctions it had already agreed to."
    )
    assert infer_title(text) == "Rex Tillerson, the US secretary of state"


def test_infer_title_without_a_clause_break_is_cut_with_an_ellipsis() -> None:
    text = " ".join(f"word{i}" for i in range(30)) + "."
    assert infer_title(text) == " ".join(f"word{i}" for i in range(14)) + "…"


def test_infer_title_of_nothing_is_empty() -> None:
    assert infer_title("") == ""


def test_split_title_takes_a_headline_first_line() -> None:
    assert split_title("Bridge reopens\n\nThe bridge reopened.") == (
        "Bridge reopens",
        "The bridge reopened.",
    )


def test_split_title_infers_when_the_first_line_is_a_sentence() -> None:
    text = "The bridge reopened on Tuesday.\n\nEngineers replaced the cables."
    assert split_title(text) == ("The bridge reopened on Tuesday", text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("US battles for global push on North Korea amid Russia, China doubts", True),
        ("Trump: ‘We will destroy North Korea’", True),
        ("Is this the end of the Iran deal?", True),
        ("The bridge reopened.", False),
        ("“We’re ready to talk.”", False),
        ("He said (reluctantly.)", False),
        ("Officials said:", False),
        ("", False),
        (" ".join(["word"] * 21), False),
    ],
)
def test_looks_like_title(line: str, expected: bool) -> None:
    assert looks_like_title(line) is expected


# --- the bundled articles ---


def bundled(name: str) -> Article:
    (article,) = [a for a in bundled_articles() if a.origin == BUNDLED_PREFIX + name]
    return article


def source_lines(name: str) -> list[str]:
    return (bundled_dir() / name).read_text(encoding="utf-8").splitlines()


def test_bundled_ft_article_loses_its_junk() -> None:
    article = bundled(FT_FILE)
    assert set(source_lines(FT_FILE)) >= FT_JUNK  # the junk really is in the file
    for junk in FT_JUNK:
        assert junk not in article.text
    for fragment in ("FT montage", "Experimental", "Listen to", "@dimi", "Leave a", "CAPTCHA"):
        assert fragment not in article.text


def test_bundled_ft_article_keeps_every_body_paragraph_verbatim() -> None:
    article = bundled(FT_FILE)
    body = [line for line in source_lines(FT_FILE) if line.strip() and line not in FT_JUNK]
    assert len(body) == 14
    assert article.text.split("\n\n") == body


def test_bundled_ft_article_gets_a_title_from_its_first_sentence() -> None:
    article = bundled(FT_FILE)
    assert article.title == FT_TITLE
    assert article.text.startswith(FT_TITLE + ", as part of a stepped-up campaign")
    assert article.source == "Financial Times"


def test_ft_article_read_directly_from_its_file() -> None:
    path = Path(bundled_dir()) / FT_FILE
    result = read_input(str(path))
    assert result.failures == []
    (article,) = result.articles
    assert article.title == FT_TITLE
    assert article.text == bundled(FT_FILE).text
    assert article.id == bundled(FT_FILE).id
    assert article.origin == str(path.resolve())
    assert article.source is None  # sources.json is the bundle's, not the reader's


def test_bundled_article_keeps_its_first_line_as_the_title() -> None:
    article = bundled(OTHER_FILE)
    lines = source_lines(OTHER_FILE)
    assert lines[0] == OTHER_TITLE
    assert article.title == OTHER_TITLE
    assert article.text.startswith("The United States is battling to maintain")
    assert article.text.split("\n\n") == [line for line in lines[1:] if line.strip()]


def test_bundled_articles_have_distinct_ids() -> None:
    articles = bundled_articles()
    assert len(articles) == 2
    assert len({a.id for a in articles}) == 2
