"""Readers on files and directories, bad input, ids and dates; every fixture lives in tmp_path."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from corpus.dates import normalize_date
from corpus.ids import article_id, normalize_url
from corpus.readers import FEED, HTML, JSONL, TEXT, ReadLimits, read_input, sniff
from corpus.types import Article, ReadResult

BODY = (
    "The harbour bridge reopened to traffic on Tuesday morning after eight months of repairs.\n\n"
    "Engineers replaced the corroded steel cables that had forced the closure in April."
)
GOOD = "Ferry fares frozen\n\nThe ferry company said fares would stay the same until next summer.\n"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def read(path: Path | str, limits: ReadLimits | None = None) -> ReadResult:
    return read_input(str(path), limits)


def only_article(result: ReadResult) -> Article:
    assert result.failures == []
    assert len(result.articles) == 1
    return result.articles[0]


def only_failure(result: ReadResult) -> str:
    assert result.articles == []
    assert len(result.failures) == 1
    assert "\n" not in result.failures[0]
    return result.failures[0]


def read_beside_good(
    directory: Path, name: str, content: str | bytes, limits: ReadLimits | None = None
) -> str:
    """Read a directory holding one bad file and one good one; the reason the bad one failed."""
    bad = write(directory / name, content)
    write(directory / "good.txt", GOOD)
    result = read(directory, limits)
    assert [a.title for a in result.articles] == ["Ferry fares frozen"]
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert "\n" not in failure
    prefix = f"{bad.resolve()}: "
    assert failure.startswith(prefix)
    return failure[len(prefix) :]


# --- plain text ---


def test_txt_first_line_is_the_title(tmp_path: Path) -> None:
    path = write(tmp_path / "bridge.txt", "Harbour bridge reopens\n\n" + BODY + "\n")
    article = only_article(read(path))
    assert article.title == "Harbour bridge reopens"
    assert article.text == BODY
    assert article.origin == str(path.resolve())
    assert article.url is None


def test_txt_junk_first_line_gives_an_inferred_title(tmp_path: Path) -> None:
    path = write(tmp_path / "bridge.txt", "Listen to this article\n\n" + BODY + "\n")
    article = only_article(read(path))
    assert article.title == (
        "The harbour bridge reopened to traffic on Tuesday morning after eight months of repairs"
    )
    assert article.text == BODY


def test_txt_quoted_first_sentence_stays_in_the_body(tmp_path: Path) -> None:
    quote = "“We’re ready to talk without preconditions.”"
    path = write(tmp_path / "quote.txt", f"{quote}\n\nMr Tillerson said so on Tuesday.\n")
    article = only_article(read(path))
    assert article.text.startswith(quote)


# --- markdown ---


def test_markdown_front_matter_gives_title_source_url_published(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bridge.md",
        "---\ntitle: Harbour bridge reopens\nsource: The Coastal Gazette\n"
        "url: https://gazette.example.org/bridge\npublished: 2017-12-05\n---\n\n"
        "The bridge **reopened** on Tuesday, the [council](https://example.org) said.\n",
    )
    article = only_article(read(path))
    assert article.title == "Harbour bridge reopens"
    assert article.source == "The Coastal Gazette"
    assert article.url == "https://gazette.example.org/bridge"
    assert article.published == "2017-12-05"
    assert article.text == "The bridge reopened on Tuesday, the council said."
    assert article.id == article_id("https://gazette.example.org/bridge", "")


def test_markdown_front_matter_with_windows_line_endings(tmp_path: Path) -> None:
    text = "---\ntitle: Harbour bridge reopens\nsource: Gazette\n---\n\nThe bridge reopened.\n"
    path = write(tmp_path / "bridge.md", text.replace("\n", "\r\n"))
    article = only_article(read(path))
    assert (article.title, article.source) == ("Harbour bridge reopens", "Gazette")
    assert article.text == "The bridge reopened."


def test_markdown_heading_is_the_title_without_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "bridge.md", "# Harbour bridge reopens\n\n" + BODY + "\n")
    article = only_article(read(path))
    assert article.title == "Harbour bridge reopens"
    assert article.text == BODY
    assert article.source is None


def test_markdown_bad_front_matter_is_a_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\nsource: x\n---\n\nBody text.\n")
    failure = only_failure(read(path))
    assert failure.startswith(f"{path.resolve()}: bad front matter (")


# --- HTML ---

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Harbour bridge reopens after repairs | The Coastal Gazette</title>
<meta property="og:title" content="Harbour bridge reopens after repairs">
<meta property="og:site_name" content="The Coastal Gazette">
<meta property="article:published_time" content="2017-12-05T09:30:00+00:00">
<script>var tracker = "SCRIPT_MARKER";</script>
</head><body>
<nav><ul><li><a href="/">Home NAV_MARKER</a></li><li><a href="/world">World</a></li></ul></nav>
<article>
<h1>Harbour bridge reopens after repairs</h1>
<p>The harbour bridge reopened to traffic on Tuesday morning after eight months of repairs that
cost the city more than four million pounds.</p>
<p>Engineers replaced the corroded steel cables that had forced the closure in April, the council
said in a statement.</p>
<p>Local businesses on both sides of the river welcomed the news, saying trade had fallen sharply
while the crossing was shut.</p>
</article>
<footer>Copyright FOOTER_MARKER 2017</footer>
<script>console.log("SCRIPT_MARKER")</script>
</body></html>
"""


def test_html_title_date_and_sitename(tmp_path: Path) -> None:
    article = only_article(read(write(tmp_path / "bridge.html", PAGE)))
    assert article.title == "Harbour bridge reopens after repairs"
    assert article.published == "2017-12-05"
    assert article.source == "The Coastal Gazette"


def test_html_text_comes_from_the_article_only(tmp_path: Path) -> None:
    article = only_article(read(write(tmp_path / "bridge.html", PAGE)))
    assert article.text.startswith("The harbour bridge reopened to traffic on Tuesday morning")
    assert "the crossing was shut." in article.text
    assert article.text.count("\n\n") == 2  # one paragraph per <p>
    for marker in ("SCRIPT_MARKER", "NAV_MARKER", "FOOTER_MARKER", "tracker", "Home"):
        assert marker not in article.text
    assert not article.text.startswith("Harbour bridge reopens")  # the <h1> is the title


def test_html_without_text_is_one_error(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.html", "<html><head><title>x</title></head><body></body></html>")
    assert only_failure(read(path)) == f"{path.resolve()}: no article text found in the HTML"


# --- JSONL ---


def test_jsonl_fields_become_the_article(tmp_path: Path) -> None:
    record = {
        "id": "gazette-17",
        "title": "Harbour bridge reopens",
        "text": BODY,
        "url": "https://gazette.example.org/bridge",
        "source": "The Coastal Gazette",
        "published": "2017-12-05T09:30:00Z",
    }
    article = only_article(read(write(tmp_path / "a.jsonl", json.dumps(record) + "\n")))
    assert article == Article(
        id="gazette-17",
        title="Harbour bridge reopens",
        text=BODY,
        url="https://gazette.example.org/bridge",
        source="The Coastal Gazette",
        published="2017-12-05T09:30:00+00:00",
        origin=f"{(tmp_path / 'a.jsonl').resolve()}:1",
    )


def test_jsonl_bad_lines_are_reported_by_number_and_the_rest_kept(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "First", "text": "The first article."}),
        "{not json",
        "",
        json.dumps({"title": "No text here"}),
        json.dumps({"title": "Fifth", "text": "The fifth article."}),
    ]
    path = write(tmp_path / "a.jsonl", "\n".join(lines) + "\n")
    result = read(path)
    assert [a.title for a in result.articles] == ["First", "Fifth"]
    where = str(path.resolve())
    assert len(result.failures) == 2
    assert result.failures[0].startswith(f"{where}:2: malformed JSON (")
    assert result.failures[1] == f"{where}:4: missing or empty 'text'"


def test_jsonl_line_separator_inside_a_string_is_not_a_new_line(tmp_path: Path) -> None:
    record = {"title": "One", "text": "Line one\u2028still one\x85end."}
    first = json.dumps(record, ensure_ascii=False)
    second = json.dumps({"title": "Two", "text": "Second."})
    result = read(write(tmp_path / "a.jsonl", f"{first}\n{second}\n"))
    assert result.failures == []
    assert [a.title for a in result.articles] == ["One", "Two"]
    assert result.articles[1].origin.endswith(":2")


def test_jsonl_malformed_url_fails_only_its_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "Bad", "text": "Body.", "url": "http://[oops/story"}),
        json.dumps({"title": "Good", "text": "Body.", "url": "https://example.org/story"}),
    ]
    path = write(tmp_path / "a.jsonl", "\n".join(lines))
    result = read(path)
    assert [a.title for a in result.articles] == ["Good"]
    assert len(result.failures) == 1
    assert result.failures[0].startswith(f"{path.resolve()}:1: not a valid URL")


def test_jsonl_invalid_id_is_replaced_by_a_stable_hash(tmp_path: Path) -> None:
    line = json.dumps({"id": "has spaces and ünïcode", "text": "Body."})
    first = only_article(read(write(tmp_path / "a.jsonl", line)))
    second = only_article(read(write(tmp_path / "b.jsonl", line)))
    assert re.fullmatch(r"[0-9a-f]{16}", first.id)
    assert first.id == second.id


# --- feeds ---

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>The Coastal Gazette</title>
  <link>https://gazette.example.org/</link>
  <description>News from the coast</description>
  <item>
    <title>Harbour bridge reopens</title>
    <link>https://gazette.example.org/bridge</link>
    <pubDate>Tue, 05 Dec 2017 09:30:00 GMT</pubDate>
    <description>Short summary.</description>
    <content:encoded><![CDATA[<p>The bridge reopened on Tuesday.</p><p>Engineers
      replaced the cables.</p><script>alert("SCRIPT_MARKER")</script>]]></content:encoded>
  </item>
  <item>
    <title>Ferry fares frozen</title>
    <link>https://gazette.example.org/ferry</link>
    <pubDate>Mon, 04 Dec 2017 18:00:00 EST</pubDate>
    <description>The ferry company froze its fares.</description>
  </item>
</channel>
</rss>
"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Harbour Wire</title>
  <id>urn:uuid:feed</id>
  <updated>2017-12-05T10:00:00Z</updated>
  <entry>
    <title>Ferry timetable changes</title>
    <link rel="alternate" href="https://wire.example.org/ferry"/>
    <id>urn:uuid:ferry</id>
    <published>2017-12-04T08:15:00+01:00</published>
    <updated>2017-12-05T10:00:00Z</updated>
    <content type="html">&lt;p&gt;The ferry will run every half hour.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Lighthouse repainted</title>
    <link rel="alternate" href="https://wire.example.org/lighthouse"/>
    <id>urn:uuid:lighthouse</id>
    <updated>2017-12-03T12:00:00Z</updated>
    <summary>The lighthouse was repainted red and white.</summary>
  </entry>
</feed>
"""


def test_rss_file_entries_become_articles(tmp_path: Path) -> None:
    result = read(write(tmp_path / "gazette.rss", RSS))
    assert result.failures == []
    bridge, ferry = result.articles
    assert bridge.title == "Harbour bridge reopens"
    assert bridge.url == "https://gazette.example.org/bridge"
    assert bridge.source == "The Coastal Gazette"
    assert bridge.published == "2017-12-05T09:30:00+00:00"
    assert bridge.text == "The bridge reopened on Tuesday.\n\nEngineers\nreplaced the cables."
    assert ferry.title == "Ferry fares frozen"
    assert ferry.text == "The ferry company froze its fares."
    assert ferry.published == "2017-12-04T23:00:00+00:00"  # 18:00 EST
    assert bridge.id == article_id("https://gazette.example.org/bridge", "")


def test_atom_file_entries_become_articles(tmp_path: Path) -> None:
    result = read(write(tmp_path / "wire.atom", ATOM))
    assert result.failures == []
    assert [(a.title, a.url, a.source, a.published, a.text) for a in result.articles] == [
        (
            "Ferry timetable changes",
            "https://wire.example.org/ferry",
            "Harbour Wire",
            "2017-12-04T07:15:00+00:00",
            "The ferry will run every half hour.",
        ),
        (
            "Lighthouse repainted",
            "https://wire.example.org/lighthouse",
            "Harbour Wire",
            "2017-12-03T12:00:00+00:00",
            "The lighthouse was repainted red and white.",
        ),
    ]


def test_feed_entry_without_text_fails_alone(tmp_path: Path) -> None:
    feed = RSS.replace("<description>The ferry company froze its fares.</description>", "")
    result = read(write(tmp_path / "gazette.xml", feed))
    assert [a.title for a in result.articles] == ["Harbour bridge reopens"]
    assert result.failures == ["https://gazette.example.org/ferry: no article text"]


def test_malformed_feed_is_one_error(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.xml", RSS[: RSS.index("<link>https://gazette.example.org/b")])
    assert only_failure(read(path)).startswith(f"{path.resolve()}: not a valid RSS/Atom feed (")


def test_feed_with_no_entries_is_one_error(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.rss", "these are just some notes, not a feed")
    assert only_failure(read(path)).startswith(f"{path.resolve()}: not a valid RSS/Atom feed")


# --- directories ---


def test_directory_is_read_recursively_in_name_order(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "Second story\n\nBody of the second story.\n")
    write(tmp_path / "a" / "deeper" / "c.md", "# Nested story\n\nBody of the nested story.\n")
    write(tmp_path / "a" / "d.jsonl", json.dumps({"title": "Line story", "text": "Body."}))
    result = read(tmp_path)
    assert result.failures == []
    assert [a.title for a in result.articles] == ["Line story", "Nested story", "Second story"]


def test_directory_skips_hidden_files_and_folders(tmp_path: Path) -> None:
    write(tmp_path / "visible.txt", GOOD)
    write(tmp_path / ".hidden.txt", "Hidden\n\nShould not be read.\n")
    write(tmp_path / ".git" / "notes.txt", "Hidden too\n\nShould not be read.\n")
    write(tmp_path / "sub" / ".cache" / "x.bin", b"\x00\x01")
    result = read(tmp_path)
    assert result.failures == []
    assert [a.title for a in result.articles] == ["Ferry fares frozen"]


def test_directory_reports_unsupported_extensions(tmp_path: Path) -> None:
    write(tmp_path / "story.txt", GOOD)
    picture = write(tmp_path / "sub" / "photo.png", b"\x89PNG\r\n\x1a\n")
    result = read(tmp_path)
    assert [a.title for a in result.articles] == ["Ferry fares frozen"]
    assert result.failures == [f"{picture}: unsupported file type '.png'"]


def test_empty_directory_gives_nothing(tmp_path: Path) -> None:
    assert read(tmp_path) == ReadResult()


# --- sniffing files with no telling extension ---


def test_file_without_extension_is_sniffed_as_feed(tmp_path: Path) -> None:
    result = read(write(tmp_path / "gazette", RSS))
    assert [a.title for a in result.articles] == ["Harbour bridge reopens", "Ferry fares frozen"]


def test_file_with_unknown_extension_is_sniffed_as_html(tmp_path: Path) -> None:
    article = only_article(read(write(tmp_path / "bridge.php", PAGE)))
    assert article.title == "Harbour bridge reopens after repairs"
    assert "NAV_MARKER" not in article.text


def test_file_without_extension_is_sniffed_as_jsonl(tmp_path: Path) -> None:
    line = json.dumps({"title": "Line story", "text": "Body of it."})
    assert only_article(read(write(tmp_path / "dump", line))).title == "Line story"


def test_file_without_extension_is_sniffed_as_text(tmp_path: Path) -> None:
    article = only_article(read(write(tmp_path / "README", GOOD)))
    assert article.title == "Ferry fares frozen"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xef\xbb\xbf<?xml version='1.0'?><rss>", FEED),
        (b"\n  <feed xmlns='http://www.w3.org/2005/Atom'>", FEED),
        (b"<?xml version='1.0'?>\n<html><body>", HTML),
        (b"<!DOCTYPE html><html>", HTML),
        (b"<div><body><p>x</p></body></div>", HTML),
        (b'{"text": "x"}\n', JSONL),
        (b"Plain words <b>with</b> a tag later", TEXT),
    ],
)
def test_sniff(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


# --- bad input: one failure line naming the input, the others in the folder still read ---


def test_binary_file_is_refused(tmp_path: Path) -> None:
    data = b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20
    assert read_beside_good(tmp_path, "program.txt", data) == "binary file, not text"


def test_a_pdf_named_txt_is_refused_with_the_way_to_read_it(tmp_path: Path) -> None:
    reason = read_beside_good(tmp_path, "paper.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert reason == "a PDF file, not text (name it .pdf to read it as a PDF)"


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    assert read_beside_good(tmp_path, "empty.txt", b"") == "empty file"


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    assert read_beside_good(tmp_path, "blank.md", " \n\t\r\n  \n") == "empty file"


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    limits = ReadLimits(max_file_bytes=len(GOOD) + 10)
    reason = read_beside_good(tmp_path, "big.txt", "x " * 200, limits)
    assert reason == (
        f"too large (400 bytes; limit {len(GOOD) + 10} bytes, "
        "set by max_file_mb (NEWSQA_MAX_FILE_MB))"
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_file_that_reports_no_size_is_cut_at_the_limit() -> None:
    # /proc files say st_size 0, as devices and pipes do; /dev/zero would never end
    failure = only_failure(read("/proc/self/status", ReadLimits(max_file_bytes=100)))
    limit = r"limit 100 bytes, set by max_file_mb \(NEWSQA_MAX_FILE_MB\)"
    assert re.fullmatch(rf"/proc/\d+/status: too large \(101 bytes; {limit}\)", failure)


def test_article_over_the_character_limit_is_refused(tmp_path: Path) -> None:
    limits = ReadLimits(max_article_chars=200)
    reason = read_beside_good(tmp_path, "long.txt", "Long one\n\n" + "word " * 100, limits)
    assert reason == (
        "article too long (509 characters; limit 200, "
        "set by max_article_chars (NEWSQA_MAX_ARTICLE_CHARS))"
    )


def test_nonexistent_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.txt"
    assert only_failure(read(missing)) == f"{missing}: no such file or directory"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.txt", "Locked\n\nNobody may read this.\n")
    write(tmp_path / "good.txt", GOOD)
    locked.chmod(0)
    try:
        result = read(tmp_path)
    finally:
        locked.chmod(0o600)
    assert [a.title for a in result.articles] == ["Ferry fares frozen"]
    assert result.failures == [f"{locked.resolve()}: cannot read (Permission denied)"]


def test_latin1_text_is_decoded(tmp_path: Path) -> None:
    text = "Café owners protest\n\nThe café owners in the old quarter protested on Monday.\n"
    article = only_article(read(write(tmp_path / "cafe.txt", text.encode("latin-1"))))
    assert article.title == "Café owners protest"
    assert article.text == "The café owners in the old quarter protested on Monday."


def test_short_latin1_text_is_decoded(tmp_path: Path) -> None:
    article = only_article(read(write(tmp_path / "cafe.txt", "Café crème.".encode("latin-1"))))
    assert article.text == "Café crème."


def test_cp1252_text_is_decoded(tmp_path: Path) -> None:
    text = "“Yes” — café\n\nShe said “it’s over” — and the café closed on Monday.\n"
    article = only_article(read(write(tmp_path / "quotes.txt", text.encode("cp1252"))))
    assert article.title == "“Yes” — café"
    assert article.text == "She said “it’s over” — and the café closed on Monday."


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    text = "Zürich vote\n\nVoters in Zürich said “no” — again.\n"
    article = only_article(read(write(tmp_path / "vote.txt", text.encode("utf-16"))))
    assert (article.title, article.text) == ("Zürich vote", "Voters in Zürich said “no” — again.")


def test_cyrillic_legacy_text_is_not_read_as_western(tmp_path: Path) -> None:
    text = "Новости дня: президент встретился с министрами в понедельник утром."
    article = only_article(read(write(tmp_path / "news.txt", text.encode("cp1251"))))
    assert article.text == text


def test_all_bad_inputs_in_one_folder_fail_one_line_each(tmp_path: Path) -> None:
    bad = {
        "binary.txt": b"\x00\x01\x02\x03" * 10,
        "paper.txt": b"%PDF-1.4\n",
        "empty.txt": b"",
        "blank.txt": b"   \n",
        "broken.md": b"---\ntitle: [\n---\nbody\n",
        "broken.xml": b"<rss><channel><item><title>x",
    }
    for name, data in bad.items():
        write(tmp_path / name, data)
    write(tmp_path / "good.txt", GOOD)
    result = read(tmp_path)
    assert [a.title for a in result.articles] == ["Ferry fares frozen"]
    named = sorted(f.split(": ", 1)[0] for f in result.failures)
    assert named == sorted(str((tmp_path / name).resolve()) for name in bad)


# --- ids ---


@pytest.mark.parametrize(
    "variant",
    [
        "https://news.example.org/world/story-1",
        "https://news.example.org/world/story-1/",
        "https://NEWS.Example.ORG/world/story-1",
        "HTTPS://news.example.org:443/world/story-1",
        "https://news.example.org/world/story-1#comments",
        "https://news.example.org/world/story-1?utm_source=twitter&utm_medium=social",
        "https://news.example.org/world/story-1/?fbclid=abc123&ref=home#top",
        "  https://news.example.org/world/story-1  ",
    ],
)
def test_same_url_gives_the_same_id(variant: str) -> None:
    assert article_id(variant, "any text") == article_id(
        "https://news.example.org/world/story-1", "other text"
    )


@pytest.mark.parametrize(
    "other",
    [
        "https://news.example.org/world/story-2",
        "https://news.example.org/World/story-1",
        "https://news.example.org/world/story-1?page=2",
        "https://other.example.org/world/story-1",
        "https://news.example.org:8443/world/story-1",
    ],
)
def test_different_urls_give_different_ids(other: str) -> None:
    assert article_id(other, "") != article_id("https://news.example.org/world/story-1", "")


def test_bare_query_keys_are_different_articles() -> None:
    assert normalize_url("http://example.org/story.php?12345") != normalize_url(
        "http://example.org/story.php?67890"
    )


def test_ipv6_host_keeps_its_brackets() -> None:
    assert normalize_url("http://[2001:DB8::1]:8080/a/") == "http://[2001:db8::1]:8080/a"


def test_text_ids_ignore_whitespace_and_case() -> None:
    assert article_id(None, "The Bridge  reopened\n\non Tuesday.") == article_id(
        "", "  the bridge reopened on\ttuesday. "
    )


def test_different_texts_give_different_ids() -> None:
    assert article_id(None, "The bridge reopened.") != article_id(None, "The bridge closed.")


def test_ids_are_16_hex_digits() -> None:
    for ident in (article_id("https://example.org/a", ""), article_id(None, "text")):
        assert re.fullmatch(r"[0-9a-f]{16}", ident)


# --- dates ---


def test_iso_dates() -> None:
    assert normalize_date("2017-12-05") == "2017-12-05"
    assert normalize_date(" 2017-12-05T09:30:00Z ") == "2017-12-05T09:30:00+00:00"
    assert normalize_date("2017-12-05T09:30:00+02:00") == "2017-12-05T09:30:00+02:00"
    assert normalize_date("2017-12-05 00:00:00") == "2017-12-05"


def test_rfc822_dates() -> None:
    assert normalize_date("Tue, 05 Dec 2017 09:30:00 GMT") == "2017-12-05T09:30:00+00:00"
    assert normalize_date("Tue, 05 Dec 2017 09:30:00 +0100") == "2017-12-05T09:30:00+01:00"
    assert normalize_date("Tue, 05 Dec 2017 09:30:00 EST") == "2017-12-05T09:30:00-05:00"
    assert normalize_date("Tue, 05 Dec 2017 09:30:00 PDT") == "2017-12-05T09:30:00-07:00"


def test_unknown_zone_name_gives_a_naive_time() -> None:
    assert normalize_date("Tue, 05 Dec 2017 09:30:00 CET") == "2017-12-05T09:30:00"


def test_struct_time_is_utc() -> None:
    assert normalize_date(time.gmtime(1512466200)) == "2017-12-05T09:30:00+00:00"


def test_datetime_and_date_objects() -> None:
    assert normalize_date(datetime(2017, 12, 5, 9, 30)) == "2017-12-05T09:30:00"
    aware = datetime(2017, 12, 5, 9, 30, tzinfo=UTC)
    assert normalize_date(aware) == "2017-12-05T09:30:00+00:00"
    assert normalize_date(date(2017, 12, 5)) == "2017-12-05"


@pytest.mark.parametrize("value", ["garbage", "not a date 2017 at all", "2017-13-45", "", None])
def test_garbage_is_none(value: object) -> None:
    assert normalize_date(value) is None


@pytest.mark.parametrize("value", ["5", 5, "12", 2017.5])
def test_bare_number_is_none(value: object) -> None:
    assert normalize_date(value) is None


@pytest.mark.parametrize("value", ["2017", 2017, "December 2017"])
def test_date_without_a_day_is_none(value: object) -> None:
    assert normalize_date(value) is None
