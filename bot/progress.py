"""How a long ingest shows that it moves: a bar on a terminal, a plain line every few seconds in a
log (no cursor codes there), and a Ctrl-C that stops after the step under way instead of losing it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import TextIO

LOG_INTERVAL = 10.0  # seconds between two progress lines in a log


def duration(seconds: float) -> str:
    """'45s', '3m05s', '1h02m'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class IngestProgress:
    """Counts articles read, articles done (stored, skipped as unchanged, or failed) and passages
    encoded, and shows them. Reading runs ahead of encoding by up to one commit's batch, so a
    folder of slow pages shows its reading move before the first article is stored.

    `total` is the expected number of articles, or None when it cannot be known beforehand (a
    feed, a URL); without it there is no percentage and no time left.
    """

    def __init__(
        self,
        total: int | None,
        stream: TextIO,
        *,
        bar: bool,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.read = 0
        self.articles = 0
        self.passages = 0
        self._stream = stream
        self._interval = LOG_INTERVAL if interval is None else interval
        self._clock = clock
        self._started = clock()
        self._last_line = self._started
        self._last_articles = 0
        self._rate: float | None = None
        self._bar = None
        self.tty = bar
        if bar:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit=" articles",
                file=stream,
                dynamic_ncols=True,
                smoothing=0.1,
                leave=True,
            )

    def reading(self, articles: int = 1) -> None:
        """`articles` more were read (or failed to be), not yet done."""
        self.read += articles
        self._show(0)

    def advance(self, articles: int, passages: int = 0) -> None:
        """`articles` more are done, `passages` more encoded."""
        self.articles += articles
        self.passages += passages
        self._show(articles)

    def _show(self, articles: int) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(
                f"{self.read:,} read, {self.passages:,} passages", refresh=False
            )
            self._bar.update(articles)  # redraws at most ten times a second
            return
        now = self._clock()
        if now - self._last_line >= self._interval:
            recent = (self.articles - self._last_articles) / max(now - self._last_line, 1e-9)
            # a moving average: articles skipped as unchanged fly by, new ones are encoded slowly
            self._rate = recent if self._rate is None else 0.5 * recent + 0.5 * self._rate
            self._last_line, self._last_articles = now, self.articles
            print(f"newsqa: {self.line(now)}", file=self._stream, flush=True)

    def line(self, now: float | None = None, *, overall: bool = False) -> str:
        """'1,200 of 3,300 articles (36%), 2,000 read, 9,800 passages, 12.5 articles/s, about
        2m48s left'; the rate is the recent one, or with `overall` the whole run's."""
        elapsed = max((now if now is not None else self._clock()) - self._started, 1e-9)
        rate = self.articles / elapsed if overall or self._rate is None else self._rate
        parts = [f"{self.articles:,} articles"]
        if self.total:
            share = min(self.articles / self.total, 1.0)
            parts = [f"{self.articles:,} of {self.total:,} articles ({share:.0%})"]
        if self.read > self.articles:
            parts.append(f"{self.read:,} read")
        parts += [f"{self.passages:,} passages", f"{rate:.1f} articles/s"]
        if self.total and rate > 0 and self.articles < self.total:
            parts.append(f"about {duration((self.total - self.articles) / rate)} left")
        return ", ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class GracefulInterrupt:
    """Within `with`, a first Ctrl-C (SIGINT) asks to stop after the step under way; a second
    one stops at once (KeyboardInterrupt). Outside the main thread, or in a process started with
    SIGINT ignored, it changes nothing."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.requested = False
        self._say = say
        self._previous: object = None
        self._installed = False

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._say("newsqa: stopping after the step under way (Ctrl-C again to stop at once)")

    def __enter__(self) -> GracefulInterrupt:
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return self  # told to ignore Ctrl-C (nohup, a shell's background job): it still does
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        except ValueError:  # not the main thread
            pass
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
