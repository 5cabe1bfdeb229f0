"""PDF and DOCX, as press releases and filings arrive: text in reading order, title and date from
the document, page numbers a citation can name, and a scan that says it has no text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answer import Citation
from bot.cli import main
from bot.render import citation_json, cited_byline, page_label
from corpus.readers import read_input
from corpus.split import split_passages
from corpus.types import Article, ArticleInfo
from tests.documents import docx_bytes, pdf_bytes

PAGE_ONE = [
    "Port authority approves ferry terminal",
    "The port authority approved the new ferry terminal on Tuesday after a two-",
    "year review, the largest investment in the harbour since the war.",
    "The terminal will serve four ferry lines to the islands.",
]
PAGE_TWO = [
    "Construction starts in the spring.",
    "The budget is 40 million euros, the chairwoman of the authority said.",
]


def read_one(path: Path) -> Article:
    result = read_input(str(path))
    assert result.failures == []
    (article,) = result.articles
    return article


def test_a_text_pdf_of_two_pages_keeps_its_pages(tmp_path: Path) -> None:
    path = tmp_path / "release.pdf"
    path.write_bytes(
        pdf_bytes([PAGE_ONE, PAGE_TWO], title="Ferry terminal approved",
                  created="D:20240301093000+01'00'")
    )  # fmt: skip
    article = read_one(path)
    assert article.title == "Ferry terminal approved"
    assert article.published == "2024-03-01T09:30:00"
    assert article.text.startswith("Port authority approves ferry terminal\n")
    assert "after a two-year review, the largest" in " ".join(article.text.split())
    assert len(article.pages) == 2 and article.pages[0] == 0
    second = article.text[article.pages[1] :]
    assert second.startswith("Construction starts in the spring.")
    budget = article.text.index("The budget is 40 million euros")
    info = ArticleInfo(article.id, article.title, None, None, None, article.origin, article.pages)
    assert info.page_range(budget, budget + 10) == (2, 2)
    assert info.page_range(0, 10) == (1, 1)
    assert info.page_range(0, len(article.text)) == (1, 2)


def test_a_citation_of_a_pdf_names_its_page(tmp_path: Path) -> None:
    path = tmp_path / "release.pdf"
    path.write_bytes(pdf_bytes([PAGE_ONE, PAGE_TWO], title="Ferry terminal approved"))
    article = read_one(path)
    info = ArticleInfo(article.id, article.title, None, "Port Authority", None, article.origin,
                       article.pages)  # fmt: skip
    passages = split_passages(article.id, article.text)
    last = passages[-1]
    assert "40 million" in last.text
    citation = Citation(1, info, last, 1.0)
    label = page_label(info, last)
    assert label in ("p. 2", "pp. 1–2")
    assert cited_byline(citation) == f"Ferry terminal approved — Port Authority, {label}"
    assert citation_json(citation)["pages"] in ([2, 2], [1, 2])
    plain = ArticleInfo("x", "Plain", None, None, None, "test:x")
    assert page_label(plain, last) == ""


def test_pages_survive_the_index_and_show_in_the_cli(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "release.pdf"
    path.write_bytes(pdf_bytes([PAGE_ONE, PAGE_TWO], title="Ferry terminal approved"))
    assert main(["ingest", str(path)]) == 0
    (article_id,) = [line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]]
    assert main(["show", "--json", article_id]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["title"] == "Ferry terminal approved"
    assert len(shown["pages"]) == 2
    assert shown["text"][shown["pages"][1] :].startswith("Construction starts in the spring.")
    assert main(["search", "--json", "budget forty million euros chairwoman"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and hits[0]["article_id"] == article_id


def test_a_scanned_pdf_says_it_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_bytes([[], []], scanned=True))
    result = read_input(str(path))
    assert result.articles == []
    assert result.failures == [
        f"{path}: no text in the PDF's 2 page(s): it looks scanned (images of pages); run it "
        "through OCR first (for example ocrmypdf), then ingest the result"
    ]


def test_a_damaged_pdf_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(pdf_bytes([PAGE_ONE])[:200])
    (failure,) = read_input(str(path)).failures
    assert failure.startswith(f"{path}: unreadable PDF (")
    assert "\n" not in failure


def test_a_pdf_without_extension_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "download"
    path.write_bytes(pdf_bytes([PAGE_ONE], title="Ferry terminal approved"))
    assert read_one(path).title == "Ferry terminal approved"


def test_a_docx_gives_title_date_text_and_table_rows(tmp_path: Path) -> None:
    path = tmp_path / "statement.docx"
    path.write_bytes(
        docx_bytes(
            "Ferry terminal approved",
            "Ferry terminal approved",
            [
                "The port authority approved the new terminal on Tuesday after a long review.",
                "Construction starts in the spring, the authority said.",
            ],
            table=[["Item", "Cost"], ["Terminal", "30 million euros"], ["Quay", "10 million"]],
        )
    )
    article = read_one(path)
    assert article.title == "Ferry terminal approved"
    assert (article.published or "").startswith("2024-03-01T09:30:00")
    assert article.text.split("\n\n") == [
        "The port authority approved the new terminal on Tuesday after a long review.",
        "Terminal: Cost 30 million euros",
        "Quay: Cost 10 million",
        "Construction starts in the spring, the authority said.",
    ]
    assert article.pages == ()


def test_a_docx_without_a_title_takes_its_heading(tmp_path: Path) -> None:
    path = tmp_path / "statement.docx"
    path.write_bytes(docx_bytes(None, "Quay repairs finished", ["The quay reopened today."]))
    article = read_one(path)
    assert article.title == "Quay repairs finished"
    assert article.text == "The quay reopened today."


def test_a_file_that_is_not_a_docx_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    (failure,) = read_input(str(path)).failures
    assert failure.startswith(f"{path}: unreadable DOCX (")
