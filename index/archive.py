"""An index directory: open or create it, add and remove articles atomically, search it.

Layout of the directory:

    manifest.json              what the index holds (model, dimension, counts, versions, times)
    newsqa.sqlite              articles, passages with their vectors, FTS5; the commit point
    vectors.<generation>.faiss the FAISS index for one committed generation
    lexical.<generation>.npz   BM25 postings of that generation, derived from SQLite's FTS5 index
                               (index/postings.py), stamped with its generation (`_stamp`)

A write encodes first, then, holding the writer lock: opens a SQLite transaction, applies the
changes, writes the next generation's FAISS file (temporary file, fsync, rename), commits (the
generation number lives in SQLite, so the commit switches both at once), then rewrites the manifest
and removes the previous generation's files; the BM25 postings file is written beside the FAISS
file the same way. A crash at any point leaves the last committed generation whole: SQLite rolls
back, and that generation's FAISS file is still there. A postings file that is missing, or whose
stamp is not the committed generation's, is built again from SQLite.

Only the committed generation's files are kept (one copy of the vectors, not two). A reader
reads the generation from SQLite, then opens its file: a file already open when a writer removes
it stays readable to the end (POSIX unlink), and one removed before it was opened means a writer
committed meanwhile, so the reader reads the generation again and loads the new file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from corpus.dedup import signature
from corpus.ids import content_hash
from corpus.quotes import extract_quotes
from corpus.split import SplitConfig, embedding_text, split_passages
from corpus.types import Article, ArticleInfo, Passage
from index.encoder import Encoder
from index.errors import (
    ArchiveError,
    EncoderError,
    IndexCorruptError,
    IndexLockedError,
    IndexNotFoundError,
    ModelMismatchError,
)
from index.integrity import DamagedVector, damaged_vectors, file_sha256
from index.manifest import MANIFEST, Manifest, read_manifest, write_manifest
from index.postings import Postings, postings_file
from index.search import SearchConfig, Searching
from index.sentences import encode_sentences
from index.space import disk_space, is_disk_full
from index.store import Store, StoredArticle, as_stored
from index.vectors import FLAT, VectorIndex

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from index.recovery import Salvaged

DATABASE = "newsqa.sqlite"
LOCK = ".write.lock"
WRITE_BATCH_ARTICLES = 2000  # salvage re-inserts this many articles per commit
# An ingest commits after this much article text: at least MIN (about 2,000 articles), a quarter of
# the index's own size as it grows (every commit rewrites the vector file, so a bulk load of N
# passages writes the file a bounded number of times, not N / 2,000 times), at most MAX (memory:
# about 100,000 passages' vectors pending).
MIN_BATCH_CHARS = 2_000_000
MAX_BATCH_CHARS = 60_000_000
PASSAGE_CHARS = 600  # a typical passage, to size the index in characters
ENCODE_PASSAGES = 64  # about this many passages (guessed from length) are encoded at a time
EMPTY_INDEX_BYTES = 200_000  # about what a new, empty index directory takes
READ_TRIES = 5  # a reader reads the generation again when a writer removed its files meanwhile
POSTINGS_BYTES = 800  # per passage in lexical.*.npz (measured: ~85 tokens a passage, 8 bytes each)


def vectors_file(generation: int) -> str:
    return f"vectors.{generation:08d}.faiss"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class IngestReport:
    """What one `add` did, article by article."""

    added: list[ArticleInfo] = field(default_factory=list)
    updated: list[ArticleInfo] = field(default_factory=list)
    unchanged: list[ArticleInfo] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    passages: int = 0
    interrupted: bool = False  # stopped early: what was encoded is committed, the rest is not

    def merge(self, other: IngestReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.passages += other.passages
        self.interrupted = self.interrupted or other.interrupted


def _info(article: Article) -> ArticleInfo:
    return ArticleInfo(
        article.id,
        article.title,
        article.url,
        article.source,
        article.published,
        article.origin,
        article.pages,
    )


def storable(article: Article) -> Article:
    """The article as the index stores it: a NUL character in its text becomes a space (every
    offset stays), since SQLite's substr(), which reads a passage out of its article's text
    (schema 7), stops at one."""
    if "\x00" not in article.text:
        return article
    return replace(article, text=article.text.replace("\x00", " "))


def article_hash(article: Article) -> str:
    return content_hash(article.title, article.text, article.url, article.source, article.published)


def _is_file_origin(origin: str) -> bool:
    """Articles read from a whole file (not a URL, a JSONL line or a bundled name) track it."""
    return origin.startswith("/") and ":" not in origin


@dataclass
class _Change:
    deletes: list[str] = field(default_factory=list)
    inserts: list[tuple[Article, str, list[Passage], NDArray[np.float32]]] = field(
        default_factory=list
    )
    keep_added: dict[str, str] = field(default_factory=dict)
    sentence_vectors: dict[str, list[NDArray[np.float32]]] = field(default_factory=dict)


class Archive(Searching):
    """A newsqa index directory, open for searching and (under a lock) writing."""

    def __init__(
        self,
        directory: Path,
        encoder: Encoder,
        store: Store,
        manifest: Manifest,
        search_config: SearchConfig,
        load_vectors: bool = True,
    ):
        self.directory = directory
        self.encoder = encoder
        self.store = store
        self.manifest = manifest
        self.search_config = search_config
        self.split_config = SplitConfig(**manifest.split)
        self._vectors = VectorIndex.create(manifest.dimension, manifest.index_type)
        self._generation = -1
        self._stamp_loaded = ""  # the loaded generation's stamp (`_stamp`), its postings' too
        self._postings: Postings | None = None  # of the loaded generation, read when first needed
        if load_vectors:
            self.refresh()

    # opening

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / MANIFEST).exists() or (directory / DATABASE).exists()

    @classmethod
    def open(
        cls,
        directory: Path,
        encoder: Encoder,
        *,
        create: bool = False,
        index_type: str = FLAT,
        split: SplitConfig | None = None,
        search: SearchConfig | None = None,
    ) -> Archive:
        """Open the index in `directory`; with create=True, make an empty one if there is none."""
        directory = Path(directory)
        search = search or SearchConfig()
        if not cls.exists(directory):
            if not create:
                raise IndexNotFoundError(
                    f"no index in {directory}; build one with `newsqa ingest PATH...`"
                )
            _check_empty(directory)
            directory.mkdir(parents=True, exist_ok=True)
            with locked(directory):  # two first ingests at once: one creates, the other opens
                if not cls.exists(directory):
                    _check_empty(directory)
                    with disk_space(directory, lambda: EMPTY_INDEX_BYTES, "creating an index"):
                        return cls._create(
                            directory, encoder, index_type, split or SplitConfig(), search
                        )
        manifest = read_manifest(directory)
        store = Store(directory / DATABASE)
        try:
            for key in ("model", "dimension", "index_type"):  # the database is the truth
                stored = store.get_meta(key)
                if stored != str(getattr(manifest, key)):
                    raise IndexCorruptError(
                        f"manifest.json in {directory} says {key} {getattr(manifest, key)!r} but "
                        f"the database holds {stored!r}; run `newsqa index rebuild` to rewrite it"
                    )
            if manifest.model != encoder.name:
                raise ModelMismatchError(
                    f"the index in {directory} was built with model {manifest.model!r}, but the "
                    f"configured model is {encoder.name!r}; set NEWSQA_MODEL={manifest.model} "
                    "(or --model) to use it, or build a new index in another directory"
                )
        except ArchiveError:
            store.close()
            raise
        return cls(directory, encoder, store, manifest, search)

    @classmethod
    def _create(
        cls,
        directory: Path,
        encoder: Encoder,
        index_type: str,
        split: SplitConfig,
        search: SearchConfig,
    ) -> Archive:
        now = _now()
        manifest = Manifest(
            model=encoder.name,
            dimension=encoder.dimension,
            index_type=index_type,
            split=asdict(split),
            created=now,
            updated=now,
            versions=_versions(),
        )
        store = None
        try:
            digest = VectorIndex.create(manifest.dimension, index_type).save(
                directory / vectors_file(0)
            )
            manifest = replace(manifest, vectors_sha256=digest)
            store = Store(directory / DATABASE, create=True)
            with store.transaction() as db:
                Store.set_meta(db, "vectors_sha256", digest)
                for key in ("model", "dimension", "index_type", "created"):
                    Store.set_meta(db, key, str(getattr(manifest, key)))
                Store.set_meta(db, "split", json.dumps(manifest.split))
                Store.set_meta(db, "generation", "0")
                Store.set_meta(db, "updated", now)
            write_manifest(directory, manifest)
        except BaseException:
            if store is not None:
                store.close()
            for path in directory.iterdir():  # the directory was empty: leave it so again
                if path.name != LOCK:
                    path.unlink(missing_ok=True)
            raise
        return cls(directory, encoder, store, manifest, search)

    @classmethod
    def recover(cls, directory: Path) -> Archive:
        """Open a damaged index for `rebuild`: the manifest and FAISS file are not trusted."""
        from index.encoder import SentenceTransformerEncoder  # named only; rebuild encodes nothing

        store = Store(Path(directory) / DATABASE)
        meta = {
            k: store.get_meta(k) for k in ("model", "dimension", "index_type", "split", "created")
        }
        if not meta["model"] or not meta["dimension"]:
            store.close()
            raise IndexCorruptError(
                f"{directory}/{DATABASE} holds no index metadata; it cannot be rebuilt"
            )
        manifest = Manifest(
            model=str(meta["model"]),
            dimension=int(str(meta["dimension"])),
            index_type=meta["index_type"] or FLAT,
            split=json.loads(meta["split"] or "{}") or asdict(SplitConfig()),
            created=meta["created"] or _now(),
            versions=_versions(),
        )
        encoder = SentenceTransformerEncoder(manifest.model)
        return cls(Path(directory), encoder, store, manifest, SearchConfig(), load_vectors=False)

    def add_salvaged(self, found: Salvaged) -> int:
        """Add salvaged articles, with their stored vectors where every passage survived, else
        split and encoded again; returns how many were encoded again."""
        reencoded = 0
        for first in range(0, len(found.articles), WRITE_BATCH_ARTICLES):
            change = _Change()
            again: list[tuple[Article, str, list[Passage]]] = []
            for read, digest, added in found.articles[first : first + WRITE_BATCH_ARTICLES]:
                article = storable(read)
                digest = article_hash(article) if article != read or not digest else digest
                if added:
                    change.keep_added[article.id] = added
                passages = split_passages(article.id, article.text, self.split_config)
                stored = sorted(found.passages.get(article.id, []), key=lambda s: s[0].ordinal)
                if [(p.ordinal, p.start, p.text, p.sentences) for p, _, _ in stored] != [
                    (p.ordinal, p.start, p.text, p.sentences) for p in passages
                ]:
                    again.append((article, digest, passages))
                    continue
                vectors = np.stack([vector for _, vector, _ in stored])
                change.inserts.append((article, digest, passages, vectors))
                sentences = [vectors for _, _, vectors in stored if vectors is not None]
                if len(sentences) == len(stored):  # else encoded when an answer needs them
                    change.sentence_vectors[article.id] = sentences
            if again:
                self._encode_into(change, again)
                reencoded += len(again)
            if change.inserts:
                with self._write_lock():
                    self._commit(change)
        return reencoded

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def refresh(self) -> bool:
        """Load the newest committed generation's vectors if another writer made one."""
        for _ in range(READ_TRIES):
            if self._stored_generation() == self._generation:
                return False  # the common case: one indexed lookup, no counting
            generation, passages, key = self._snapshot()
            try:
                vectors = VectorIndex.load(
                    self.directory / vectors_file(generation), self.manifest.index_type
                )
            except IndexCorruptError:
                if self._stored_generation() != generation:
                    continue  # a writer moved on and removed it; read the newer one
                raise
            if len(vectors) != passages:
                raise IndexCorruptError(
                    f"{vectors_file(generation)} holds {len(vectors)} vectors but the database "
                    f"{passages} passages; run `newsqa index rebuild`"
                )
            self._vectors, self._generation, self._stamp_loaded = vectors, generation, key
            self._postings = None
            return True
        raise IndexLockedError(f"{self.directory} changes too fast to read; try again")

    def postings(self) -> Postings:
        """The loaded generation's BM25 postings: from its file when the file's stamp is that
        generation's, else built from SQLite's FTS5 index (and saved for the next reader)."""
        for _ in range(READ_TRIES):
            self.refresh()  # another writer (or process) may have committed since the last search
            if self._postings is not None and self._postings.key == self._stamp_loaded:
                return self._postings
            postings = self._load_postings()
            if postings is None and self._stored_generation() != self._generation:
                continue  # a writer committed and removed the file meanwhile: read the new one
            self._postings = postings if postings is not None else self._build_postings()
            return self._postings
        raise IndexLockedError(f"{self.directory} changes too fast to read; try again")

    def _load_postings(self) -> Postings | None:
        """The loaded generation's postings file, if it is there, readable and its own."""
        path = self.directory / postings_file(self._generation)
        if not path.exists():
            return None
        try:
            postings = Postings.load(path)
        except IndexCorruptError:
            return None
        if postings.key != self._stamp_loaded or len(postings) != len(self._vectors):
            return None
        return postings

    def _build_postings(self) -> Postings:
        with self.store.snapshot():
            generation, passages, key = self._snapshot()
            raw = self.store.fts_postings()
        if generation != self._generation or passages != len(self._vectors):
            return Postings.from_raw(raw, self._stamp_loaded)  # a writer moved on: not saved
        postings = Postings.from_raw(raw, key)
        with contextlib.suppress(OSError):  # read-only: the next reader builds it again
            postings.save(self.directory / postings_file(generation))
        return postings

    def _stored_generation(self) -> int:
        return self.store.generation()

    def _snapshot(self) -> tuple[int, int, str]:
        """The committed generation, its passage count and its stamp, read in one statement
        (one snapshot)."""
        rows = self.store.query(
            "SELECT (SELECT value FROM meta WHERE key = 'generation'),"
            " (SELECT count(*) FROM passages),"
            " (SELECT value FROM meta WHERE key = 'updated'),"
            " (SELECT value FROM meta WHERE key = 'vectors_sha256')"
        )
        generation = int(rows[0][0] or 0)
        return generation, int(rows[0][1]), _stamp(generation, rows[0][2], rows[0][3])

    @property
    def generation(self) -> int:
        """The committed generation loaded; it changes whenever the archive does."""
        return self._generation

    # writing

    @contextmanager
    def _write_lock(self, timeout: float = 60.0, refresh: bool = True) -> Iterator[None]:
        with locked(self.directory, timeout):
            if refresh:
                self.refresh()
                # a writer killed after its commit left these behind: finish its work
                if self.manifest.generation != self._generation:
                    self._write_manifest(updated=self.store.get_meta("updated") or _now())
                self._remove_stale_files(self._generation)
            yield

    def add(
        self,
        articles: Iterable[Article],
        *,
        progress: Callable[[int, int], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> IngestReport:
        """Add new articles, replace changed ones, skip unchanged ones; never re-encode the rest.

        `articles` is read lazily, encoded a few at a time as it is read, and committed in
        batches. `progress(articles, passages)` hears of each step done; once `stop()` says so,
        what is encoded is committed and the rest is left for the next run
        (`report.interrupted`).
        """
        report = IngestReport()
        stream = iter(articles)
        seen: set[str] = set()
        more = True
        while more and not report.interrupted:
            part, more = self._add_batch(stream, seen, progress, stop)
            report.merge(part)
        return report

    def _batch_chars(self) -> int:
        """How much article text one commit takes: grows with the index, within bounds."""
        grown = self.passage_count * PASSAGE_CHARS // 4
        return min(MAX_BATCH_CHARS, max(MIN_BATCH_CHARS, grown))

    def _add_batch(
        self,
        stream: Iterator[Article],
        seen: set[str],
        progress: Callable[[int, int], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[IngestReport, bool]:
        """Read, encode and commit about one batch of `stream`; whether it may hold more."""
        report = IngestReport()
        change = _Change()
        limit, size, more = self._batch_chars(), 0, False
        pending: list[Article] = []
        estimate = 0  # passages pending, guessed from their length
        with self._write_lock():
            for read in stream:
                article = storable(read)
                if stop is not None and stop():
                    report.interrupted = True
                    break
                if article.id in seen:
                    report.unchanged.append(_info(article))
                    if progress is not None:
                        progress(1, 0)
                    continue
                seen.add(article.id)
                pending.append(article)
                size += len(article.text)
                estimate += len(article.text) // PASSAGE_CHARS + 1
                # encoded as read, so progress moves and a stop keeps what was read before it
                if estimate >= ENCODE_PASSAGES:
                    self._encode_chunk(pending, seen, change, report, progress)
                    pending, estimate = [], 0
                if size >= limit:
                    more = True
                    break
            if pending and not report.interrupted:
                self._encode_chunk(pending, seen, change, report, progress)
            if change.inserts or change.deletes:
                self._commit(change)
        return report, more

    def _encode_chunk(
        self,
        articles: list[Article],
        incoming: set[str],
        change: _Change,
        report: IngestReport,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Encode the new and changed ones of `articles` into `change`; report each."""
        hashes = self.store.article_hashes(a.id for a in articles)
        pending: list[tuple[Article, str, list[Passage]]] = []
        unchanged = 0
        for article in articles:
            digest = article_hash(article)
            if hashes.get(article.id) == digest:
                report.unchanged.append(_info(article))
                unchanged += 1
                continue
            replaced = [article.id] if article.id in hashes else []
            if not replaced and _is_file_origin(article.origin):
                replaced = [
                    old
                    for old in self.store.article_ids_by_origin(article.origin)
                    if old not in incoming
                ]
            (report.updated if replaced else report.added).append(_info(article))
            change.deletes += replaced
            first_added = self.store.added_dates(replaced).values()
            if first_added:
                change.keep_added[article.id] = min(first_added)
            pending.append((article, digest, split_passages(article.id, article.text,
                                                            self.split_config)))  # fmt: skip
        encoded = self._encode_into(change, pending) if pending else 0
        report.passages += encoded
        if progress is not None:
            progress(len(articles), encoded)

    def _encode_into(
        self, change: _Change, pending: Sequence[tuple[Article, str, list[Passage]]]
    ) -> int:
        """Encode the passages (with their article's title) and the sentences of `pending`, and
        add them to `change` as inserts; returns how many passages were encoded."""
        change.sentence_vectors.update(
            encode_sentences(self.encoder, [(a.id, passages) for a, _, passages in pending])
        )
        vectors = as_stored(
            self.encoder.encode_documents(
                [embedding_text(a.title, p.text) for a, _, passages in pending for p in passages]
            )
        )
        offset = 0
        for article, digest, passages in pending:
            end = offset + len(passages)
            change.inserts.append((article, digest, passages, vectors[offset:end]))
            offset = end
        return offset

    def article(self, prefix: str) -> Article:
        """The stored article with this id (or unique id prefix)."""
        matches = self.store.find_article_ids(prefix) if prefix else []
        if len(matches) != 1:
            why = "no article has" if not matches else f"{len(matches)} articles have"
            raise ArchiveError(f"{why} the id {prefix!r}; see `newsqa list`")
        article = self.store.get_article(matches[0])
        if article is None:  # removed by another writer in between
            raise ArchiveError(f"no article has the id {prefix!r}; see `newsqa list`")
        return article

    def remove(self, article_ids: Sequence[str]) -> list[ArticleInfo]:
        """Delete articles by id (or unique id prefix); returns what was removed."""
        with self._write_lock():
            found = [_info(self.article(prefix)) for prefix in article_ids]
            self._commit(_Change(deletes=[info.id for info in found]))
            return found

    def _commit(self, change: _Change) -> None:
        generation = self._generation + 1
        now = _now()
        with disk_space(self.directory, lambda: self._bytes_needed(change), _what(change)):
            self._commit_change(change, generation, now)
        self._generation = generation
        self._after_commit(generation, now)

    def _bytes_needed(self, change: _Change) -> int:
        """About how much a commit writes: the next vector file whole, and the new rows (text,
        full-text index, passage and sentence vectors)."""
        d = self.manifest.dimension
        passages = [p for _, _, ps, _ in change.inserts for p in ps]
        # measured: 3,000 articles (27,000 passages, 64 dimensions) took 93 MB of SQLite
        # a sentence's int8 vector and key, counted for every passage it is in (a bound)
        rows = sum(4 * len(p.text.encode()) + 2 * d + (d + 40) * len(p.sentences) for p in passages)
        rows += sum(2 * len(a.text.encode()) for a, _, _, _ in change.inserts)
        return (len(self._vectors) + len(passages)) * (4 * d + 8 + POSTINGS_BYTES) + rows

    def _after_commit(self, generation: int, now: str) -> None:
        """The manifest and stale files. On a disk too full for a new manifest the commit still
        stands: the next write brings the manifest up to date."""
        try:
            self._write_manifest(updated=now)
        except OSError as e:
            if not is_disk_full(e):
                raise
        self._remove_stale_files(generation)

    def _commit_change(self, change: _Change, generation: int, now: str) -> None:
        previous = self.postings()
        try:
            with self.store.transaction() as db:
                old_ids = np.array(self.store.passage_ids_of(db, change.deletes), dtype=np.int64)
                Store.delete_articles(db, change.deletes)
                new_ids: list[int] = []
                new_vectors = []
                for article, digest, passages, vectors in change.inserts:
                    new_ids += Store.insert_article(
                        db,
                        article,
                        digest,
                        now,
                        passages,
                        vectors,
                        change.keep_added.get(article.id),
                        change.sentence_vectors.get(article.id),
                    )
                    new_vectors.append(vectors)
                    sig = signature(article.text)
                    Store.insert_signature(
                        db, article.id, sig, Store.find_story(db, sig, article.id, article.text)
                    )
                    Store.insert_quotes(db, article.id, extract_quotes(article))
                Store.set_meta(db, "generation", str(generation))
                Store.set_meta(db, "updated", now)
                self._vectors.remove(old_ids)
                if new_ids:
                    self._vectors.add(np.array(new_ids, np.int64), np.concatenate(new_vectors))
                digest = self._vectors.save(self.directory / vectors_file(generation))
                Store.set_meta(db, "vectors_sha256", digest)
                stamp = _stamp(generation, now, digest)
                postings = previous.changed(old_ids, self.store.fts_postings(new_ids), stamp)
                postings.save(self.directory / postings_file(generation))
        except BaseException:
            self._generation = -1  # the in-memory vectors may hold the failed change
            self._postings = None
            self.refresh()
            raise
        self._stamp_loaded, self._postings = stamp, postings

    def _write_manifest(self, updated: str) -> None:
        articles, passages = self.store.counts()
        self.manifest = Manifest(
            **{
                **asdict(self.manifest),
                "articles": articles,
                "passages": passages,
                "generation": self._generation,
                "updated": updated,
                "versions": _versions(),
                "vectors_sha256": self.store.get_meta("vectors_sha256") or "",
            }
        )
        write_manifest(self.directory, self.manifest)

    def _remove_stale_files(self, generation: int) -> None:
        """FAISS and postings files of older generations: a reader still loading one has it open
        (it stays readable), and one that has not opened it yet reads the new generation
        instead (`refresh`, `postings`)."""
        found = self.directory.glob("vectors.*.faiss*")
        for path in [*found, *self.directory.glob("lexical.*.npz*")]:
            stem = path.name.split(".")[1]
            if path.name.endswith(".tmp") or (stem.isdigit() and int(stem) < generation):
                path.unlink(missing_ok=True)

    def rebuild(self, encoder: Encoder | None = None) -> int:
        """Rewrite the FAISS file, the full-text index and the manifest from the stored passages.

        Stored vectors found damaged (see index/integrity.py) are encoded again with `encoder`
        (the index's model), and damaged sentence vectors dropped; returns how many passages
        were encoded again."""
        d = self.manifest.dimension
        with self._write_lock(refresh=False):
            damaged = list(damaged_vectors(self.store.iter_vectors_with_sentences(d)))
            again = self._encode_again([x.passage_id for x in damaged if x.vector], encoder)
            vectors = VectorIndex.create(d, self.manifest.index_type)
            for ids, batch in self.store.iter_embeddings(d):
                if again:
                    batch = np.stack(
                        [again.get(int(i), v) for i, v in zip(ids, batch, strict=True)]
                    )
                vectors.add(ids, batch)
            self._vectors = vectors
            self._commit_rebuild(again, damaged)
            return len(again)

    def _encode_again(
        self, passage_ids: list[int], encoder: Encoder | None
    ) -> dict[int, NDArray[np.float32]]:
        """New vectors for these passages (title and text, as at ingest)."""
        if not passage_ids:
            return {}
        if encoder is None:
            raise EncoderError(f"{len(passage_ids)} stored vectors are damaged; no model to encode")
        found = self.store.passages(passage_ids)
        ids = sorted(found)
        texts = [embedding_text(found[i][1].title, found[i][0].text) for i in ids]
        vectors = as_stored(encoder.encode_documents(texts))
        return {i: vectors[n] for n, i in enumerate(ids)}

    def _commit_rebuild(
        self,
        again: dict[int, NDArray[np.float32]] | None = None,
        damaged: Sequence[DamagedVector] = (),
    ) -> None:
        generation = max(self._generation, self.store.generation()) + 1
        now = _now()

        def needed() -> int:  # the vector file, and the full-text index made again
            text = self.store.query("SELECT coalesce(sum(length), 0) FROM passages")[0][0]
            return len(self._vectors) * (4 * self.manifest.dimension + 8) + 2 * int(text)

        with disk_space(self.directory, needed, "rebuilding the index"):
            self._commit_rebuild_change(generation, now, again or {}, damaged)
        self._generation = generation
        self._after_commit(generation, now)

    def _commit_rebuild_change(
        self,
        generation: int,
        now: str,
        again: dict[int, NDArray[np.float32]],
        damaged: Sequence[DamagedVector],
    ) -> None:
        with self.store.transaction() as db:
            for item in damaged:
                Store.repair_vectors(
                    db, item.passage_id, again.get(item.passage_id), item.sentences
                )
            db.execute("INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')")
            for article in self.store.articles_without_quotes():
                Store.insert_quotes(db, article.id, extract_quotes(article))
            for article_id, text in self.store.articles_without_signature():
                sig = signature(text)
                story = Store.find_story(db, sig, article_id, text)
                Store.insert_signature(db, article_id, sig, story)
            Store.set_meta(db, "generation", str(generation))
            Store.set_meta(db, "updated", now)
            digest = self._vectors.save(self.directory / vectors_file(generation))
            Store.set_meta(db, "vectors_sha256", digest)
            stamp = _stamp(generation, now, digest)
            postings = Postings.from_raw(self.store.fts_postings(), stamp)
            postings.save(self.directory / postings_file(generation))
        self._stamp_loaded, self._postings = stamp, postings

    def compact(self) -> tuple[int, int]:
        """Give the database's free pages back to the disk (left by a schema migration or by
        removed articles; later writes would reuse them anyway); returns its size in bytes
        before and after. Needs about the database's size free meanwhile."""
        path = self.directory / DATABASE
        before = path.stat().st_size
        with self._write_lock(), disk_space(self.directory, lambda: before, "compacting"):
            self.store.vacuum()
        return before, path.stat().st_size

    # reading

    def stats(self) -> dict[str, object]:
        self.refresh()
        articles, passages = self.store.counts()
        size = sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())
        return {
            "articles": articles,
            "passages": passages,
            "model": self.manifest.model,
            "dimension": self.manifest.dimension,
            "index_type": self._vectors.kind,  # what searches now; the policy may switch it
            "index_policy": self.manifest.index_type,
            "nprobe": self._vectors.nprobe,
            "vectors": len(self._vectors),
            "generation": self._generation,
            "created": self.manifest.created,
            "updated": self.store.get_meta("updated") or self.manifest.updated,
            "index_dir": str(self.directory),
            "size_bytes": size,
            "versions": self.manifest.versions,
        }

    def articles(self) -> list[StoredArticle]:
        return self.store.list_articles()

    def stored(self, article_id: str) -> StoredArticle | None:
        """What the index keeps beside an article's text: passage count, when added."""
        return next(iter(self.store.list_articles_by_id([article_id])), None)

    def check(self) -> list[str]:
        """Every problem found in the directory; an empty list means the index is sound."""
        problems = self.store.integrity_problems()
        _, passages = self.store.counts()
        if len(self._vectors) != passages:
            problems.append(f"vector file holds {len(self._vectors)} vectors, database {passages}")
        vectors = sum(len(ids) for ids, _ in self.store.iter_embeddings(self.manifest.dimension))
        if vectors != passages:
            problems.append(f"{passages - vectors} passages have no stored vector")
        for key in ("model", "dimension", "index_type"):
            stored = self.store.get_meta(key)
            if stored != str(getattr(self.manifest, key)):
                problems.append(
                    f"manifest {key} {getattr(self.manifest, key)!r} differs from "
                    f"the database's {stored!r}"
                )
        problems += self._checksum_problems()
        damaged = list(
            damaged_vectors(self.store.iter_vectors_with_sentences(self.manifest.dimension))
        )
        if damaged:
            problems.append(self._describe_damage(damaged))
        return problems

    def _checksum_problems(self) -> list[str]:
        """The loaded generation's vector file against the checksum recorded when it was written
        (indexes written before checksums have none until their next write)."""
        recorded = self.store.get_meta("vectors_sha256")
        name = vectors_file(self._generation)
        path = self.directory / name
        if not recorded or not path.exists():
            return []
        problems = []
        if file_sha256(path) != recorded:
            problems.append(f"{name} is damaged: its checksum differs from the one recorded "
                            "when it was written")  # fmt: skip
        manifest = self.manifest
        if manifest.generation == self._generation and manifest.vectors_sha256 not in (
            "",
            recorded,
        ):
            problems.append(f"manifest.json records another checksum for {name} than the database")
        return problems

    def _describe_damage(self, damaged: Sequence[DamagedVector]) -> str:
        """One line: how many stored vectors are damaged, why, and in which articles."""
        reasons: dict[str, int] = {}
        for item in damaged:
            for why in filter(None, (item.vector, "sentence vectors not finite" * item.sentences)):
                reasons[why] = reasons.get(why, 0) + 1
        found = self.store.passages([item.passage_id for item in damaged[:200]])
        titles = sorted({info.title for _, info in found.values()})
        named = ", ".join(repr(t) for t in titles[:5]) + (", ..." if len(titles) > 5 else "")
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        return (
            f"{len(damaged)} passages have damaged stored vectors ({why}), in articles {named}; "
            "`newsqa index rebuild` encodes them again"
        )


@contextmanager
def locked(directory: Path, timeout: float = 60.0) -> Iterator[None]:
    """Hold the directory's writer lock (one writer at a time, across processes)."""
    with open(directory / LOCK, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexLockedError(
                        f"another newsqa process is writing to {directory}; try again "
                        "when it is done"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp(generation: int, updated: str | None, vectors_sha256: str | None) -> str:
    """What identifies one committed generation; files derived from it carry this. A commit
    that crashed after writing them had another time (and vector checksum), so they are not
    taken for the generation that replaces it."""
    return f"{generation}/{updated or ''}/{vectors_sha256 or ''}"


def _what(change: _Change) -> str:
    """A commit in words, for messages: "adding 3 articles and removing 1 article"."""

    def articles(n: int) -> str:
        return f"{n} article" + "s" * (n != 1)

    parts = [f"adding {articles(len(change.inserts))}"] if change.inserts else []
    parts += [f"removing {articles(len(change.deletes))}"] if change.deletes else []
    return " and ".join(parts) or "this write"


def _check_empty(directory: Path) -> None:
    """Refuse to create an index in a directory that holds something else."""
    if directory.exists() and any(p.name != LOCK for p in directory.iterdir()):
        raise ArchiveError(
            f"{directory} is not empty and holds no newsqa index; choose another --index"
        )


def _versions() -> dict[str, str]:
    import sqlite3
    import sys
    from importlib.metadata import PackageNotFoundError, version

    import faiss

    try:
        newsqa_version = version("newsqa")
    except PackageNotFoundError:
        newsqa_version = "unknown"
    return {
        "newsqa": newsqa_version,
        "faiss": str(faiss.__version__),
        "sqlite": sqlite3.sqlite_version,
        "python": ".".join(map(str, sys.version_info[:3])),
    }
