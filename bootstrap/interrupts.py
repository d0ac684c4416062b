"""SIGINT, SIGTERM and SIGHUP as one exception: each unwinds the build like
Ctrl-C (the subprocess layer stops the running tool's process tree on the way
out) and ends the command with one line and 128 + the signal number.

Tools run in sessions of their own (see proc.run), so a closed terminal's
SIGHUP reaches only mlirboot: it must pass it on like the others."""

from __future__ import annotations

import signal
from types import FrameType

FORWARDED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like SIGINT's KeyboardInterrupt."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(signum)
        self.signum = signum


def signal_of(exc: BaseException) -> int:
    """The signal behind an interrupt: Terminated's own, else SIGINT."""
    return int(getattr(exc, "signum", signal.SIGINT))


def exit_code(exc: BaseException) -> int:
    """130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP (what a shell reports)."""
    return 128 + signal_of(exc)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def raise_on_sigterm() -> None:
    """From now on SIGTERM and SIGHUP raise `Terminated` in the main thread."""
    for sig in FORWARDED:
        signal.signal(sig, _raise)
