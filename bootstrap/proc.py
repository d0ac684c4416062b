"""The one subprocess layer: every external tool (cmake, ninja, clang, mlir-opt,
apt-get, ...) runs through `run`. It logs the command, captures output to a log
file, and turns a failure into one clear `BuildError` (or `UsageError` for a
missing tool).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import interrupts, proctree
from .errors import BuildError, UsageError

log = logging.getLogger("mlirboot.proc")

TAIL_LINES = 30
# How long an interrupted tool gets to stop its own children (ninja waits for
# its running compiles to die) before everything left is killed.
ENV_GRACE = "MLIRBOOT_INTERRUPT_GRACE"
DEFAULT_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Result:
    cmd: list[str]
    returncode: int
    output: str
    log_path: Path | None
    seconds: float


def quote(cmd: Sequence[str | os.PathLike[str]]) -> str:
    return shlex.join(str(c) for c in cmd)


def which(tool: str, path: str | None = None) -> str | None:
    return shutil.which(tool, path=path)


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    stage: str,
    log_path: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
    on_line: Callable[[str], None] | None = None,
    hint: str | None = None,
    die_with_parent: bool = False,
) -> Result:
    """Run `cmd`, capturing stdout+stderr into `log_path` (and returning it).

    `stage` names what is being done ("llvm/configure", "mlir-opt lowering"):
    it is the "where" of any error. `env` is merged over os.environ.
    `on_line` sees each output line as it arrives (progress bars).
    `die_with_parent`: the child gets SIGTERM if we die, even by SIGKILL, so a
    killed build leaves no orphan (e.g. ninja) writing into the build dir.

    The tool leads a session of its own. On SIGINT/SIGTERM (KeyboardInterrupt
    here) that signal goes to the tool's process group, the tool gets a grace
    period to stop what it started, then its whole session is killed; the
    interrupt is re-raised once nothing of it runs any more.
    """
    argv = [str(c) for c in cmd]
    exe = argv[0]
    if os.sep not in exe and shutil.which(exe, path=(env or {}).get("PATH")) is None:
        raise UsageError(
            f"tool not found: {exe}",
            where=stage,
            hint=hint or "install it or run `mlirboot doctor` to see what is missing",
        )
    if os.sep in exe and not os.path.exists(exe):
        raise UsageError(
            f"tool not found: {exe}", where=stage, hint=hint or "run `mlirboot doctor`"
        )

    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    log.debug("[%s] %s", stage, quote(argv))

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    chunks: list[str] = []
    # Caught while streaming: in a long build the first error scrolls out of the tail.
    first_error: str | None = None
    start = time.monotonic()
    logfile = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # Line-buffered: a user (or a test) tailing the log sees progress live.
        logfile = open(  # noqa: SIM115
            log_path, "w", encoding="utf-8", errors="replace", buffering=1
        )
        logfile.write(log_header(stage, cwd, argv, env))
        logfile.flush()

    def take(line: str, live: bool = True) -> None:
        nonlocal first_error
        chunks.append(line)
        tail.append(line.rstrip("\n"))
        if first_error is None and is_diagnostic(line):
            first_error = line.strip()
        if logfile:
            logfile.write(line)
        if on_line and live:
            on_line(line.rstrip("\n"))

    proc: subprocess.Popen[str] | None = None
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=_pdeathsig if die_with_parent and sys.platform == "linux" else None,
        )
        if input is not None:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(input)
            proc.stdin.close()
        assert proc.stdout is not None
        for line in proc.stdout:
            take(line)
        returncode = proc.wait()
    except KeyboardInterrupt as interrupt:
        if proc is not None:
            _stop(proc, interrupts.signal_of(interrupt), take)
            if logfile:
                logfile.write(f"# interrupted by signal {interrupts.signal_of(interrupt)}\n")
        raise
    finally:
        if logfile:
            logfile.close()
    seconds = time.monotonic() - start
    output = "".join(chunks)
    if check and returncode != 0:
        first = first_error or first_diagnostic(list(tail)) or f"exit code {returncode}"
        details = "\n".join(tail)
        where_log = f"; log: {log_path}" if log_path else ""
        raise BuildError(
            f"{Path(exe).name} failed: {first}",
            where=stage,
            hint=(hint or "see the log for the full output") + where_log,
            details=f"$ {quote(argv)}\n{details}",
        )
    return Result(argv, returncode, output, log_path, seconds)


def grace_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(ENV_GRACE, DEFAULT_GRACE_SECONDS)))
    except ValueError:
        return DEFAULT_GRACE_SECONDS


def _stop(proc: subprocess.Popen[str], sig: int, take: Callable[..., None]) -> None:
    """Stop an interrupted tool's whole process tree. Its last output (ninja's
    "build stopped") still goes to the log: a reader thread drains the pipe so
    a tool blocked on a full pipe can exit."""

    def drain() -> None:
        with contextlib.suppress(Exception):
            assert proc.stdout is not None
            for line in proc.stdout:
                take(line, live=False)

    reader = threading.Thread(target=drain, name="mlirboot-drain", daemon=True)
    reader.start()
    proctree.stop(proc, sig, grace_seconds())
    reader.join(timeout=2.0)


def log_header(
    stage: str, cwd: Path | None, argv: Sequence[str], env: Mapping[str, str] | None
) -> str:
    """The lines a log starts with: what ran, where and with what settings."""
    lines = [f"# stage: {stage}", f"# cwd: {cwd or os.getcwd()}", f"# cmd: {quote(argv)}"]
    lines += [f"# env: {key}={value}" for key, value in sorted((env or {}).items())]
    return "".join(line + "\n" for line in lines)


def _pdeathsig() -> None:
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


_DIAGNOSTIC = re.compile(r"(^|[\s:])((fatal )?error|CMake Error)\b[^=]", re.IGNORECASE)


def is_diagnostic(line: str) -> bool:
    """An `error:`-style line from a compiler, linker or CMake. Command lines
    mention `-Werror` too, so a bare "error" does not count."""
    return bool(_DIAGNOSTIC.search(line)) and not line.lstrip().startswith(("FAILED:", "["))


def first_diagnostic(lines: Sequence[str]) -> str | None:
    """The first diagnostic line, else the last non-empty line."""
    for line in lines:
        if is_diagnostic(line):
            return line.strip()
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return None
