"""Start the real `newsqa telegram` process against a FakeBotAPI (for tests and bench/)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tests.telegram_fake import FakeBotAPI, SentMessage

NEWSQA = Path(sys.executable).parent / "newsqa"
B = TypeVar("B", bound="BotProcess")


@dataclass
class BotProcess:
    api: FakeBotAPI
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(5)

    def final_part(self, chat_id: int, since: int, timeout: float = 60) -> list[SentMessage]:
        """Every part of one answer in a chat: new messages up to one that carries buttons."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = [m for m in self.api.sent[since:] if m.chat_id == chat_id and not m.is_edit]
            if sent and sent[-1].reply_markup:
                return sent
            time.sleep(0.01)
        raise TimeoutError(f"no answer with buttons in chat {chat_id}")


def start_bot(
    api: FakeBotAPI,
    index: Path,
    logs: Path,
    token: str,
    args: Sequence[str] = (),
    cls: type[B] = BotProcess,  # type: ignore[assignment]
    **env: str,
) -> B:
    """Run `newsqa telegram ARGS` on `index`, talking to `api`; TELEGRAM_*/NEWSQA_* come from
    `env`. `cls` may be a subclass of BotProcess with more helpers."""
    logs.mkdir(parents=True, exist_ok=True)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "NEWSQA_"))},
        "NEWSQA_INDEX_DIR": str(index),
        "NEWSQA_CONFIG": str(logs / "no-config.toml"),
        "HF_HUB_OFFLINE": "1",
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        **env,
    }
    stdout, stderr = logs / "stdout.txt", logs / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        command = [str(NEWSQA), "telegram", *args]
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=err)
    return cls(api, process, stdout, stderr)
