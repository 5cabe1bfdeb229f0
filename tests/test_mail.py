"""E-mail news alerts (.eml) and pages saved by a browser (.mhtml) through `read_input`."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from corpus.readers import read_input
from corpus.types import Article

STORY = (
    "<p>The port authority approved the new ferry terminal on Tuesday after a two-year review, "
    "the largest investment in the harbour since the war.</p>"
    "<p>Construction starts in the spring and is expected to take eighteen months, the "
    "authority's chairwoman told reporters at the harbour office.</p>"
)


def read_one(path: Path) -> Article:
    result = read_input(str(path))
    assert result.failures == []
    (article,) = result.articles
    return article


def test_an_email_alert_gives_subject_date_sender_and_text(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Ferry terminal approved after two-year review"
    message["From"] = "Harbour Herald Alerts <alerts@harbourherald.example>"
    message["Date"] = "Tue, 05 Mar 2024 08:15:00 +0100"
    message.set_content("The port authority approved the new ferry terminal on Tuesday.")
    message.add_alternative(f"<html><body><article>{STORY}</article></body></html>",
                            subtype="html")  # fmt: skip
    path = tmp_path / "alert.eml"
    path.write_bytes(bytes(message))
    article = read_one(path)
    assert article.title == "Ferry terminal approved after two-year review"
    assert article.source == "Harbour Herald Alerts"
    assert article.published == "2024-03-05T08:15:00+01:00"
    assert article.text.startswith("The port authority approved the new ferry terminal")
    assert "eighteen months" in article.text


def test_a_plain_text_email_without_a_sender_name_takes_the_domain(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Quay reopens"
    message["From"] = "news@quaytimes.example"
    message.set_content("The quay reopened on Monday after repairs.\n\nTolls stay the same.\n")
    path = tmp_path / "alert.eml"
    path.write_bytes(bytes(message))
    article = read_one(path)
    assert (article.title, article.source) == ("Quay reopens", "quaytimes.example")
    assert article.text == "The quay reopened on Monday after repairs.\n\nTolls stay the same."


def test_a_saved_page_is_read_at_the_address_it_was_saved_from(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Ferry terminal approved"
    message["Snapshot-Content-Location"] = "https://harbourherald.example/news/ferry"
    message.make_related()
    page = EmailMessage()
    page.set_content(
        "<html><head><title>Ferry terminal approved</title><meta property='og:site_name' "
        f"content='The Harbour Herald'></head><body><article>{STORY}</article></body></html>",
        subtype="html",
    )
    page["Content-Location"] = "https://harbourherald.example/news/ferry"
    message.attach(page)
    path = tmp_path / "page.mhtml"
    path.write_bytes(bytes(message))
    article = read_one(path)
    assert article.url == "https://harbourherald.example/news/ferry"
    assert (article.title, article.source) == ("Ferry terminal approved", "The Harbour Herald")
    assert "eighteen months" in article.text


def test_a_file_that_is_not_a_message_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "junk.eml"
    path.write_bytes(b"\n\njust some words, no headers\n")
    (failure,) = read_input(str(path)).failures
    assert failure.startswith(f"{path}: ")
    assert "\n" not in failure
