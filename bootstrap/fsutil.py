"""Small filesystem helpers: nothing half-written, and the modes a plain
`open`/`mkdir` would give under the user's umask (tempfile's mkstemp makes 0600
and mkdtemp 0700, which would lock other users out of a shared toolchain)."""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import UsageError


@functools.cache
def umask() -> int:
    """The process umask. Linux reports it in /proc; elsewhere it can only be
    read by setting it, once, at first use."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def normal_mode(*, executable: bool = False, directory: bool = False) -> int:
    """What open() or mkdir() would create: 0644/0755 under umask 022."""
    return (0o777 if executable or directory else 0o666) & ~umask()


def staging_dir(parent: Path, prefix: str) -> Path:
    """A temp dir in `parent`, to be renamed into place when complete, with
    the mode a plain mkdir would have given it."""
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    tmp.chmod(normal_mode(directory=True))
    return tmp


def staging_file(
    parent: Path, prefix: str, suffix: str, *, executable: bool = False
) -> tuple[int, Path]:
    """An open temp file in `parent` (fd, path) with the normal mode."""
    parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=parent)
    os.fchmod(fd, normal_mode(executable=executable))
    return fd, Path(tmp)


def atomic_write_text(path: Path, text: str, *, executable: bool = False) -> None:
    """Write `text` to `path` via a temp file and rename, so readers never see
    a partial file."""
    atomic_write_bytes(path, text.encode(), executable=executable)


def atomic_write_bytes(path: Path, data: bytes, *, executable: bool = False) -> None:
    fd, tmp = staging_file(path.parent, f".{path.name}.", ".tmp", executable=executable)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_writable_parent(path: Path, where: str) -> None:
    """`path`'s directory exists and takes new files. Tried, not asked:
    os.access says yes to root on a read-only mount."""
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(
            f"directory {parent} does not exist",
            where=where,
            hint="create the directory first, or pick another path",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".mlirboot-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UsageError(
            f"directory {parent} is not writable: {err.strerror}",
            where=where,
            hint="pick a path in a writable directory",
        ) from None


def check_output_dir(out: Path, where: str) -> None:
    """An output directory (`package -o`, `container -o`) before any work:
    a directory or a new name, in a place that takes new files."""
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"{out} exists and is not a directory",
            where=where,
            hint="pass a directory (it is created if missing)",
        )
    check_writable_parent(out / "probe" if out.is_dir() else out, where)
