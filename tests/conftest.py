"""Shared fixtures: a fake encoder for fast tests, the real packaged model for those that matter."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # no model hub here: the default model ships as a package

from bot.settings import Settings  # noqa: E402
from corpus.bundled import bundled_articles  # noqa: E402
from corpus.types import Article  # noqa: E402
from index import Archive  # noqa: E402
from index.encoder import SentenceTransformerEncoder  # noqa: E402
from index.onnx_encoder import OnnxEncoder, default_cache_dir  # noqa: E402
from tests.fakes import HashEncoder  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every per-user directory (cache, data, config, home) in a temporary one, for the tests and
    the processes they start: no test reads or writes the real ~/.cache/newsqa or index."""
    root = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            (root / name).mkdir()
            patch.setenv(name, str(root / name))
        yield root


@pytest.fixture
def fake_encoder() -> HashEncoder:
    return HashEncoder()


@pytest.fixture
def archive(tmp_path: Path, fake_encoder: HashEncoder) -> Iterator[Archive]:
    """An empty index on disk with the fake encoder."""
    with Archive.open(tmp_path / "index", fake_encoder, create=True) as a:
        yield a


@pytest.fixture(scope="session")
def onnx_cache(user_dirs: Path) -> Path:
    """A fresh ONNX cache per session: the export itself is under test, not a stale file. It is
    the default cache directory, so commands run by the tests find the same export."""
    return default_cache_dir()


@pytest.fixture(scope="session")
def real_encoder(onnx_cache: Path) -> OnnxEncoder:
    """The packaged all-MiniLM-L6-v2 on the default backend (ONNX, int8), loaded once per session:
    what users get, so the answer-quality tests measure the shipped vectors."""
    encoder = OnnxEncoder(cache_dir=onnx_cache, quantize=True)
    encoder.load()
    assert encoder.backend == Settings().encoder_backend == "onnx-int8"
    return encoder


@pytest.fixture(scope="session")
def fp32_encoder(onnx_cache: Path) -> OnnxEncoder:
    """The same model on the float32 ONNX backend (`NEWSQA_ENCODER_BACKEND=onnx`)."""
    encoder = OnnxEncoder(cache_dir=onnx_cache)
    encoder.load()
    assert encoder.backend == "onnx"
    return encoder


@pytest.fixture(scope="session")
def torch_encoder() -> SentenceTransformerEncoder:
    """The same model on sentence-transformers, the reference the ONNX export must match."""
    encoder = SentenceTransformerEncoder()
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory: pytest.TempPathFactory, real_encoder: OnnxEncoder) -> Path:
    """An index of the bundled articles built with the real model (read-only for tests)."""
    directory = tmp_path_factory.mktemp("bundled") / "index"
    with Archive.open(directory, real_encoder, create=True) as a:
        a.add(bundled_articles())
    return directory


def make_article(id: str, text: str, title: str = "", **kw: str) -> Article:
    return Article(
        id=id, title=title or f"Title {id}", text=text, origin=kw.pop("origin", f"test:{id}"), **kw
    )


@pytest.fixture
def fake_cli_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's index in tmp_path (no config file), and its encoder replaced by the fake."""
    directory = tmp_path / "index"
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(directory))
    monkeypatch.setenv("NEWSQA_CONFIG", str(tmp_path / "no-config.toml"))

    def fake(settings: object, model: str | None = None, progress: bool = False) -> HashEncoder:
        return HashEncoder()

    monkeypatch.setattr("bot.services.make_encoder", fake)
    monkeypatch.setattr("bot.commands.make_encoder", fake)
    return directory
