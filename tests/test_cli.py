"""The `newsqa` command as a user meets it: in process, and the installed script once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import SettingsError, load_settings

pytestmark = pytest.mark.model


@pytest.fixture
def index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "index"
    monkeypatch.setenv("NEWSQA_INDEX_DIR", str(directory))
    monkeypatch.setenv("NEWSQA_CONFIG", str(tmp_path / "no-config.toml"))
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_first_run_builds_from_bundled_articles(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "stats", "--json")
    assert code == 0
    stats = json.loads(out)
    assert stats["articles"] == 2 and stats["passages"] > 10
    assert stats["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert stats["index_type"] == "flat"
    assert stats["updated"]
    assert "building the index" in err
    code, out, _ = run(capsys, "list")
    assert "Financial Times" in out and "US battles for global push" in out


def test_search_json_and_text(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "search", "What did Lavrov say about sanctions?", "--k", "3", "--json"
    )
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    assert any("pressure of sanctions has been exhausted" in h["text"] for h in hits)
    assert {"passage_id", "article_id", "title", "score", "dense_score", "bm25_rank"} <= set(
        hits[0]
    )
    code, out, _ = run(capsys, "search", "oil", "--source", "Financial Times", "--k", "2")
    assert code == 0 and out.count("Financial Times") == 2
    code, _, err = run(capsys, "search", "oil", "--since", "yesterday")
    assert code == 1 and "--since 'yesterday': expected a date as YYYY-MM-DD" in err


def test_ingest_mixed_inputs_reports_each_failure(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(
        "Harbour reopens\n\nThe harbour reopened on Monday after the storm."
    )
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 50)
    (docs / "empty.md").write_text("")
    (docs / "lines.jsonl").write_text(
        '{"id": "j1", "title": "Dam opens", "text": "The dam opened.", "source": "Wire"}\n{broken\n'
    )
    code, out, _ = run(capsys, "ingest", str(docs), "https://127.0.0.1:9/nothing-listens-here")
    assert code == 1
    assert "2 added, 0 updated, 0 unchanged, 4 failed" in out
    assert "binary.txt: binary file, not text" in out
    assert "empty.md: empty file" in out
    assert "lines.jsonl:2: malformed JSON" in out
    assert "https://127.0.0.1:9/nothing-listens-here: unreachable" in out
    code, out, _ = run(capsys, "ingest", str(docs / "good.txt"))
    assert "0 added, 0 updated, 1 unchanged" in out and code == 0
    (docs / "good.txt").write_text(
        "Harbour reopens\n\nThe harbour reopened on Tuesday, not Monday."
    )
    code, out, _ = run(capsys, "ingest", str(docs / "good.txt"), "--json")
    report = json.loads(out)
    assert [a["title"] for a in report["updated"]] == ["Harbour reopens"]
    code, out, _ = run(capsys, "search", "When did the harbour reopen?", "--json", "--k", "1")
    assert "Tuesday" in json.loads(out)[0]["text"]
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["articles"] == 2  # ingest into a new index does not add the bundled ones


def test_remove_and_check(index_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats")
    assert code == 0 and "\nencoder     onnx-int8\n" in out  # the configured default
    code, out, _ = run(capsys, "list", "--json")
    first = json.loads(out.splitlines()[0])
    code, out, _ = run(capsys, "remove", first["id"][:6])
    assert code == 0 and f"removed {first['id']}" in out
    code, out, _ = run(capsys, "list", "--json")
    assert len(out.splitlines()) == 1
    code, _, err = run(capsys, "remove", "ffffffffffff")
    assert code == 1 and "no article has the id 'ffffffffffff'" in err
    code, out, _ = run(capsys, "index", "check")
    assert code == 0 and out.startswith("ok:")


def test_damaged_index_is_reported_and_rebuilt(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "stats")
    for path in index_dir.glob("vectors.*.faiss"):
        path.write_bytes(path.read_bytes()[:64])
    code, _, err = run(capsys, "search", "oil")
    assert code == 1 and "damaged" in err and "newsqa index rebuild" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "index", "check")
    assert code == 1 and "newsqa index rebuild" in out
    code, out, _ = run(capsys, "index", "rebuild")
    assert code == 0 and "2 articles" in out
    code, out, _ = run(capsys, "search", "oil", "--json")
    assert code == 0 and json.loads(out)


def test_model_mismatch_from_the_command_line(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "stats")
    code, _, err = run(capsys, "--model", "some/other-model", "search", "oil")
    assert code == 1
    assert "built with model 'sentence-transformers/all-MiniLM-L6-v2'" in err
    assert "configured model is 'some/other-model'" in err


def test_settings_layers(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('k = 7\nindex_dir = "/from/file"\nmodel = "file-model"\n')
    env = {"NEWSQA_CONFIG": str(config), "NEWSQA_INDEX_DIR": "/from/env"}
    settings = load_settings({"model": "flag-model"}, env=env)
    assert (settings.k, str(settings.index_dir), settings.model) == (7, "/from/env", "flag-model")
    settings = load_settings(env={"NEWSQA_CONFIG": str(config), "TELEGRAM_BOT_TOKEN": "123:SECRET"})
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings.describe())
    config.write_text("colour = 'blue'\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(env={"NEWSQA_CONFIG": str(config)})
    with pytest.raises(SettingsError, match="NEWSQA_K|setting k"):
        load_settings(env={"NEWSQA_CONFIG": str(tmp_path / "none"), "NEWSQA_K": "zero"})


def test_installed_script_end_to_end(tmp_path: Path) -> None:
    """The console script a user runs, in a fresh process, with the index in a custom place."""
    script = Path(sys.executable).with_name("newsqa")
    env = {
        **os.environ,
        "NEWSQA_INDEX_DIR": str(tmp_path / "idx"),
        "HF_HUB_OFFLINE": "1",
        "NEWSQA_CONFIG": str(tmp_path / "none.toml"),
    }
    done = subprocess.run(
        [str(script), "search", "Lavrov sanctions", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "pressure of sanctions" in done.stdout
    assert "Loading weights" not in done.stderr  # library progress noise stays quiet


def test_tests_never_touch_the_real_user_directories(user_dirs: Path) -> None:
    import pwd

    from bot.settings import Settings
    from index.onnx_encoder import default_cache_dir

    real_home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    for path in (default_cache_dir(), Settings().index_dir, Path("~").expanduser()):
        assert path.is_relative_to(user_dirs)
        assert not path.is_relative_to(real_home)


def test_show_prints_an_article_as_stored(
    fake_cli_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "bridge.txt"
    page.write_text("Bridge reopens\n\nThe harbour bridge reopened on Tuesday.\n\nTolls stay.\n")
    assert main(["ingest", "--json", str(page)]) == 0
    (added,) = json.loads(capsys.readouterr().out)["added"]
    assert main(["show", added["id"][:6]]) == 0
    out = capsys.readouterr().out
    head, _, text = out.partition("\n\n")
    assert text == "The harbour bridge reopened on Tuesday.\n\nTolls stay.\n"
    assert f"id          {added['id']}" in head.splitlines()
    assert "title       Bridge reopens" in head.splitlines()
    assert f"origin      {page}" in head.splitlines()
    assert main(["show", "--json", added["id"]]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["text"] == "The harbour bridge reopened on Tuesday.\n\nTolls stay."
    assert (shown["title"], shown["passages"], shown["pages"]) == ("Bridge reopens", 1, [])
    assert main(["show", "ffffffffff"]) == 1
    assert "no article has the id 'ffffffffff'" in capsys.readouterr().err
