"""Real build servers for tests, on loopback only (127.0.0.x): distccd and
redis-server, each started as a daemon and stopped by the caller's finalizer
within a bounded time. Shared by the slow tests and the benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purpose.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


@dataclass
class Daemon:
    name: str
    host: str
    port: int
    pid_file: Path
    log_file: Path

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT: never left running."""
        pid = self.pid
        if pid is None or not _alive(pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait(lambda: not _alive(pid), STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait(lambda: not _alive(pid), STOP_TIMEOUT)

    @property
    def running(self) -> bool:
        pid = self.pid
        return pid is not None and _alive(pid)


def server_dir() -> Path:
    """distccd started as root drops to the `distccd` user, which must reach
    its log and pid files: a world-writable dir directly under /tmp (pytest's
    tmp_path sits under a 0700 dir)."""
    path = Path(tempfile.mkdtemp(prefix="mlirboot-servers-", dir="/tmp"))
    path.chmod(0o777)
    return path


def start_distccd(host: str, where: Path, jobs: int = 2) -> Daemon:
    assert host.startswith("127."), "test servers listen on loopback only"
    port = free_port(host)
    name = f"distccd-{host}"
    log = where / f"{name}.log"
    log.touch()
    log.chmod(0o666)
    daemon = Daemon(name, host, port, where / f"{name}.pid", log)
    subprocess.run(
        [
            "distccd",
            "--daemon",
            "--listen",
            host,
            "--port",
            str(port),
            "--allow",
            "127.0.0.0/8",
            "--jobs",
            str(jobs),
            "--log-file",
            str(log),
            "--pid-file",
            str(daemon.pid_file),
        ],
        check=True,
        timeout=30,
    )
    if not _wait(lambda: listening(host, port) and daemon.pid is not None, START_TIMEOUT):
        daemon.stop()
        raise RuntimeError(f"distccd on {host}:{port} did not start; log: {log.read_text()}")
    return daemon


def start_redis(where: Path) -> Daemon:
    host = "127.0.0.1"
    port = free_port(host)
    daemon = Daemon("redis", host, port, where / "redis.pid", where / "redis.log")
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            host,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--pidfile",
            str(daemon.pid_file),
            "--logfile",
            str(daemon.log_file),
            "--dir",
            str(where),
        ],
        check=True,
        timeout=30,
    )
    if not _wait(lambda: listening(host, port) and daemon.pid is not None, START_TIMEOUT):
        daemon.stop()
        raise RuntimeError(f"redis-server on {host}:{port} did not start")
    return daemon


def compile_ok(log: Path) -> int:
    """Compiles a distccd server finished (its log's COMPILE_OK lines)."""
    try:
        return log.read_text(errors="replace").count("COMPILE_OK")
    except OSError:
        return 0


def missing_tools(*names: str) -> list[str]:
    return [n for n in names if shutil.which(n) is None]


# The real component the cluster and cache tests build: compiler-rt's builtins
# from the LLVM 22.1.8 source, standalone: ~170 C compiles, ~20 s locally on
# 2 cores (FileCheck or the offload runtimes take minutes here). The compiler
# is named clang-22: distccd runs only compilers in its whitelist
# (/usr/lib/distcc, which Debian fills with clang-22, gcc, ...), never
# /usr/lib/llvm-22/bin/clang.
BUILTINS_CACHE = """\
set(CMAKE_BUILD_TYPE Release CACHE STRING "")
set(CMAKE_C_COMPILER /usr/bin/clang-22 CACHE FILEPATH "")
set(CMAKE_ASM_COMPILER /usr/bin/clang-22 CACHE FILEPATH "")
set(CMAKE_C_COMPILER_TARGET x86_64-pc-linux-gnu CACHE STRING "")
set(COMPILER_RT_DEFAULT_TARGET_ONLY ON CACHE BOOL "")
set(LLVM_CMAKE_DIR /usr/lib/llvm-22/lib/cmake/llvm CACHE PATH "")
"""
BUILTINS_LIB = "lib/linux/libclang_rt.builtins-x86_64.a"

# Calls into the installed archive; linked against it first, so the symbols
# come from it (not libgcc).
BUILTINS_PROGRAM = r"""
#include <stdio.h>
int __popcountdi2(long long);
long long __ashldi3(long long, int);
long long __divdi3(long long, long long);
int main(void) {
  int p = __popcountdi2(0xF0F0F0F0LL);
  long long s = __ashldi3(1, 40), d = __divdi3(-1000000000000LL, 7);
  printf("popcount=%d shl=%lld div=%lld\n", p, s, d);
  return !(p == 16 && s == (1LL << 40) && d == -142857142857LL);
}
"""


def llvm_source() -> Path | None:
    candidate = os.environ.get("MLIRBOOT_LLVM_SOURCE")
    if candidate and (Path(candidate) / "compiler-rt/lib/builtins/CMakeLists.txt").exists():
        return Path(candidate)
    return None


def builtins_plan(
    build: Path,
    prefix: Path,
    source: Path,
    *,
    launcher: str | None,
    distributed: dict | None = None,
    cache: dict | None = None,
) -> None:
    """A plan with the one builtins component (the engine builds it as is)."""
    from .conftest import component, write_plan

    (build).mkdir(parents=True, exist_ok=True)
    (build / "builtins.cmake").write_text(BUILTINS_CACHE)
    write_plan(
        build,
        prefix,
        [
            component(
                "builtins",
                {"kind": "local", "path": str(source)},
                recipe="builtins",
                version="22.1.8",
                source_subdir="compiler-rt/lib/builtins",
                provides={"tools": [], "libraries": ["clang_rt.builtins-x86_64"]},
            )
        ],
        jobs=None,
        compiler_launcher=launcher,
        distributed=distributed,
        cache=cache,
    )


def check_builtins(prefix: Path, work: Path) -> str:
    """Link a program against the installed archive and run it."""
    lib = prefix / BUILTINS_LIB
    assert lib.exists(), sorted(str(p) for p in prefix.rglob("*"))
    (work / "t.c").write_text(BUILTINS_PROGRAM)
    subprocess.run(
        ["clang-22", str(work / "t.c"), str(lib), "-o", str(work / "t")], check=True, timeout=120
    )
    run = subprocess.run([str(work / "t")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout
