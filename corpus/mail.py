"""E-mail news alerts (.eml) and web pages saved by a browser as one file (.mhtml), both MIME
messages that the standard library's `email` package reads.

An e-mail's subject is its title, its date the date, its sender's name the outlet; its text is the
HTML part's article text, else the plain-text part. A saved page is its HTML part, read as any
page is, at the address the browser recorded.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from email.message import EmailMessage, MIMEPart

from corpus.errors import CorpusError
from corpus.html import Page, extract_page, honest_title, is_boilerplate


def _message(data: bytes, origin: str) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise CorpusError(origin, "not a MIME message (no headers)")
    return message


def _part_text(part: MIMEPart, origin: str) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError) as e:  # an unknown charset, a broken encoding
        raise CorpusError(origin, f"unreadable {part.get_content_type()} part ({e})") from e
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def email_page(data: bytes, origin: str) -> Page:
    """The article an e-mail carries, with its subject, date and sender as metadata."""
    message = _message(data, origin)
    body = message.get_body(preferencelist=("html", "plain"))
    if body is None:
        raise CorpusError(origin, "no text or HTML part in the e-mail")
    text = _part_text(body, origin)
    page = extract_page(text) if body.get_content_type() == "text/html" else None
    plain = page.text if page is not None else text
    if not plain.strip():
        raise CorpusError(origin, "no text in the e-mail")
    subject = " ".join(str(message.get("subject", "")).split()) or None
    sender_name, sender_address = email.utils.parseaddr(str(message.get("from", "")))
    domain = sender_address.rpartition("@")[2] or None
    source = sender_name if sender_name and not is_boilerplate(sender_name) else domain
    date = message.get("date")
    published = None
    if date:
        try:
            published = email.utils.parsedate_to_datetime(str(date)).isoformat()
        except (TypeError, ValueError):
            published = None
    return Page(
        text=plain,
        title=honest_title(subject, None, None, []) or (page.title if page else None),
        url=page.url if page is not None else None,
        source=source,
        published=published or (page.published if page else None),
    )


def mhtml_page(data: bytes, origin: str) -> Page:
    """The page a browser saved as MHTML, at the address it was saved from."""
    message = _message(data, origin)
    url = message.get("snapshot-content-location") or message.get("content-location")
    html_part = next((p for p in message.walk() if p.get_content_type() == "text/html"), None)
    if not isinstance(html_part, MIMEPart):
        raise CorpusError(origin, "no HTML page in the MHTML file")
    url = str(url or html_part.get("content-location") or "")
    web = url if url.startswith(("http://", "https://")) else None
    page = extract_page(_part_text(html_part, origin), web)
    if page is None:
        raise CorpusError(origin, "no article text found in the saved page")
    return page
