"""The REPL driven with scripted input, its output asserted; and `ask --json` end to end."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.repl import run_repl
from bot.settings import Settings
from index import Archive
from index.encoder import SentenceTransformerEncoder

pytestmark = pytest.mark.model


def drive(script: str, bundled_index: Path, encoder: SentenceTransformerEncoder) -> tuple[int, str]:
    out = io.StringIO()
    settings = Settings(index_dir=bundled_index)
    code = run_repl(
        settings,
        lambda: Answerer(Archive.open(bundled_index, encoder)),
        stdin=io.StringIO(script),
        stdout=out,
    )
    return code, out.getvalue()


def test_scripted_session(bundled_index: Path, real_encoder: SentenceTransformerEncoder) -> None:
    code, out = drive(
        "What did Lavrov say about sanctions?\n:sources\n:more\n:k 3\n:k zero\n:nope\n"
        "What is the population of Pyongyang?\n:help\n\n:quit\nnever asked\n",
        bundled_index,
        real_encoder,
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "newsqa: ask the news archive. :help for commands, :quit to leave."
    assert lines[1] == "newsqa> What did Lavrov say about sanctions?"
    assert (
        "│ But her call for nations to “cut off all ties with North Korea” was rejected by Moscow, "
        "with Foreign Minister Sergei Lavrov saying Russia saw the proposal “negatively”. “We have "
        "repeatedly stated that the pressure of sanctions has been exhausted,” he told reporters "
        "in Minsk. [1]"
    ) in lines
    assert "[1] US battles for global push on North Korea amid Russia, China doubts" in lines
    sources = lines.index("newsqa> :sources")
    assert lines[sources + 2] == "    bundled:000_57222b0a6e0aa89a.txt"
    assert lines[sources + 3].startswith("    article 0a016438ff4a6375, passage ")
    assert "Considering 3 passages per question." in lines
    assert "Usage: :k N, with N from 1 to 50." in lines
    assert "Unknown command :nope. Type :help for the commands." in lines
    pyongyang = lines.index("newsqa> What is the population of Pyongyang?")
    assert lines[pyongyang + 1] == "The archive holds no clear answer to that question."
    assert "May be related:" in lines[pyongyang + 1 :]
    assert "  :sources   full sources of the last answer" in lines
    assert lines[-1] == "bye"
    assert "never asked" not in out


def test_more_before_any_question(
    bundled_index: Path, real_encoder: SentenceTransformerEncoder
) -> None:
    _, out = drive(":more\n:sources\n", bundled_index, real_encoder)
    assert out.count("Ask a question first.") == 2


def test_broken_index_is_one_clear_line(
    tmp_path: Path, real_encoder: SentenceTransformerEncoder
) -> None:
    code, out = drive("What happened?\n", tmp_path / "absent", real_encoder)
    assert code == 1
    assert "error: no index in" in out


def test_ask_json_end_to_end(bundled_index: Path) -> None:
    env = {**os.environ, "NEWSQA_INDEX_DIR": str(bundled_index), "HF_HUB_OFFLINE": "1"}
    script = Path(sys.executable).with_name("newsqa")
    done = subprocess.run(
        [str(script), "ask", "--json", "-"],
        input="What did Lavrov say about sanctions?\n\nWho won the 2018 World Cup?\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert set(first) >= {"question", "answer", "sentences", "citations", "abstained", "timings_ms"}
    assert first["abstained"] is False
    quote = next(s for s in first["sentences"] if "sanctions has been exhausted" in s["text"])
    citation = next(c for c in first["citations"] if c["n"] == quote["citation"])
    assert set(citation) >= {
        "n", "article_id", "title", "source", "url", "published", "origin", "passage_id",
        "passage", "score",
    }  # fmt: skip
    assert quote["text"] in citation["passage"]
    assert citation["origin"] == "bundled:000_57222b0a6e0aa89a.txt"
    assert second["abstained"] is True and second["sentences"] == [] and second["citations"] == []
    assert second["related"]
