"""What the bot's handlers call: answering, the archive's overview, ingesting uploads and links.

Built once at start-up (`BotServices.build`) and shared by every handler. Every method blocks
(encoding, FAISS, SQLite, downloads), so handlers call them in a worker thread. Writes go through
a second, short-lived Archive on the same directory; the answering one picks up the new
generation on its next search (`Archive.refresh`), so new articles are found without a restart.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.answer import Answer, Answerer
from bot.conversation_store import ConversationStore
from bot.services import make_answerer, read_limits, search_config
from bot.settings import Settings
from bot.telegram.render import IngestSummary
from corpus.errors import CorpusError
from corpus.fetch import human_size
from corpus.readers import ReadLimits, is_url, read_file, read_input
from corpus.types import ReadResult
from index import Archive
from index.errors import DiskFullError
from index.space import is_disk_full

UPLOAD_EXTENSIONS = (".txt", ".md", ".html", ".jsonl", ".pdf", ".docx", ".eml", ".mhtml")
_UNSAFE = re.compile(r"[^\w.-]+")
_SPEAKER = re.compile(
    r"\b(?:(Mr|Ms|Mrs|Dr|Gen|General|President|Minister|Secretary|Senator|Chancellor)\.? )?"
    r"((?:[A-Z][\w’'-]+ )?[A-Z][\w’'-]+),? (?:said|says|told|warned|added|insisted|explained)\b"
)
# capitalised words before "said" that are not people
# fmt: off
_NOT_NAMES = frozenset([
    "He", "She", "They", "It", "This", "That", "The", "We", "I", "You", "On", "In", "At", "But",
    "And", "As", "When", "After", "Before", "Then", "Later", "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March", "April", "May",
    "June", "July", "August", "September", "October", "November", "December",
])
# fmt: on

log = logging.getLogger("newsqa.telegram")
# the server's path and free space go to the log, for its operator; users see only this
DISK_FULL = "The server's disk is full, so nothing was added; the bot's log has the details."


class UploadError(ValueError):
    """An upload the bot will not read (wrong type, too large); the message is for the user."""


@dataclass(frozen=True)
class Overview:
    """What /start and /stats tell about the archive."""

    articles: int
    passages: int
    outlets: tuple[str, ...]  # most articles first
    updated: str
    examples: tuple[str, ...]


def safe_filename(name: str | None) -> str:
    """An upload's name without directories, odd characters or a leading dot; keeps the suffix."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._")[:80] or "upload"
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(name: str, size: int | None, limit_bytes: int) -> None:
    """Raise UploadError unless an upload of this (sanitised) name and size may be read."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_EXTENSIONS:
        kinds = ", ".join(UPLOAD_EXTENSIONS)
        raise UploadError(f"I can read {kinds} files, not {suffix or 'files without a suffix'}.")
    if size is not None and size > limit_bytes:
        raise UploadError(
            f"That file is too large ({human_size(size)}; the limit is {human_size(limit_bytes)})."
        )


def speakers(text: str) -> list[str]:
    """People quoted in a text, most often first: a titled name ("Mr Tillerson" gives
    "Tillerson") or a full name ("Jim Mattis"); lone words ("Russia said") are not trusted."""
    names: Counter[str] = Counter()
    for match in _SPEAKER.finditer(text):
        title, name = match.groups()
        words = name.split()
        if _NOT_NAMES.intersection(words) or (not title and len(words) < 2):
            continue
        names[words[-1] if title else name] += 1
    return [name for name, _ in names.most_common()]


def example_questions(articles: Iterable[tuple[str, str]], n: int = 3) -> tuple[str, ...]:
    """Questions the archive can answer, from (title, text) pairs, newest first: what someone
    quoted in an article said, else what the article's title is about."""
    pairs = list(articles)
    quoted = [speakers(text) for _, text in pairs]
    questions: list[str] = []
    for round_ in range(max((len(names) for names in quoted), default=0)):
        for names in quoted:
            question = f"What did {names[round_]} say?" if round_ < len(names) else None
            if question and question not in questions:
                questions.append(question)
    for title, _ in pairs:
        questions.append(f"What is known about {title.rstrip('.?! ')}?")
    return tuple(questions[:n])


class BotServices:
    """The answerer and the archive operations the bot offers, shared by all handlers."""

    def __init__(self, settings: Settings, answerer: Answerer):
        self.settings = settings
        self.answerer = answerer
        self.conversations = ConversationStore(
            settings.state_dir, settings.conversation_minutes * 60
        )

    @classmethod
    def build(cls, settings: Settings) -> BotServices:
        """Open the archive and load the model (slow: call it once, at start-up)."""
        answerer = make_answerer(settings)
        answerer.archive.encoder.encode_queries(["warm up"])
        return cls(settings, answerer)

    @property
    def archive(self) -> Archive:
        return self.answerer.archive

    def close(self) -> None:
        self.conversations.close()
        self.archive.close()

    def ask(self, question: str, offset: int = 0) -> Answer:
        return self.answerer.answer(question, self.settings.k, offset=offset)

    def ask_in(self, conversation_id: str, question: str) -> Answer:
        """A question as the next turn of a conversation kept on disk (survives a restart)."""
        now = time.time()
        conversation = self.conversations.load(conversation_id, now)
        answer = conversation.ask(self.answerer, question, self.settings.k, now=now)
        self.conversations.save(conversation, now)
        return answer

    def overview(self, examples: int = 3, scan: int = 10) -> Overview:
        stats = self.archive.stats()
        stored = self.archive.articles()
        outlets = Counter(a.info.source for a in stored if a.info.source)
        newest = sorted(stored, key=lambda a: (a.info.published or "", a.added), reverse=True)
        texts = [
            (a.info.title, " ".join(p.text for p in self.archive.store.article_passages(a.info.id)))
            for a in newest[:scan]
        ]
        return Overview(
            articles=int(str(stats["articles"])),
            passages=int(str(stats["passages"])),
            outlets=tuple(name for name, _ in outlets.most_common()),
            updated=str(stats["updated"] or ""),
            examples=example_questions(texts, examples),
        )

    @property
    def upload_limit_bytes(self) -> int:
        return int(self.settings.telegram_max_upload_mb * 1_000_000)

    def ingest_upload(self, file_name: str | None, data: bytes) -> IngestSummary:
        """Read an uploaded document (written to a temporary directory) and add its articles."""
        name = safe_filename(file_name)
        check_upload(name, len(data), self.upload_limit_bytes)
        limits = dataclasses.replace(self._limits(), max_file_bytes=self.upload_limit_bytes)
        with tempfile.TemporaryDirectory(prefix="newsqa-upload-") as folder:
            path = Path(folder) / name
            try:
                path.write_bytes(data)
            except OSError as e:
                if not is_disk_full(e):
                    raise
                log.error("an upload found no room in %s: %s", folder, e)
                raise UploadError(DISK_FULL) from e
            try:
                result = read_file(path, limits)
            except CorpusError as e:
                result = ReadResult(failures=[str(e)])
            local = str(path.resolve())
            result = ReadResult(
                [
                    dataclasses.replace(a, origin=a.origin.replace(local, f"telegram:{name}"))
                    for a in result.articles
                ],
                [f.replace(local, name) for f in result.failures],
            )
        return self._add(result)

    def ingest_url(self, url: str) -> IngestSummary:
        """Fetch a link (public addresses only) and add its articles."""
        if not is_url(url):
            raise UploadError("Send a link that starts with http:// or https://.")
        return self._add(read_input(url, self._limits()))

    def _limits(self) -> ReadLimits:
        return read_limits(self.settings, allow_private_urls=False)

    def _add(self, result: ReadResult) -> IngestSummary:
        if not result.articles:
            return IngestSummary(failed=tuple(result.failures))
        try:
            with Archive.open(
                self.settings.index_dir, self.archive.encoder, search=search_config(self.settings)
            ) as writer:
                report = writer.add(result.articles)
        except DiskFullError as e:
            log.error("adding %d articles failed: %s", len(result.articles), e)
            raise UploadError(DISK_FULL) from e
        return IngestSummary(
            tuple(report.added),
            tuple(report.updated),
            tuple(report.unchanged),
            (*result.failures, *report.failed),
        )
