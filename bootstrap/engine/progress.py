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
        # A download's progress (download_meter decides whether it is shown).
        self.meter: DownloadMeter | None = None

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


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class DownloadMeter:
    """A download's progress on stderr: bytes / total, rate, ETA. On a TTY one
    line redrawn at most 10 times a second; otherwise (with -v) a line per 10%
    (per 64 MiB when the size is unknown)."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._name = ""
        self._total: int | None = None
        self._first = 0
        self._start = 0.0
        self._drawn = 0.0
        self._step = -1
        self._shown = False

    def start(self, name: str, total: int | None, already: int) -> None:
        self._name, self._total, self._first = name, total, already
        self._start = time.monotonic()
        self._drawn, self._step, self._shown = 0.0, -1, False
        if already:
            self._say(f"downloading {name}: resuming at {fmt_bytes(already)}")

    def update(self, done: int) -> None:
        now = time.monotonic()
        elapsed = now - self._start
        rate = (done - self._first) / elapsed if elapsed > 0 else 0.0
        total = self._total
        if total:
            left = fmt_seconds((total - done) / rate if rate > 0 else None)
            pct = 100 * done // max(total, 1)
            text = (
                f"downloading {self._name}: {fmt_bytes(done)} / {fmt_bytes(total)} "
                f"({pct}%) {fmt_bytes(rate)}/s ETA {left}"
            )
            step = pct // 10
        else:
            text = f"downloading {self._name}: {fmt_bytes(done)} {fmt_bytes(rate)}/s"
            step = done >> 26
        if self.tty:
            if now - self._drawn >= 0.1 or (total and done >= total):
                self._drawn = now
                self.stream.write(f"\r\033[Kmlirboot: {text}")
                self.stream.flush()
                self._shown = True
        elif step > self._step:
            self._step = step
            self._say(text)

    def end(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False

    def _say(self, text: str) -> None:
        if self._shown:
            self.stream.write("\n")
            self._shown = False
        print(f"mlirboot: {text}", file=self.stream, flush=True)


def download_meter(*, quiet: bool, verbose: bool, json: bool) -> DownloadMeter | None:
    """Shown on a TTY or with -v; never with -q or --json."""
    if quiet or json:
        return None
    if verbose or sys.stderr.isatty():
        return DownloadMeter()
    return None
