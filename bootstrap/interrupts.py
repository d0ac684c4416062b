"""SIGINT and SIGTERM as one exception: both unwind the build like Ctrl-C
(the subprocess layer stops the running tool's process tree on the way out)
and end the command with 128 + the signal number and one line."""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like SIGINT's KeyboardInterrupt."""

    signum = signal.SIGTERM


def signal_of(exc: BaseException) -> int:
    """The signal behind an interrupt: SIGTERM for `Terminated`, else SIGINT."""
    return int(getattr(exc, "signum", signal.SIGINT))


def exit_code(exc: BaseException) -> int:
    """130 for SIGINT, 143 for SIGTERM (what a shell reports)."""
    return 128 + signal_of(exc)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises `Terminated` in the main thread."""
    signal.signal(signal.SIGTERM, _on_sigterm)
