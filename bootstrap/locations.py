"""Where `configure` may write and a build may install: checked before anything
is written, so a prefix of `/`, a regular file, the build dir itself or a
place inside the source cache is refused at configure time, not mid-build."""

from __future__ import annotations

from pathlib import Path

from .engine.cachedir import cache_dir
from .errors import UsageError

# Installing the toolchain's bin/ lib/ include/ here would mix it into the system.
SYSTEM_DIRS = frozenset(
    Path(p)
    for p in (
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
    )
)


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_build_dir(build_dir: Path, where: str = "--build-dir") -> None:
    build_dir = build_dir.resolve()
    if build_dir in SYSTEM_DIRS:
        raise UsageError(
            f"build dir {build_dir} is a system directory",
            where=where,
            hint="pass --build-dir DIR, e.g. ./build",
        )
    if build_dir.exists() and not build_dir.is_dir():
        raise UsageError(
            "build dir exists and is not a directory",
            where=str(build_dir),
            hint="pass another --build-dir",
        )
    cache = cache_dir()
    if _inside(build_dir, cache):
        raise UsageError(
            f"build dir {build_dir} is inside the source cache {cache}",
            where=where,
            hint="pass --build-dir outside the cache, e.g. ./build",
        )


def check_prefix(prefix: Path, build_dir: Path, where: str) -> None:
    """`where`: the --prefix argument or the config line that chose the prefix."""
    prefix, build_dir = prefix.resolve(), build_dir.resolve()
    if prefix in SYSTEM_DIRS:
        raise UsageError(
            f"prefix {prefix} is a system directory",
            where=where,
            hint="install into a directory of its own (default: <build-dir>/toolchain)",
        )
    if prefix.exists() and not prefix.is_dir():
        raise UsageError(
            f"prefix {prefix} exists and is not a directory",
            where=where,
            hint="pass a directory (it is created if missing)",
        )
    if prefix == build_dir:
        raise UsageError(
            f"prefix {prefix} is the build dir",
            where=where,
            hint="install elsewhere, e.g. <build-dir>/toolchain (the default)",
        )
    if _inside(build_dir, prefix) and prefix != build_dir:
        raise UsageError(
            f"prefix {prefix} contains the build dir {build_dir}",
            where=where,
            hint="install elsewhere, e.g. <build-dir>/toolchain (the default)",
        )
    cache = cache_dir()
    if _inside(prefix, cache) or _inside(cache, prefix):
        raise UsageError(
            f"prefix {prefix} overlaps the source cache {cache}",
            where=where,
            hint="install outside the cache, e.g. <build-dir>/toolchain",
        )
