"""Stop a tool and everything it started. Each tool runs as the leader of its
own session (`start_new_session`); ninja puts every job in a process group of
its own but never leaves the session, so the session id finds them all.

Stopping is graceful first: the signal goes to the leader's group (ninja
forwards it to its jobs and waits for them), then to anything left in the
session once the leader is gone; only after a grace period does SIGKILL go to
every process still in the session."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.05
KILL_WAIT_SECONDS = 5.0


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes in session `sid`. Linux reads /proc; elsewhere
    only the leader's process group can be probed, reported as the sid itself."""
    if sys.platform != "linux":
        try:
            os.killpg(sid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [sid]
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue  # gone meanwhile
        # pid (comm) state ppid pgrp session ...; comm may hold spaces and ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != b"Z":
            members.append(int(entry.name))
    return members


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_gone(
    proc: subprocess.Popen[str], sid: int, seconds: float, on_leader_exit: int | None = None
) -> bool:
    """Wait until the leader and its whole session are gone. When the leader
    exits first, the rest of the session gets `on_leader_exit` once."""
    deadline = time.monotonic() + seconds
    told = on_leader_exit is None
    while True:
        if proc.poll() is not None:
            rest = session_members(sid)
            if not rest:
                return True
            if not told:
                _signal(rest, on_leader_exit)  # type: ignore[arg-type]
                told = True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def stop(proc: subprocess.Popen[str], sig: int, grace: float) -> bool:
    """Send `sig` to the session `proc` leads, wait up to `grace` seconds for it
    to end, then SIGKILL whatever is left. True when it ended without SIGKILL.
    A second interrupt while waiting skips the rest of the grace period."""
    sid = proc.pid
    _killpg(sid, sig)
    graceful = False
    with contextlib.suppress(KeyboardInterrupt):
        graceful = _wait_gone(proc, sid, grace, on_leader_exit=sig)
    if not graceful:
        _killpg(sid, signal.SIGKILL)
        _signal(session_members(sid), signal.SIGKILL)
        with contextlib.suppress(KeyboardInterrupt):
            _wait_gone(proc, sid, KILL_WAIT_SECONDS)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_WAIT_SECONDS)
    return graceful
