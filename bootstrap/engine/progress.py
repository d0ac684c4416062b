"""Progress from ninja's own status line. The engine sets NINJA_STATUS to
`[%f/%t] ` (edges finished / total to run), parses it from each output line,
and draws a bar with an ETA on a TTY, or prints a plain line per 10% otherwise."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from typing import TextIO

NINJA_STATUS = "[%f/%t] "
_STATUS = re.compile(r"^\[(\d+)/(\d+)\] ")


@dataclass
class Status:
    done: int
    total: int


def parse(line: str) -> Status | None:
    match = _STATUS.match(line)
    if not match:
        return None
    return Status(int(match.group(1)), int(match.group(2)))


def eta(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left at the rate seen so far, None before any edge finished."""
    if done <= 0 or total <= 0 or elapsed <= 0:
        return None
    return elapsed / done * max(total - done, 0)


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Reporter:
    """Step lines and the ninja progress bar, on stderr."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.quiet = quiet
        self._label = ""
        self._start = 0.0
        self._last_decile = -1
        self._bar_shown = False
        self.last: Status | None = None

    def info(self, text: str) -> None:
        if self.quiet:
            return
        self._clear_bar()
        print(f"mlirboot: {text}", file=self.stream, flush=True)

    def begin(self, label: str) -> None:
        self._label = label
        self._start = time.monotonic()
        self._last_decile = -1
        self.last = None

    def on_line(self, line: str) -> None:
        status = parse(line)
        if status is None:
            return
        self.last = status
        if self.quiet:
            return
        elapsed = time.monotonic() - self._start
        pct = 100 * status.done // max(status.total, 1)
        left = fmt_seconds(eta(status.done, status.total, elapsed))
        if self.tty:
            width = 30
            filled = width * status.done // max(status.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r{self._label} [{bar}] {pct:3d}% {status.done}/{status.total} ETA {left} "
            self.stream.write(text)
            self.stream.flush()
            self._bar_shown = True
        else:
            decile = pct // 10
            if decile > self._last_decile:
                self._last_decile = decile
                print(
                    f"mlirboot: {self._label}: {pct}% ({status.done}/{status.total}, ETA {left})",
                    file=self.stream,
                    flush=True,
                )

    def end(self) -> None:
        self._clear_bar()

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._bar_shown = False
