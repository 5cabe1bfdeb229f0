"""The REPL: ask questions of the archive in a terminal.

The prompt appears at once while the index and the model load in a background thread. With a
terminal, prompt_toolkit gives line editing and persistent history; with piped input it reads plain
lines, so scripts and tests drive it the same way.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from bot.answer import Answer, Answerer, AnswerError
from bot.conversation import Conversation
from bot.render import abstention_lines, also_reported, byline, understood_line, where
from bot.settings import Settings
from corpus.errors import NewsqaError

HELP = """\
Ask a question in plain language, for example: What did Lavrov say about sanctions?
Follow-ups are read in the light of the conversation ("When did he say it?", "And Haley?").
  :new       start a new topic (forget the conversation)
  :history   the turns of this conversation, and how each was understood
  :sources   full sources of the last answer
  :more      further evidence for the last question
  :k N       consider N passages per question (now {k})
  :asof DATE answer as of a day (YYYY-MM-DD): "this week" means that day's week
  :help      this help
  :quit      leave (or Ctrl-D); Ctrl-C cancels the line"""


class Loader:
    """Builds the answerer in a background thread so the prompt never waits for the model."""

    def __init__(self, build: Callable[[], Answerer]):
        self._build = build
        self._answerer: Answerer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="newsqa-loader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            answerer = self._build()
            answerer.archive.encoder.encode_queries(["warm up"])
            self._answerer = answerer
        except BaseException as e:  # reported to the user at the first question
            self._error = e

    @property
    def ready(self) -> bool:
        return not self._thread.is_alive()

    @property
    def failed(self) -> bool:
        return self.ready and self._error is not None

    def get(self) -> Answerer:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._answerer is not None
        return self._answerer


@dataclass
class Session:
    """One conversation: its turns, and the last question as answered, for :more and :sources."""

    k: int
    conversation: Conversation
    question: str | None = None
    answer: Answer | None = None
    as_of: date | None = None  # :asof: answer from articles published up to this day


class Repl:
    def __init__(self, settings: Settings, loader: Loader, console: Console):
        self.settings = settings
        self.loader = loader
        self.console = console
        quiet_s = settings.conversation_minutes * 60
        self.session = Session(settings.k, Conversation("repl", quiet_s=quiet_s))

    def handle(self, line: str) -> bool:
        """Act on one input line; False means leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return self.command(line)
        self.ask(line)
        return True

    def command(self, line: str) -> bool:
        name, _, argument = line[1:].partition(" ")
        name = name.lower()
        if name in ("q", "quit", "exit"):
            return False
        if name in ("h", "help", "?"):
            self.console.print(HELP.format(k=self.session.k), highlight=False)
        elif name == "sources":
            self.show_sources()
        elif name == "more":
            self.more()
        elif name == "k":
            self.set_k(argument)
        elif name == "new":
            self.session.conversation.new_topic()
            self.console.print("New topic: the next question starts afresh.")
        elif name == "history":
            self.show_history()
        elif name == "asof":
            self.set_as_of(argument)
        else:
            self.console.print(f"Unknown command :{name}. Type :help for the commands.")
        return True

    def set_k(self, argument: str) -> None:
        try:
            k = int(argument)
            if not 1 <= k <= 50:
                raise ValueError
        except ValueError:
            self.console.print("Usage: :k N, with N from 1 to 50.")
            return
        self.session.k = k
        self.console.print(f"Considering {k} passages per question.")

    def set_as_of(self, argument: str) -> None:
        if not argument.strip():
            self.session.as_of = None
            self.console.print("Answering as of today.")
            return
        try:
            self.session.as_of = date.fromisoformat(argument.strip())
        except ValueError:
            self.console.print("Usage: :asof YYYY-MM-DD (alone: today).")
            return
        self.console.print(f"Answering as of {self.session.as_of.isoformat()}.")

    def answerer(self) -> Answerer:
        if not self.loader.ready:
            self.console.print("(loading the index and the model…)", style="dim")
        return self.loader.get()

    def ask(self, question: str) -> None:
        """A turn of the conversation: a follow-up is answered as it was understood."""
        try:
            answer = self.session.conversation.ask(
                self.answerer(), question, self.session.k, as_of=self.session.as_of
            )
        except AnswerError as e:
            self.console.print(str(e))
            return
        self.session.question = self.session.conversation.turns[-1].understood
        self.session.answer = answer
        self.show(answer)

    def more(self) -> None:
        last = self.session.answer
        if last is None or self.session.question is None:
            self.console.print("Ask a question first.")
        elif last.abstained or not last.more:
            self.console.print("No further evidence for that question.")
        else:
            answer = self.answerer().answer(
                self.session.question, self.session.k, offset=last.next_offset
            )
            self.session.answer = replace(answer, understood_as=last.understood_as)
            self.show(self.session.answer)

    def show_history(self) -> None:
        turns = self.session.conversation.turns
        if not turns:
            self.console.print("No turns yet in this conversation.")
        for n, turn in enumerate(turns, start=1):
            self.console.print(f"{n}. {turn.asked}", highlight=False)
            if turn.understood != turn.asked:
                self.console.print(f"   (understood as: {turn.understood})", style="dim")

    def show(self, answer: Answer) -> None:
        if answer.abstained:
            for line in abstention_lines(answer):
                self.console.print(line, highlight=False)
            return
        if head := understood_line(answer):
            self.console.print(head, style="dim")
        for paragraph in answer.text.split("\n\n"):
            block = Text("│ ", style="cyan")
            block.append(paragraph)
            self.console.print(block, highlight=False)
        self.console.print()
        for c in answer.citations:
            source = Text(f"[{c.n}] ", style="bold")
            source.append(byline(c.article), style=f"link {c.article.url}" if c.article.url else "")
            self.console.print(source, highlight=False)
            if c.also:
                self.console.print(f"    {also_reported(c)}", highlight=False, style="dim")
        if answer.more:
            self.console.print(
                "(:more for further evidence, :sources for full sources)", style="dim"
            )

    def show_sources(self) -> None:
        last = self.session.answer
        if last is None:
            self.console.print("Ask a question first.")
            return
        citations = last.related if last.abstained else last.citations
        if not citations:
            self.console.print("The last answer cited nothing.")
        for c in citations:
            self.console.print(Text(f"[{c.n}] {byline(c.article)}", style="bold"), highlight=False)
            self.console.print(f"    {where(c.article)}", highlight=False)
            self.console.print(f"    article {c.article.id}, passage {c.passage.id}", style="dim")
            self.console.print(Text("    " + " ".join(c.passage.text.split())), highlight=False)
            self.console.print()


def _terminal_lines() -> Iterator[str]:
    import platformdirs
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    path = Path(platformdirs.user_data_dir("newsqa")) / "repl_history"
    path.parent.mkdir(parents=True, exist_ok=True)
    prompt: PromptSession[str] = PromptSession(history=FileHistory(str(path)))
    while True:
        try:
            yield prompt.prompt("newsqa> ")
        except KeyboardInterrupt:
            continue  # Ctrl-C cancels the line
        except EOFError:
            return


def run_repl(
    settings: Settings,
    build: Callable[[], Answerer],
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    interactive = stdin.isatty() and stdout.isatty()
    console = Console(
        file=stdout, highlight=False, force_terminal=interactive or None, soft_wrap=not interactive
    )
    repl = Repl(settings, Loader(build), console)
    console.print("newsqa: ask the news archive. :help for commands, :quit to leave.")
    lines = _terminal_lines() if interactive else (line.rstrip("\n") for line in stdin)
    try:
        for line in lines:
            if not interactive:
                console.print(f"newsqa> {line}", highlight=False)
            try:
                if not repl.handle(line):
                    break
            except KeyboardInterrupt:
                console.print("(cancelled)")
            except NewsqaError as e:
                console.print(f"error: {e}")
                if repl.loader.failed:
                    return 1  # no index or model: nothing more can be answered
    except KeyboardInterrupt:
        pass
    console.print("bye")
    return 0
