"""Building the shared services once, from Settings: the encoder and the open archive."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from bot.answer import AnswerConfig, Answerer
from bot.evidence import FEATURES, EvidenceModel, default_model
from bot.settings import Settings, SettingsError
from corpus.bundled import bundled_articles
from corpus.fetch import FetchPolicy
from corpus.readers import ReadLimits
from corpus.split import SplitConfig
from index import Archive, SearchConfig
from index.encoder import Encoder, SentenceTransformerEncoder
from index.manifest import read_manifest
from index.onnx_encoder import OnnxEncoder
from index.search import RERANKS


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


ENCODER_BACKENDS = ("onnx", "onnx-int8", "torch")


def make_encoder(settings: Settings, model: str | None = None, progress: bool = False) -> Encoder:
    """The configured backend; "onnx" falls back to torch by itself if it cannot export."""
    name, backend = model or settings.model, settings.encoder_backend
    if backend == "torch":
        return SentenceTransformerEncoder(name, settings.batch_size, progress)
    if backend not in ENCODER_BACKENDS:
        raise SettingsError(
            f"setting encoder_backend: {backend!r} is not one of {', '.join(ENCODER_BACKENDS)}"
        )
    return OnnxEncoder(name, settings.batch_size, progress, quantize=backend == "onnx-int8")


def fetch_policy(settings: Settings) -> FetchPolicy:
    """What the private-address guard lets through (setting fetch_allow)."""
    try:
        return FetchPolicy.parse(settings.fetch_allow)
    except ValueError as e:
        raise SettingsError(f"setting fetch_allow: {e}") from e


def read_limits(settings: Settings, allow_private_urls: bool = True) -> ReadLimits:
    return ReadLimits(
        max_file_bytes=int(settings.max_file_mb * 1_000_000),
        max_article_chars=settings.max_article_chars,
        allow_private_urls=allow_private_urls,
        fetch_policy=fetch_policy(settings),
        fetch_deadline=settings.fetch_deadline,
    )


def search_config(settings: Settings) -> SearchConfig:
    if settings.rerank not in RERANKS:
        choices = ", ".join(RERANKS)
        raise SettingsError(f"setting rerank: {settings.rerank!r} is not one of {choices}")
    return SearchConfig(max_per_article=settings.max_per_article, rerank=settings.rerank)


def open_archive(
    settings: Settings,
    *,
    encoder: Encoder | None = None,
    seed_bundled: bool = True,
    check_model: bool = True,
    log: Callable[[str], None] = _stderr,
) -> Archive:
    """Open the configured index; on a first run, build it (from the bundled articles if asked).

    With check_model=False (commands that only read metadata) the index's own model is used.
    """
    directory = settings.index_dir
    if not check_model and encoder is None and Archive.exists(directory):
        encoder = make_encoder(settings, model=read_manifest(directory).model)
    encoder = encoder or make_encoder(settings, progress=sys.stderr.isatty())
    if Archive.exists(directory):
        return Archive.open(directory, encoder, search=search_config(settings))
    archive = Archive.open(
        directory,
        encoder,
        create=True,
        index_type=settings.index_type,
        split=SplitConfig(settings.passage_sentences, settings.passage_overlap),
        search=search_config(settings),
    )
    if seed_bundled:
        articles = bundled_articles()
        log(
            f"newsqa: first run: building the index in {directory} from the "
            f"{len(articles)} bundled articles…"
        )
        archive.add(articles)
    return archive


def answer_config(settings: Settings) -> AnswerConfig:
    return AnswerConfig(
        threshold=settings.answer_threshold,
        other_margin=settings.answer_other_margin,
        same_article_margin=settings.answer_same_article_margin,
    )


def evidence_model(settings: Settings) -> EvidenceModel:
    """The shipped evidence model, or the one `evidence_weights` names."""
    path = settings.evidence_weights
    if path is None:
        return default_model()
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {', '.join(sorted(unknown))}")
        return EvidenceModel.from_weights({k: float(v) for k, v in features.items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
        raise SettingsError(
            f"setting evidence_weights: {path} is not a weights file of "
            f"`python -m bot.fit_evidence` ({reason})"
        ) from e


def make_answerer(settings: Settings) -> Answerer:
    """The archive and the model, ready to answer (the model and the BM25 postings are loaded
    here, not lazily: an index from before the postings file builds it now, not on the first
    question)."""
    model = evidence_model(settings)  # a bad weights file fails before the index is opened
    archive = open_archive(settings)
    archive.encoder.load()
    archive.postings()
    return Answerer(archive, answer_config(settings), model)
