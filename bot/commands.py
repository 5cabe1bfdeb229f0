"""The index commands of the CLI: ingest, stats, list, remove, search, index check/rebuild.

Each handler parses nothing and computes little: it opens the archive, calls it, prints the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date

from bot.answer import Answer, Answerer, AnswerError
from bot.conversation import Conversation
from bot.conversation_store import ConversationStore
from bot.progress import GracefulInterrupt, IngestProgress
from bot.render import answer_json, answer_text
from bot.repl import run_repl
from bot.services import make_answerer, make_encoder, open_archive, read_limits
from corpus.errors import NewsqaError
from corpus.readers import ReadLimits, count_articles, stream_input
from corpus.types import Article, ArticleInfo, ReadFailure
from index import ArchiveError, Filters, Hit, IngestReport
from index.space import human_size
from index.vectors import AUTO_THRESHOLD

EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by SIGINT


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_filters(args: argparse.Namespace) -> Filters:
    for name in ("since", "until"):
        value = getattr(args, name, None)
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise NewsqaError(f"--{name} {value!r}: expected a date as YYYY-MM-DD") from None
    return Filters(
        sources=tuple(getattr(args, "source", None) or ()),
        since=getattr(args, "since", None),
        until=getattr(args, "until", None),
    )


def one_line(text: str) -> str:
    """Text with control characters escaped: a file name holding a newline stays on one line."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode()
                   for c in text)  # fmt: skip


def describe_article(info: ArticleInfo) -> str:
    details = ", ".join(x for x in (info.source, (info.published or "")[:10]) if x)
    return f"{info.title} ({details})" if details else info.title


def ingest(args: argparse.Namespace) -> int:
    settings = args.settings
    limits = read_limits(settings)
    report = IngestReport()
    totals = [count_articles(item) for item in args.inputs]
    total = None if None in totals else sum(t or 0 for t in totals)
    tty = sys.stderr.isatty()
    encoder = make_encoder(settings)  # the ingest's own bar replaces the encoder's
    with (
        open_archive(settings, encoder=encoder, seed_bundled=False) as archive,
        GracefulInterrupt(_say) as stop,
    ):
        progress = IngestProgress(total, sys.stderr, bar=tty)
        try:
            articles = _articles(args.inputs, limits, report, progress)
            report.merge(archive.add(articles, progress=progress.advance, stop=stop))
        finally:
            progress.close()
    if not tty and not report.interrupted:
        _say(f"newsqa: done: {progress.line(overall=True)}")
    if args.json:
        print(
            json.dumps(
                {
                    "added": [asdict(a) for a in report.added],
                    "updated": [asdict(a) for a in report.updated],
                    "unchanged": [asdict(a) for a in report.unchanged],
                    "failed": report.failed,
                    "passages": report.passages,
                    "interrupted": report.interrupted,
                    "index_dir": str(settings.index_dir),
                },
                ensure_ascii=False,
            )
        )
    else:
        print(
            f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.failed)} failed; "
            f"{report.passages} passages encoded into {settings.index_dir}"
        )
        for label, infos in (
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
        ):
            for info in infos:
                print(f"  {label:<9} {info.id}  {describe_article(info)}")
        for failure in report.failed:
            print(f"  failed    {one_line(failure)}")
    if report.interrupted:
        done = len(report.added) + len(report.updated)
        _say(
            f"newsqa: interrupted: {done:,} articles ({report.passages:,} passages) are committed "
            f"to {settings.index_dir}; run the same command again to go on (articles already "
            "stored are skipped)"
        )
        return EXIT_INTERRUPTED
    return 1 if report.failed else 0


def _articles(
    inputs: list[str], limits: ReadLimits, report: IngestReport, progress: IngestProgress
) -> Iterator[Article]:
    """The articles of every input in turn; failures go to the report as they come."""
    for item in inputs:
        if not progress.tty:
            _say(f"newsqa: reading {one_line(item)}")
        for read in stream_input(item, limits):
            progress.reading(1)
            if isinstance(read, ReadFailure):
                report.failed.append(read.message)
                progress.advance(1)
            else:
                yield read


def stats(args: argparse.Namespace) -> int:
    with open_archive(args.settings, check_model=False) as archive:
        info = archive.stats() | {"encoder": args.settings.encoder_backend}
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    rows = [
        ("index", info["index_dir"]),
        ("articles", info["articles"]),
        ("passages", info["passages"]),
        ("model", f"{info['model']} ({info['dimension']} dimensions)"),
        ("encoder", info["encoder"]),
        ("index type", _index_type(info)),
        ("size", f"{int(info['size_bytes']) / 1e6:.1f} MB"),  # type: ignore[call-overload]
        ("created", info["created"]),
        ("updated", info["updated"]),
    ]
    for name, value in rows:
        print(f"{name:<11} {value}")
    return 0


def _index_type(info: dict[str, object]) -> str:
    """ "flat (123 vectors, exact; policy auto: ivf past 50000)" and the like."""
    kind, policy = info["index_type"], info.get("index_policy", info["index_type"])
    how = f"approximate, nprobe {info.get('nprobe')}" if kind == "ivf" else "exact"
    switch = ""
    if policy == "auto" and kind == "flat":
        switch = f"; policy auto: ivf past {AUTO_THRESHOLD}"
    return f"{kind} ({info['vectors']} vectors, {how}{switch})"


def list_articles(args: argparse.Namespace) -> int:
    with open_archive(args.settings, check_model=False) as archive:
        stored = archive.articles()
    for item in stored:
        if args.json:
            print(
                json.dumps(
                    {
                        **asdict(item.info),
                        "passages": item.passages,
                        "added": item.added,
                        "updated": item.updated,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            published = (item.info.published or "")[:10] or "-"
            print(
                f"{item.info.id}  {published:<10}  {item.info.source or '-':<20.20}  "
                f"{item.passages:>4}  {item.info.title}"
            )
    if not args.json:
        print(f"{len(stored)} articles", file=sys.stderr)
    return 0


def show(args: argparse.Namespace) -> int:
    """One article as stored: its metadata and its whole text, to see what extraction kept."""
    with open_archive(args.settings, seed_bundled=False, check_model=False) as archive:
        article = archive.article(args.id)
        stored = archive.stored(article.id)
    if stored is None:  # removed by another writer in between
        raise ArchiveError(f"no article has the id {args.id!r}; see `newsqa list`")
    if args.json:
        record = {
            **asdict(article),
            "pages": list(article.pages),
            "passages": stored.passages,
            "added": stored.added,
            "updated": stored.updated,
        }
        print(json.dumps(record, ensure_ascii=False))
        return 0
    rows = [
        ("id", article.id),
        ("title", article.title),
        ("source", article.source or "-"),
        ("published", article.published or "-"),
        ("url", article.url or "-"),
        ("origin", article.origin),
        ("pages", _pages(article) or "-"),
        ("passages", stored.passages),
        ("characters", f"{len(article.text):,}"),
        ("added", stored.added),
        ("updated", stored.updated),
    ]
    for name, value in rows:
        print(f"{name:<11} {one_line(str(value))}")
    print()
    print(article.text)
    return 0


def _pages(article: Article) -> str:
    """'3 (text offsets 0, 1812, 3950)' for a paged document."""
    if not article.pages:
        return ""
    return f"{len(article.pages)} (text offsets {', '.join(map(str, article.pages))})"


def remove(args: argparse.Namespace) -> int:
    with open_archive(args.settings, check_model=False) as archive:
        removed = archive.remove(args.ids)
    for info in removed:
        print(f"removed {info.id}  {describe_article(info)}")
    return 0


def hit_json(hit: Hit) -> dict[str, object]:
    return {
        "passage_id": hit.passage.id,
        "article_id": hit.article.id,
        "title": hit.article.title,
        "source": hit.article.source,
        "published": hit.article.published,
        "url": hit.article.url,
        "origin": hit.article.origin,
        "text": hit.passage.text,
        "score": hit.score,
        "dense_score": hit.dense_score,
        "dense_rank": hit.dense_rank,
        "bm25_score": hit.bm25_score,
        "bm25_rank": hit.bm25_rank,
    }


def search(args: argparse.Namespace) -> int:
    settings = args.settings
    filters = parse_filters(args)
    with open_archive(settings) as archive:
        hits = archive.search(args.query, args.k or settings.k, filters, args.retriever)
    if args.json:
        print(json.dumps([hit_json(h) for h in hits], ensure_ascii=False))
        return 0
    if not hits:
        print("no passages match")
    for n, hit in enumerate(hits, start=1):
        why = []
        if hit.dense_score is not None:
            rank = f" #{hit.dense_rank}" if hit.dense_rank else ""
            why.append(f"dense {hit.dense_score:.3f}{rank}")
        if hit.bm25_score is not None:
            why.append(f"bm25 {hit.bm25_score:.2f} #{hit.bm25_rank}")
        print(f"{n}. {describe_article(hit.article)}  [{hit.score:.4f}; {', '.join(why)}]")
        print(f"   article {hit.article.id}, passage {hit.passage.id}")
        print("   " + " ".join(hit.passage.text.split()))
        print()
    return 0


def index_maintenance(args: argparse.Namespace) -> int:
    if args.action == "rebuild":
        return _rebuild(args)
    if args.action == "compact":
        return _compact(args)
    try:
        archive = open_archive(args.settings, seed_bundled=False, check_model=False)
    except ArchiveError as e:
        print(f"problem: {e}")
        return 1
    with archive:
        try:
            problems = archive.check()
        except ArchiveError as e:  # the database broke while being read
            problems = [str(e)]
    if problems:
        for problem in problems:
            print(f"problem: {problem}")
        print(
            "run `newsqa index rebuild` to rebuild the vectors, full-text index and manifest "
            "(and to save what can be read of a damaged database)"
        )
        return 1
    print(f"ok: {args.settings.index_dir}")
    return 0


def _compact(args: argparse.Namespace) -> int:
    """Give the database's free pages back to the disk."""
    with open_archive(args.settings, seed_bundled=False, check_model=False) as archive:
        before, after = archive.compact()
    print(
        f"compacted {args.settings.index_dir}/newsqa.sqlite: {human_size(before)} -> "
        f"{human_size(after)}"
    )
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    """Rebuild from the stored passages; from a damaged database, first save what is readable."""
    from index.archive import DATABASE, Archive
    from index.recovery import database_problem, salvage_index

    settings = args.settings
    problem = database_problem(settings.index_dir / DATABASE)
    if problem is not None:
        _say(f"newsqa: the database is damaged; saving what can still be read ({problem})")
        report = salvage_index(
            settings.index_dir, lambda model: make_encoder(settings, model=model)
        )
        print(
            f"saved {report.articles} articles into a fresh database ({report.reencoded} encoded "
            f"again); the damaged file is kept as {report.kept}"
        )
        for line in report.lost:
            print(f"lost: {line}")
    with Archive.recover(settings.index_dir) as archive:
        # the model loads only if a stored vector is damaged and must be encoded again
        again = archive.rebuild(make_encoder(settings, model=archive.manifest.model))
        info = archive.stats()
    print(f"rebuilt {info['index_dir']}: {info['articles']} articles, {info['passages']} passages")
    if again:
        print(f"encoded again: {again} passages whose stored vectors were damaged")
    return 1 if problem is not None and report.lost else 0


def _answer_one(
    answerer: Answerer, question: str, args: argparse.Namespace, k: int, as_of: date | None = None
) -> Answer:
    as_of = as_of or parse_as_of(getattr(args, "as_of", None))
    answer = answerer.answer(question, k, parse_filters(args), as_of=as_of)
    for _ in range(args.more):
        if not answer.more:
            break
        answer = answerer.answer(
            question, k, parse_filters(args), offset=answer.next_offset, as_of=as_of
        )
    return answer


def parse_as_of(value: object) -> date | None:
    """`--as-of` or a JSON line's "as_of": a YYYY-MM-DD day, or None."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise NewsqaError(f"as of {value!r}: expected a date as YYYY-MM-DD") from None


def ask(args: argparse.Namespace) -> int:
    """One question, or with `--json -` one question per line of standard input; a line may be
    `{"question": ..., "conversation": ID}`, and lines of one conversation are its turns."""
    settings = args.settings
    k = args.k or settings.k
    filters = parse_filters(args)  # fail on a bad date before loading the model
    if args.conversation is not None and args.more:
        raise NewsqaError("--more pages one question; it cannot be combined with --conversation")
    parse_as_of(getattr(args, "as_of", None))
    answerer = make_answerer(settings)
    with answerer.archive:
        if args.question == "-":
            conversations: dict[str, Conversation] = {}
            quiet_s = settings.conversation_minutes * 60
            for line in sys.stdin:
                if not line.strip():
                    continue
                question, conversation_id, as_of = line.strip(), None, None
                try:
                    question, conversation_id, as_of = _turn_line(question)
                    as_of = as_of or parse_as_of(getattr(args, "as_of", None))
                    if conversation_id is None:
                        answer = _answer_one(answerer, question, args, k, as_of)
                    else:
                        conversation = conversations.setdefault(
                            conversation_id, Conversation(conversation_id, quiet_s=quiet_s)
                        )
                        answer = conversation.ask(answerer, question, k, filters, as_of=as_of)
                except NewsqaError as e:  # one bad line must not end the batch
                    if not args.json:
                        raise
                    record = {"question": question, "conversation": conversation_id}
                    print(json.dumps(record | {"error": str(e)}, ensure_ascii=False), flush=True)
                    continue
                _print_answer(answer, args.json, conversation=conversation_id)
            return 0
        if args.conversation is not None:
            store = ConversationStore(settings.state_dir, settings.conversation_minutes * 60)
            now = time.time()
            conversation = store.load(args.conversation, now)
            answer = conversation.ask(
                answerer, args.question, k, filters, now=now,
                as_of=parse_as_of(getattr(args, "as_of", None)),
            )  # fmt: skip
            store.save(conversation, now)
            _print_answer(answer, args.json, conversation=args.conversation)
            return 0
        answer = _answer_one(answerer, args.question, args, k)
        _print_answer(answer, args.json, next_page=args.more + 1)
    return 0


def _turn_line(line: str) -> tuple[str, str | None, date | None]:
    """A line of `ask --json -`: plain text is a question alone; a JSON object is a question
    and, if it names them, the conversation it continues and the day to answer as of."""
    if not line.startswith("{"):
        return line, None, None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise AnswerError(f"a line starting with {{ must be a JSON object: {e}") from None
    question, conversation = record.get("question"), record.get("conversation")
    if not isinstance(question, str) or not (conversation is None or isinstance(conversation, str)):
        raise AnswerError('expected {"question": "...", "conversation": "ID"} (strings)')
    return question, conversation, parse_as_of(record.get("as_of"))


def _print_answer(
    answer: Answer, as_json: bool, next_page: int = 1, conversation: str | None = None
) -> None:
    if as_json:
        record = answer_json(answer) | {"conversation": conversation}
        print(json.dumps(record, ensure_ascii=False), flush=True)
    else:
        print(answer_text(answer, next_page), flush=True)


def repl(args: argparse.Namespace) -> int:
    settings = args.settings
    if args.k:
        from dataclasses import replace

        settings = replace(settings, k=args.k)
    return run_repl(settings, lambda: make_answerer(settings))
