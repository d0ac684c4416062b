"""mlir-opt, mlir-translate and clang runs served by one resident process.

Each mlir-opt or mlir-translate process spends ~40 ms loading libMLIR and
registering every dialect and pass, and each clang process ~20 ms loading
libclang-cpp and libLLVM: more than a small program's whole stage.
`mlirboot-mlir` (backend/passes/Resident.cpp, built with the pass plugin
against the same MLIR) pays that once and serves the runs of a compile, and
of later compiles in the same Python process, one at a time, producing the
files and output the tools would. A clang compile runs in it as clang's own
in-process cc1 would; for a link it answers the linker command clang would
run, which runs here as a process (two links still run side by side).

Whatever it declines (a flag it does not parse, reading stdin), a run that
fails and a run that crashes it are run again by the real tool: errors, logs
and crash reports are always the tool's own. `MLIRBOOT_RESIDENT=off` turns
it off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import NamedTuple

from ..bootstrap import proc
from ..bootstrap.errors import MlirbootError

ENV = "MLIRBOOT_RESIDENT"
BUSY_WAIT = 0.02  # seconds: about what a clang process takes to start

log = logging.getLogger("mlirboot.resident")


def enabled() -> bool:
    return os.environ.get(ENV, "on").strip().lower() not in ("off", "0", "no", "false")


class Reply(NamedTuple):
    """A served run's exit code, and the commands it left for the caller to
    run (a link's linker), in order."""

    rc: int
    jobs: list[list[str]]


class Server:
    """One running mlirboot-mlir; `serve` is safe to call from any thread (a
    run that finds it busy for long goes to the real tool instead of waiting)."""

    def __init__(self, exe: Path):
        self.exe = exe
        # A forked child inherits this object and the pipes: only the process
        # that started the server may talk to it (or stop it).
        self.owner = os.getpid()
        # What it runs sees this environment: runs made under another (the
        # caller changed os.environ since) go to the real tool.
        self.env = dict(os.environ)
        self._busy = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [str(exe)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C reaches the compile, which stops it.
            # It exits at end of input, so also when this process dies.
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self.owner == os.getpid() and self._proc is not None and self._proc.poll() is None

    def serve(self, tool: str, argv: list[str], log_path: Path) -> Reply | None:
        """Run `argv` as `tool` would, its output appended to `log_path`: the
        reply, or None if it was not run here (declined, busy, or the process
        is gone)."""
        # Busy (another thread's run): wait a little, no longer than starting
        # the tool as a process would take.
        if not self._busy.acquire(timeout=BUSY_WAIT):
            return None
        try:
            if self._proc is None or self.owner != os.getpid() or os.environ != self.env:
                return None
            stdin, stdout = self._proc.stdin, self._proc.stdout
            assert stdin is not None and stdout is not None
            request = {
                "tool": tool,
                # clang's driver finds its installation from its own path.
                "argv": argv if tool == "clang" else [tool, *argv[1:]],
                "log": str(log_path),
                "cwd": os.getcwd(),  # where relative paths are, now
            }
            try:
                stdin.write(json.dumps(request).encode() + b"\n")
                stdin.flush()
                answer = stdout.readline()
            except KeyboardInterrupt:
                self.stop()
                raise
            except OSError:
                answer = b""
            if not answer:
                # It crashed (or was killed): the real tool reruns this one.
                log.debug("%s ended (exit code %s)", self.exe, self._proc.poll())
                self.stop()
                return None
            reply = json.loads(answer)
            if "declined" in reply:
                log.debug("%s declined: %s", self.exe, reply["declined"])
                return None
            return Reply(int(reply["rc"]), [list(map(str, job)) for job in reply.get("jobs", [])])
        finally:
            self._busy.release()

    def stop(self) -> None:
        """Ended at once: it holds nothing worth waiting for (a run it was
        serving is rerun by the tool, or the compile is over). A forked
        child's copy only forgets it: the server is its parent's."""
        running, self._proc = self._proc, None
        if running is None or self.owner != os.getpid():
            return
        with contextlib.suppress(OSError):
            running.kill()
        running.wait()
        for pipe in (running.stdin, running.stdout):
            with contextlib.suppress(OSError):
                assert pipe is not None
                pipe.close()


_servers: dict[Path, Server] = {}
_lock = threading.Lock()


def server(exe: Path | None) -> Server | None:
    """The running server for `exe` (started now if none is), or None when
    there is no executable or the resident process is turned off. Calling it
    early hides the start-up behind other work."""
    if exe is None or not enabled():
        return None
    with _lock:
        running = _servers.get(exe)
        if running is not None and running.alive and os.environ != running.env:
            running.stop()  # the runs it would serve would see another environment
        if running is None or not running.alive:
            try:
                running = _servers[exe] = Server(exe)
            except OSError as err:
                log.debug("cannot start %s: %s", exe, err)
                return None
        return running


def start(toolchain: str | os.PathLike[str] | None) -> None:
    """Start the resident process of `toolchain` (as compile_program takes
    it) first thing: it loads libMLIR while Python reads the pipeline and
    checks the arguments. Only a head start: a toolchain that cannot be
    read is reported where it is used."""
    from .toolbox import Toolbox

    with contextlib.suppress(MlirbootError, OSError):
        server(Toolbox(toolchain).resident_mlir)


def run(
    server: Server,
    tool: str,
    cmd: list[str],
    *,
    stage: str,
    log_path: Path,
) -> proc.Result | list[list[str]] | None:
    """`cmd` (a `tool` command line) served by `server`, with the log and
    Result that proc.run would give, or the commands left for the caller to
    run; None if it must run as a process (not served, or failed: the tool's
    own run reports the failure)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    header = proc.log_header(stage, None, cmd, None) + f"# served by: {server.exe}\n"
    log_path.write_text(header, encoding="utf-8")
    log.debug("[%s] %s (resident)", stage, proc.quote(cmd))
    start = time.monotonic()
    reply = server.serve(tool, cmd, log_path)
    if reply is None or reply.rc != 0:
        return None
    if reply.jobs:
        return reply.jobs
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return proc.Result(cmd, 0, text[len(header) :], log_path, time.monotonic() - start)


@atexit.register
def _stop_all() -> None:
    with _lock:
        for running in _servers.values():
            running.stop()
        _servers.clear()
