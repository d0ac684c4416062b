"""Compiled artifacts cached by what determines them: the program text, the
compile's settings, the backend itself (its code, pipelines, target facts)
and the toolchain (its manifest, lock hash, and each tool's file identity).
A repeated compile copies the cached artifact instead of running the tools.

Layout: <cache dir>/artifacts/<key>/ is one complete artifact (no temps);
entries appear by an atomic rename of a staging dir, so a reader never sees a
half-written one and two compiles racing to store the same key both succeed.
MLIRBOOT_COMPILE_CACHE=off disables it (the CLI: --no-cache).

Objects: <cache dir>/objects/<key>.o holds small objects a compile would
otherwise rebuild every time (the launcher's: its C source depends only on the
entry's signature), keyed by their source text, compiler flags and the
toolchain's identity; written by an atomic rename. --no-cache skips the
artifact cache only; MLIRBOOT_COMPILE_CACHE=off disables both."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from ..bootstrap.engine.cachedir import cache_dir
from ..bootstrap.errors import MlirbootError
from ..bootstrap.filenames import CONFIGS_DIR
from ..bootstrap.fsutil import atomic_write_bytes, staging_dir
from ..bootstrap.manifest import Manifest
from ..bootstrap.passes.sources import source_hash
from .artifact import ARTIFACT_JSON, read_meta
from .context import TEMPS
from .schedules.matmul import HostCpu

ENV = "MLIRBOOT_COMPILE_CACHE"
OFF = ("0", "off", "no", "false")
KEEP = 200  # entries kept; the least recently used go first
KEEP_OBJECTS = 1000  # object entries kept (a few KiB each)
BACKEND_DIR = Path(__file__).resolve().parent
_SOURCES = ("*.py", "*.yaml", "*.ll", "*.c", "*.h", "*.cpp", "*.in", "CMakeLists.txt")


def enabled() -> bool:
    return os.environ.get(ENV, "").strip().lower() not in OFF


def root() -> Path:
    return cache_dir() / "artifacts"


@cache
def backend_identity() -> str:
    """A hash of every file that decides what the backend generates."""
    digest = hashlib.sha256()
    files = {
        p
        for base in (BACKEND_DIR, CONFIGS_DIR / "targets")
        for g in _SOURCES
        for p in base.rglob(g)
        if "__pycache__" not in p.parts
    }
    for path in sorted(files):
        digest.update(str(path.relative_to(BACKEND_DIR.parent)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(source_hash().encode())
    return digest.hexdigest()


@cache
def host_identity() -> dict[str, Any]:
    """The CPU the code is generated for (-march=native; the matmul schedule's
    tile sizes come from its vector width and cache sizes): a home directory
    shared by two machines must not hand one's artifact to the other."""
    cpu = HostCpu.read()
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    first = info.split("\n\n", 1)[0]
    model = re.findall(r"^(?:model name|flags)\s*:.*$", first, re.M)
    return {"cpu": model, "avx512": cpu.avx512, "l1d": cpu.l1d, "l2": cpu.l2}


def toolchain_identity(manifest: Manifest) -> dict[str, Any]:
    """The toolchain as the cache sees it: its manifest and each tool's and
    library's file identity (an upgraded system LLVM at the same paths is
    another toolchain)."""

    def stat(path: str) -> list[int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return [st.st_size, st.st_mtime_ns, st.st_ino]

    return {
        "provider": manifest.provider,
        "llvm": manifest.llvm_version,
        "prefix": manifest.prefix,
        "lock_hash": manifest.lock_hash,
        "tools": {k: [v, stat(v)] for k, v in sorted(manifest.tools.items())},
        "libraries": {k: [v, stat(v)] for k, v in sorted(manifest.libraries.items())},
    }


def key(program: bytes, settings: dict[str, Any], manifest: Manifest) -> str:
    blob = json.dumps(
        {
            "settings": settings,
            "backend": backend_identity(),
            "toolchain": toolchain_identity(manifest),
            "machine": host_identity(),
        },
        sort_keys=True,
        default=str,
    ).encode()
    return hashlib.sha256(hashlib.sha256(program).digest() + blob).hexdigest()


def fetch(entry_key: str, dest: Path) -> bool:
    """Copy the cached artifact into the empty dir `dest`; False on a miss.
    A damaged entry (files gone or changed) is dropped and is a miss."""
    entry = root() / entry_key
    if not entry.is_dir():
        return False
    try:
        meta = read_meta(entry)
        if meta.get("compile_cache", {}).get("key") != entry_key or not all(
            (entry / rel).is_file()
            for rel in meta["files"].values()
            if Path(rel).parts[0] != TEMPS  # temps are not kept
        ):
            raise ValueError("incomplete")
        _copy_entries(entry, dest)
        os.utime(entry)  # recently used
    except (MlirbootError, OSError, ValueError, KeyError, AttributeError, TypeError):
        _drop(entry)
        for item in dest.iterdir():
            if item.name != TEMPS:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        return False
    return True


def store(entry_key: str, workdir: Path) -> None:
    """Keep a copy of the finished artifact in `workdir` (temps excluded).
    Best effort: a full disk or a race leaves the compile's result alone."""
    base = root()
    try:
        base.mkdir(parents=True, exist_ok=True)
        staging = staging_dir(base, f".{entry_key[:16]}.tmp-")
        try:
            _copy_entries(workdir, staging)
            os.rename(staging, base / entry_key)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another compile stored it first
            return
        _prune(base)
    except OSError:
        return


def _copy_entries(src: Path, dest: Path) -> None:
    """An artifact dir's entries into `dest`, without its temps."""
    for item in src.iterdir():
        if item.name == TEMPS:
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name, symlinks=True)
        else:
            shutil.copy2(item, dest / item.name)


def _drop(entry: Path) -> None:
    """Move aside, then delete: a reader of the same key never sees half an entry."""
    aside = entry.with_name(f".{entry.name[:16]}.drop-{os.getpid()}")
    with contextlib.suppress(OSError):
        os.rename(entry, aside)
        shutil.rmtree(aside, ignore_errors=True)


def _prune(base: Path) -> None:
    entries = [p for p in base.iterdir() if not p.name.startswith(".") and p.is_dir()]
    if len(entries) <= KEEP:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for old in entries[: len(entries) - KEEP]:
        _drop(old)


def mark(workdir: Path, entry_key: str, *, hit: bool, source: str, toolchain: str | None) -> None:
    """Record the key (and whether it was a hit) in the artifact's metadata;
    `toolchain` as this compile named it (the same toolchain either way)."""
    path = workdir / ARTIFACT_JSON
    meta = read_meta(workdir)
    meta["compile_cache"] = {"key": entry_key, "hit": hit}
    meta["source"] = source
    meta["toolchain"] = toolchain
    path.write_text(json.dumps(meta, indent=2) + "\n")


def objects_root() -> Path:
    return cache_dir() / "objects"


def object_key(source: str, tool: str, flags: list[str], manifest: Manifest) -> str:
    """An object's key: its source text, the compiler (by name: its file
    identity is in the toolchain's), the flags and the whole toolchain."""
    blob = json.dumps(
        {"tool": tool, "flags": flags, "toolchain": toolchain_identity(manifest)},
        sort_keys=True,
        default=str,
    ).encode()
    return hashlib.sha256(hashlib.sha256(source.encode()).digest() + blob).hexdigest()


def fetch_object(object_key_: str, dest: Path) -> bool:
    """Copy the cached object to `dest`; False on a miss (or if unreadable)."""
    entry = objects_root() / f"{object_key_}.o"
    try:
        data = entry.read_bytes()
    except OSError:
        return False
    if not data:
        return False
    dest.write_bytes(data)
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used
    return True


def store_object(object_key_: str, built: Path) -> None:
    """Keep a copy of `built`; best effort (atomic rename: concurrent compiles
    storing the same key both succeed, readers never see half a file)."""
    base = objects_root()
    try:
        atomic_write_bytes(base / f"{object_key_}.o", built.read_bytes())
        entries = [p for p in base.iterdir() if p.suffix == ".o" and not p.name.startswith(".")]
        if len(entries) > KEEP_OBJECTS:
            entries.sort(key=lambda p: p.stat().st_mtime)
            for old in entries[: len(entries) - KEEP_OBJECTS]:
                old.unlink(missing_ok=True)
    except OSError:
        return
