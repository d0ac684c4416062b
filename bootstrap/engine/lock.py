"""One build at a time per build dir: an fcntl.flock on `<build-dir>/.lock`.
The holder writes its pid into the file so a second build can name it. The
kernel drops the lock when the holder dies (even by SIGKILL), so there is no
stale lock to clean up."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError

LOCK_NAME = ".lock"


class BuildLock:
    def __init__(self, build_dir: Path):
        self.path = build_dir / LOCK_NAME
        self.fd: int | None = None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self, wait: bool = False, on_wait: Callable[[str], None] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # The holder may not have written its pid yet: give it a moment.
            time.sleep(0.05)
            holder = self.holder()
            if not wait:
                os.close(fd)
                raise UsageError(
                    f"another mlirboot build (pid {holder}) is using this build dir",
                    where=str(self.path.parent),
                    hint="wait for it to finish, or pass --wait to queue behind it",
                ) from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> BuildLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
