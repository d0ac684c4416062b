"""What the build machine offers: cores, memory, its distribution release, the
cmake/ninja to use, and cheap identities of tools (for stamp keys) that need
no subprocess."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ..errors import UsageError

# LLVM's heavier translation units take ~1.5-2 GiB each with optimization on;
# links of clang/libLLVM take ~6 GiB without debug info.
GIB_PER_COMPILE_JOB = 2.0
GIB_PER_LINK_JOB = 6.0


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def memory_gib() -> float:
    """Available memory (MemAvailable), else total, in GiB."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        kib = int((fields.get("MemAvailable") or fields["MemTotal"]).split()[0])
        return kib / (1 << 20)
    except (OSError, KeyError, ValueError):
        return 4.0


def memory_total_gib() -> float:
    """Installed memory (MemTotal) in GiB: stable from one run to the next."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1 << 20)
    except (OSError, ValueError):
        pass
    return 4.0


def os_codename() -> str | None:
    """The distribution release codename (bookworm, trixie, ...), if known."""
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "VERSION_CODENAME":
            return value.strip().strip('"') or None
    return None


def default_jobs() -> int:
    """-j for ninja: one per core, fewer when memory would not hold them."""
    by_mem = int(memory_gib() / GIB_PER_COMPILE_JOB)
    return max(1, min(cpu_count(), by_mem))


def default_link_jobs() -> int:
    return max(1, min(cpu_count(), int(memory_gib() / GIB_PER_LINK_JOB)))


def find_tool(name: str) -> str:
    """cmake/ninja: the Python environment's own (pip `cmake`/`ninja`, project
    dependencies with known-new versions) first, then PATH."""
    env_bin = Path(sys.executable).parent
    for candidate in (env_bin / name,):
        if candidate.exists():
            return str(candidate)
    try:
        if name == "ninja":
            import ninja

            path = Path(ninja.BIN_DIR) / "ninja"
            if path.exists():
                return str(path)
        if name == "cmake":
            import cmake

            path = Path(cmake.CMAKE_BIN_DIR) / "cmake"
            if path.exists():
                return str(path)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise UsageError(
            f"{name} not found",
            where="build",
            hint=f"pip install {name} (or apt-get install {name}); "
            "`mlirboot doctor` lists what is missing",
        )
    return found


def file_identity(path: str | os.PathLike[str] | None) -> str:
    """A cheap stand-in for a tool's version: resolved path, size and mtime.
    Upgrading the tool (package update) changes it; no subprocess needed, so
    a no-op build stays fast."""
    if not path:
        return "none"
    resolved = shutil.which(str(path)) if os.sep not in str(path) else str(path)
    if not resolved:
        return f"{path}:missing"
    real = os.path.realpath(resolved)
    try:
        st = os.stat(real)
    except OSError:
        return f"{real}:missing"
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"
