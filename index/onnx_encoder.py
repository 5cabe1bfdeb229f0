"""The sentence-transformers model run by ONNX Runtime: no torch at question time.

The ONNX file is exported once from the packaged PyTorch weights (torch is needed for that step
only) into a per-user cache directory, keyed by a digest of the model's files, and written
atomically (temporary file, then rename). Tokenising (the model's own fast tokenizer), mean pooling
over the attention mask and L2 normalisation happen here, as sentence-transformers does them, so the
float32 vectors match its own (cosine >= 0.9999; tests/test_onnx_encoder.py). The default is the
same graph quantized to int8 (`quantize=True`): 1.8x faster, vectors within a cosine of ~0.99, and
the retrieval and answer figures of docs/quality.md unchanged.

When the file cannot be made (a read-only cache, a model that is not a local BERT-style directory),
the encoder logs one line and falls back to the sentence-transformers encoder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.encoder import (
    _KNOWN_DIMENSIONS,
    DEFAULT_MODEL,
    SentenceTransformerEncoder,
    canonical_model_name,
    model_location,
)
from index.errors import EncoderError

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger("newsqa")

EXPORT_VERSION = "3"  # bump when the exported graph changes, so old cache entries are not reused
LAYOUTS = ("sessions", "threads")  # how an encoder uses its threads: see `OnnxEncoder._options`
_PROVIDERS = ["CPUExecutionProvider"]
EXPORT_INFO = "export.json"  # beside model.onnx: which newsqa export made it
_SMALL_FILE = 1 << 20  # files up to this size are hashed by content, larger ones by size and mtime


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("newsqa")) / "onnx"


def model_digest(model_dir: Path, quantize: bool = False) -> str:
    """A key for the model's files: content of the small ones, size and mtime of the weights.

    Hashing 90 MB of weights on every start would cost more than the rest of `newsqa ask`.
    """
    h = hashlib.sha256(f"newsqa-onnx {EXPORT_VERSION} int8={quantize}".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        if path.suffix == ".md" or path.name.startswith("."):
            continue
        stat = path.stat()
        h.update(f"{path.relative_to(model_dir)}\0{stat.st_size}\0".encode())
        if stat.st_size <= _SMALL_FILE:
            h.update(path.read_bytes())
        else:
            h.update(str(stat.st_mtime_ns).encode())
    return h.hexdigest()[:16]


def _check_supported(model_dir: Path) -> int:
    """The model's max_seq_length; an EncoderError if its pipeline is not transformer+mean+norm."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        pooling = json.loads((model_dir / pooling_dir / "config.json").read_text(encoding="utf-8"))
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, StopIteration) as e:
        raise EncoderError(f"{model_dir} is not a sentence-transformers model directory") from e
    mean = pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode") == "mean"
    if kinds != ["Transformer", "Pooling", "Normalize"] or not mean:
        raise EncoderError(f"{model_dir}: only transformer + mean pooling + normalize is supported")
    if not (model_dir / "tokenizer.json").exists():
        raise EncoderError(f"{model_dir} has no tokenizer.json")
    return int(config.get("max_seq_length") or 256)


def export_onnx(model_dir: Path, destination: Path, quantize: bool = False) -> None:
    """Export the transformer (dynamic batch and sequence axes) to `destination`, atomically."""
    try:
        import torch
        import transformers
        from transformers import AutoModel
    except ImportError as e:
        raise EncoderError("exporting to ONNX needs torch and transformers") from e

    class _Hidden(torch.nn.Module):
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    destination.parent.mkdir(parents=True, exist_ok=True)
    # eager attention exports as plain MatMul/Softmax, a pattern ONNX Runtime can fuse below
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    fd, tmp_name = tempfile.mkstemp(dir=destination.parent, suffix=".onnx.tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                _Hidden(model),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(tmp),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={name: axes for name in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,  # the dynamo exporter would need onnxscript; this one only onnx
            )
        _fuse(tmp, model.config)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = tmp.with_suffix(".int8.tmp")
            root = logging.getLogger()
            was_disabled, root.disabled = root.disabled, True  # it logs advice on the root logger
            try:
                quantize_dynamic(
                    tmp,
                    quantized,
                    per_channel=True,
                    weight_type=QuantType.QInt8,
                    # fused operators carry no type information for the quantizer's inference
                    extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT
                )
            finally:
                root.disabled = was_disabled
            os.replace(quantized, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        (destination.parent / EXPORT_INFO).write_text(
            json.dumps(
                {"export_version": EXPORT_VERSION, "model": str(model_dir), "int8": quantize}
            )
        )
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


def prune_stale_exports(cache: Path, keep: Path) -> list[Path]:
    """Remove exports an earlier newsqa made (another EXPORT_VERSION, or none recorded), which
    nothing will load again: ~110 MB each. Exports of the current version (other models, the
    other precision) stay, and so does a directory with an export in progress."""
    removed = []
    for directory in cache.iterdir() if cache.is_dir() else ():
        if directory == keep or not (directory / "model.onnx").is_file():
            continue
        if any(directory.glob("*.tmp")):
            continue
        try:
            info = json.loads((directory / EXPORT_INFO).read_text(encoding="utf-8"))
            current = info.get("export_version") == EXPORT_VERSION
        except (OSError, ValueError, AttributeError):
            current = False
        if not current:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _fuse(path: Path, config: Any) -> None:
    """Rewrite a BERT-style graph in place with ONNX Runtime's fused operators (one Attention
    node per layer, embedding and skip layer norms, bias GELU): the same vectors (cosine 1.0),
    encoding about 1.2x faster on CPU, 1.3x when quantized. Other architectures keep the plain
    graph, which session-level optimisation still speeds up."""
    if getattr(config, "model_type", None) != "bert":
        return
    fused_path = path.with_suffix(".fused.tmp")
    try:
        import warnings

        import onnx
        from onnxruntime.transformers.optimizer import optimize_model

        graph = onnx.load(str(path))  # an unreadable file fails here, before the optimizer
        root = logging.getLogger()
        was_disabled, root.disabled = root.disabled, True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fused = optimize_model(
                    graph,
                    model_type="bert",
                    num_heads=int(config.num_attention_heads),
                    hidden_size=int(config.hidden_size),
                    opt_level=0,
                    use_gpu=False,
                )
        finally:
            root.disabled = was_disabled
        fused.save_model_to_file(str(fused_path))
        os.replace(fused_path, path)  # never a half-written graph in place of the plain one
    except Exception as e:  # the unfused graph is correct, only slower
        log.debug("newsqa: ONNX graph fusion skipped (%s)", e)
    finally:
        fused_path.unlink(missing_ok=True)


class OnnxEncoder:
    """A sentence-transformers model (transformer + mean pooling + normalize) on ONNX Runtime."""

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        batch_size: int = 16,
        progress: bool = False,
        *,
        cache_dir: Path | str | None = None,
        quantize: bool = False,
        threads: int | None = None,
        layout: str = "sessions",
    ):
        self._name = canonical_model_name(name)
        self.batch_size = batch_size
        self.progress = progress
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.quantize = quantize
        self.threads = threads or os.cpu_count() or 1
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; choose from {LAYOUTS}")
        self.layout = layout  # how the threads are used: see `_options`
        self._path: Path | None = None
        self._session: Any = None  # questions run here
        self._more: list[Any] = []  # "sessions": single-threaded, for batches of documents
        self._tokenizer: Any = None
        self._dimension: int | None = _KNOWN_DIMENSIONS.get(self._name)
        self._fallback: SentenceTransformerEncoder | None = None
        self._lock = threading.Lock()
        self._queries: dict[str, NDArray[np.float32]] = {}  # the last few questions' vectors

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self.load()
        if self._fallback is not None:
            return self._fallback.dimension
        assert self._dimension is not None
        return self._dimension

    @property
    def backend(self) -> str:
        """What encodes now: "onnx", "onnx-int8", "torch" (after a fallback) or "unloaded"."""
        if self._fallback is not None:
            return "torch"
        if self._session is None:
            return "unloaded"
        return "onnx-int8" if self.quantize else "onnx"

    def load(self) -> None:
        with self._lock:
            if self._session is not None or self._fallback is not None:
                return
            try:
                self._load()
            except (EncoderError, OSError, RuntimeError, ImportError) as e:
                log.warning("newsqa: ONNX encoder unavailable (%s); using sentence-transformers", e)
                self._fallback = SentenceTransformerEncoder(
                    self._name, self.batch_size, self.progress
                )

    def onnx_path(self) -> Path:
        """The cached ONNX file for this model, exported first if it is not there yet."""
        model_dir = Path(model_location(self._name))
        if not model_dir.is_dir():
            raise EncoderError(f"model {self._name!r} is not a local directory")
        _check_supported(model_dir)
        cache = self.cache_dir or default_cache_dir()
        path = cache / model_digest(model_dir, self.quantize) / "model.onnx"
        if not path.exists():
            export_onnx(model_dir, path, self.quantize)
            for stale in prune_stale_exports(cache, keep=path.parent):
                log.debug("newsqa: removed an old ONNX export, %s", stale)
        return path

    def _load(self) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_location(self._name))
        path = self.onnx_path()
        max_length = _check_supported(model_dir)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()  # padding is per batch, to the batch's longest text
        tokenizer.enable_truncation(max_length)
        try:
            session = ort.InferenceSession(str(path), self._options(), providers=_PROVIDERS)
        except Exception as e:  # a truncated or foreign file: export again next time
            path.unlink(missing_ok=True)
            raise EncoderError(f"cannot load {path}: {str(e).splitlines()[0][:120]}") from e
        self._dimension = int(json.loads((model_dir / "config.json").read_text())["hidden_size"])
        self._tokenizer, self._session, self._path = tokenizer, session, path

    def _options(self, single: bool = False) -> Any:
        """Session options. ONNX Runtime's own way ("threads" layout): a session's operators
        split over every core, and between two runs its worker threads spin, waiting for the
        next. newsqa runs one int8 text at a time, so every operator of every text paid for
        waking the other threads, and the spinning took the cores that the next text, SQLite
        writes, a bot's other answers and other processes needed (bench/README.md section 3).
        newsqa's way ("sessions"): the session a question runs on keeps its threads, which sleep
        between runs; a batch of documents is shared among `single`-threaded sessions, one per
        core, side by side."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if single else self.threads
        options.inter_op_num_threads = 1
        if self.layout == "sessions":
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return options

    def _sessions(self, runs: int) -> list[Any]:
        """The sessions that share `runs` runs: the first alone, except with the "sessions"
        layout for a batch of several runs, one single-threaded session per thread (made at the
        first such batch: a process that only asks questions never makes them)."""
        if self.layout != "sessions" or self.threads == 1 or runs == 1:
            return [self._session]
        with self._lock:
            if not self._more:
                import onnxruntime as ort

                self._more = [
                    ort.InferenceSession(str(self._path), self._options(True), providers=_PROVIDERS)
                    for _ in range(self.threads)
                ]
        return self._more

    def _encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.load()
        if self._fallback is not None:
            return self._fallback.encode_documents(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # length buckets: little padding per batch
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # The int8 graph quantizes activations with one scale per tensor, computed at run time:
        # in a batch, a text's vector would depend on the other texts (cosine down to 0.965).
        # One text a run keeps every vector a function of its text alone, and is no slower
        # for int8 (no padding; measured 4.3 s against 4.8 s in batches of 16).
        step = 1 if self.quantize else self.batch_size
        batches = [order[start : start + step] for start in range(0, len(order), step)]
        sessions = self._sessions(len(batches))

        def run(n: int) -> None:  # every len(sessions)-th batch, longest first, on session n
            for batch in batches[n :: len(sessions)]:
                width = int(lengths[batch].max())
                input_ids = np.zeros((len(batch), width), dtype=np.int64)
                mask = np.zeros((len(batch), width), dtype=np.int64)
                for row, i in enumerate(batch):
                    input_ids[row, : lengths[i]] = encodings[i].ids
                    mask[row, : lengths[i]] = 1
                (hidden,) = sessions[n].run(
                    None,
                    {
                        "input_ids": input_ids,
                        "attention_mask": mask,
                        "token_type_ids": np.zeros_like(input_ids),
                    },
                )
                summed = np.einsum("bsd,bs->bd", hidden, mask.astype(np.float32))
                pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
                norms = np.linalg.norm(pooled, axis=1, keepdims=True)
                out[batch] = pooled / np.maximum(norms, 1e-12)

        if len(sessions) == 1:
            run(0)
        else:  # ONNX Runtime releases the GIL while it runs: the sessions run side by side
            with ThreadPoolExecutor(len(sessions), thread_name_prefix="newsqa-encode") as pool:
                for done in [pool.submit(run, n) for n in range(len(sessions))]:
                    done.result()  # an error in any share is raised here
        return out

    def encode_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """A question alone is encoded once: an answer searches again when its dates find
        nothing, and `:more` asks it again (one text a run, so its vector is its text's alone)."""
        if len(texts) != 1:
            return self._encode(texts)
        vector = self._queries.get(texts[0])
        if vector is None:
            vector = self._encode(texts)[0]
            if len(self._queries) >= 256:
                self._queries = {}
            self._queries[texts[0]] = vector
        return vector.reshape(1, -1).copy()
