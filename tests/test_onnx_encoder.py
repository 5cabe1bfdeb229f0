"""The ONNX encoder: the same vectors as sentence-transformers, an atomic cached export, and a
fallback to torch when the export cannot be made."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from corpus.bundled import bundled_articles
from corpus.split import split_passages
from index.encoder import SentenceTransformerEncoder
from index.onnx_encoder import (
    EXPORT_VERSION,
    OnnxEncoder,
    _fuse,
    model_digest,
    prune_stale_exports,
)

SENTENCES = [
    "What did Lavrov say about sanctions?",
    "short",
    "",
    "The pressure of sanctions has been exhausted, he told reporters in Minsk.",
    "Ünïcödé, emoji 🙂 and punctuation!?",
    "word " * 400,  # longer than max_seq_length: truncated the same way
]


def test_digest_changes_with_the_model_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    first = model_digest(tmp_path)
    assert model_digest(tmp_path) == first
    assert model_digest(tmp_path, quantize=True) != first
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    assert model_digest(tmp_path) != first


def test_a_graph_that_cannot_be_fused_is_left_as_it_was(tmp_path: Path) -> None:
    graph = tmp_path / "model.onnx.tmp"
    graph.write_bytes(b"not a graph onnxruntime's optimizer can read")
    config = SimpleNamespace(model_type="bert", num_attention_heads=12, hidden_size=384)
    _fuse(graph, config)
    assert graph.read_bytes() == b"not a graph onnxruntime's optimizer can read"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx.tmp"]  # no temporary left


def test_exports_of_earlier_versions_are_pruned(tmp_path: Path) -> None:
    def export(name: str, info: str | None, *extra: str) -> Path:
        directory = tmp_path / name
        directory.mkdir()
        (directory / "model.onnx").write_bytes(b"graph")
        if info is not None:
            (directory / "export.json").write_text(info)
        for file in extra:
            (directory / file).write_bytes(b"")
        return directory

    new = export("new", json.dumps({"export_version": EXPORT_VERSION}))
    other = export("other-precision", json.dumps({"export_version": EXPORT_VERSION, "int8": True}))
    old = export("old", json.dumps({"export_version": "1"}))
    unrecorded = export("before-export-json", None)
    garbled = export("garbled", "[not an object")
    busy = export("exporting", None, "abc.onnx.tmp")
    (tmp_path / "stray-file").write_bytes(b"")
    removed = prune_stale_exports(tmp_path, keep=new)
    assert sorted(removed) == sorted([old, unrecorded, garbled])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [new.name, other.name, busy.name, "stray-file"]
    )
    assert prune_stale_exports(tmp_path / "missing", keep=new) == []


def test_unsupported_model_falls_back_to_torch_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = OnnxEncoder(str(tmp_path / "not-a-model"), cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="newsqa"):
        encoder.load()
    assert encoder.backend == "torch"
    assert len(caplog.records) == 1 and "ONNX encoder unavailable" in caplog.text
    assert not (tmp_path / "cache").exists()


def _bundled_texts() -> list[str]:
    passages = [p.text for a in bundled_articles() for p in split_passages(a.id, a.text)]
    sentences = [
        p.text[s:e]
        for a in bundled_articles()
        for p in split_passages(a.id, a.text)
        for s, e in p.sentences
    ]
    return SENTENCES + passages + sentences


@pytest.mark.model
def test_float32_gives_the_same_vectors_as_sentence_transformers(
    fp32_encoder: OnnxEncoder, torch_encoder: SentenceTransformerEncoder
) -> None:
    texts = _bundled_texts()
    onnx, reference = fp32_encoder.encode_documents(texts), torch_encoder.encode_documents(texts)
    assert onnx.shape == reference.shape == (len(texts), 384)
    assert onnx.dtype == np.float32
    cosines = (onnx * reference).sum(axis=1)
    assert cosines.min() >= 0.9999
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    # batching and length bucketing change nothing: one at a time gives the same vectors
    one_by_one = np.vstack([fp32_encoder.encode_queries([t]) for t in SENTENCES])
    assert np.allclose(one_by_one, onnx[: len(SENTENCES)], atol=1e-5)
    assert fp32_encoder.encode_documents([]).shape == (0, 384)


@pytest.mark.model
def test_int8_stays_close_to_sentence_transformers_and_ranks_alike(
    real_encoder: OnnxEncoder, torch_encoder: SentenceTransformerEncoder
) -> None:
    """The quantized default moves each vector a little (per-channel int8 weights); what matters
    is that similarities, and so rankings, barely change."""
    texts = _bundled_texts()
    int8, reference = real_encoder.encode_documents(texts), torch_encoder.encode_documents(texts)
    assert int8.shape == reference.shape and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    cosines = (int8 * reference).sum(axis=1)
    assert cosines.min() >= 0.97 and np.median(cosines) >= 0.99
    # every sentence against every question-like text: similarities within a few hundredths
    queries = SENTENCES[:2] + SENTENCES[3:5]
    diff = int8[: len(queries)] @ int8.T - reference[: len(queries)] @ reference.T
    assert np.abs(diff).max() < 0.06 and np.abs(diff).mean() < 0.015
    one_by_one = np.vstack([real_encoder.encode_queries([t]) for t in SENTENCES])
    assert np.allclose(one_by_one, int8[: len(SENTENCES)], atol=1e-5)
    assert real_encoder.encode_documents([]).shape == (0, 384)


@pytest.mark.model
def test_export_is_cached_and_atomic(real_encoder: OnnxEncoder, onnx_cache: Path) -> None:
    files = sorted(p for p in onnx_cache.rglob("*") if p.is_file())
    assert {f.name for f in files} == {"model.onnx", "export.json"}  # no temporary file left
    mtimes = {f: f.stat().st_mtime_ns for f in files}
    path = real_encoder.onnx_path()
    assert path in mtimes and path.stat().st_mtime_ns == mtimes[path]  # not exported again


@pytest.mark.model
def test_ask_on_onnx_imports_neither_torch_nor_sentence_transformers(
    bundled_index: Path, onnx_cache: Path, tmp_path: Path
) -> None:
    script = (
        "import sys\n"
        "from index import Archive\n"
        "from index.onnx_encoder import OnnxEncoder\n"
        "from bot.answer import Answerer\n"
        f"encoder = OnnxEncoder(cache_dir={str(onnx_cache)!r}, quantize=True)\n"
        f"with Archive.open({str(bundled_index)!r}, encoder) as archive:\n"
        "    answer = Answerer(archive).answer('What did Lavrov say about sanctions?')\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules)\n"
        "print(json.dumps({'heavy': heavy, 'abstained': answer.abstained,"
        " 'backend': encoder.backend}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + script],
        capture_output=True,
        text=True,
        check=False,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"heavy": [], "abstained": False, "backend": "onnx-int8"}


@pytest.mark.model
def test_exported_graphs_are_fused(real_encoder: OnnxEncoder, fp32_encoder: OnnxEncoder) -> None:
    """Ingest speed rests on onnxruntime's fused BERT operators; if an upgrade of transformers
    changed the exported attention so that fusion found nothing, the vectors would stay right and
    ingest would silently lose about a fifth of its speed."""
    import onnx

    def ops(encoder: OnnxEncoder) -> set[str]:
        model = onnx.load(str(encoder.onnx_path()), load_external_data=False)
        return {node.op_type for node in model.graph.node}

    assert {"Attention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops(fp32_encoder)
    assert {"QAttention", "MatMulInteger"} <= ops(real_encoder)


def test_documents_are_shared_among_single_threaded_sessions(
    real_encoder: OnnxEncoder, onnx_cache: Path
) -> None:
    """One text a run: a session whose operators split over every core woke the other threads
    for every operator of every text, and they spun between runs, taking the cores that other
    work needed (bench/bench_encode.py). Now a question's session lets its threads sleep, a
    batch of documents is shared among single-threaded sessions, one per thread (a question
    alone makes none), and the vectors are those of ONNX Runtime's own way."""

    def threads_of(session: Any) -> tuple[int, str]:
        options = session.get_session_options()
        try:
            spins = options.get_session_config_entry("session.intra_op.allow_spinning")
        except RuntimeError:  # not set: ONNX Runtime's default, spinning
            spins = "1"
        return options.intra_op_num_threads, spins

    encoder = OnnxEncoder(cache_dir=onnx_cache, quantize=True, threads=3)
    encoder.encode_queries(["What did Lavrov say about sanctions?"])
    assert encoder._more == [] and threads_of(encoder._session) == (3, "0")
    texts = _bundled_texts()[:40]
    shared = encoder.encode_documents(texts)
    assert [threads_of(s) for s in encoder._more] == [(1, "0")] * 3
    threads = OnnxEncoder(cache_dir=onnx_cache, quantize=True, threads=2, layout="threads")
    alone = threads.encode_documents(texts)
    assert threads._more == [] and threads_of(threads._session) == (2, "1")
    assert np.array_equal(shared, alone)
    assert np.array_equal(real_encoder.encode_documents(texts), alone)
    with pytest.raises(ValueError, match="unknown layout"):
        OnnxEncoder(layout="processes")
