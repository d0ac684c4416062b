"""Unpack a source archive safely: no absolute paths, no `..`, no links that
point out of the tree, no device files, no special mode bits or foreign owners.
Our own checks and sanitizing do all of this, so they hold on Python 3.11.2
(Debian 12), whose tarfile has no extraction filters; where tarfile has them,
the `data` filter runs as well, as a second line of defence."""

from __future__ import annotations

import copy
import errno
import lzma
import os
import posixpath
import shutil
import tarfile
import zlib
from pathlib import Path

from ..errors import BuildError
from ..fsutil import staging_dir
from . import treestamp

COMPLETE = treestamp.COMPLETE
# Errors of the disk we write to, not of the archive we read.
_DISK_FULL = frozenset((errno.ENOSPC, errno.EDQUOT))
_NOT_WRITABLE = frozenset((errno.EACCES, errno.EPERM, errno.EROFS))

# tarfile's extraction filters (PEP 706) arrived in 3.11.4; Debian 12 has 3.11.2.
_FILTER_ARGS: dict[str, str] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
_FILTER_ERROR: tuple[type[BaseException], ...] = tuple(
    [tarfile.FilterError] if hasattr(tarfile, "FilterError") else []
)


def _bad(archive: Path, member: str, why: str) -> BuildError:
    return BuildError(
        f"refusing to extract {archive.name}: member `{member}` {why}",
        where="extract",
        hint="the archive is unsafe or corrupt; check its source and checksum",
    )


def _strip(name: str, strip: int) -> str | None:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if len(parts) <= strip:
        return None
    return "/".join(parts[strip:])


def check_member(archive: Path, member: tarfile.TarInfo, strip: int) -> tarfile.TarInfo | None:
    name = member.name
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise _bad(archive, name, "has an absolute path")
    if ".." in name.split("/"):
        raise _bad(archive, name, "climbs out of the tree with `..`")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise _bad(archive, name, "is a device, fifo or other special file")
    new_name = _strip(name, strip)
    if new_name is None:
        return None  # the stripped top-level dir itself
    safe = copy.copy(member)
    safe.name = new_name
    # What the data filter does: no setuid/setgid/sticky or group/other write
    # bits, owner always allowed to read (and to enter a dir), no foreign owner.
    safe.mode = (member.mode & 0o755) | (0o700 if member.isdir() else 0o600)
    safe.uid, safe.gid, safe.uname, safe.gname = os.getuid(), os.getgid(), "", ""
    if member.issym():
        target = member.linkname
        if target.startswith("/"):
            raise _bad(archive, name, f"is a symlink to an absolute path ({target})")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(new_name), target))
        if resolved == ".." or resolved.startswith("../"):
            raise _bad(archive, name, f"is a symlink that escapes the tree ({target})")
    elif member.islnk():
        original = member.linkname
        stripped = _strip(original, strip)
        if stripped is None or original.startswith("/") or ".." in original.split("/"):
            raise _bad(archive, name, f"is a hard link out of the tree ({member.linkname})")
        safe.linkname = stripped
    return safe


def disk_error(err: OSError, doing: str, where: str, place: Path) -> BuildError | None:
    """A full disk or an unwritable place, said as such (not as a bad archive)."""
    if err.errno in _DISK_FULL:
        return BuildError(
            f"no space left on device while {doing} ({place})",
            where=where,
            hint=f"free space on the file system of {place}, or set MLIRBOOT_CACHE_DIR "
            "to a cache on a larger disk, then run the command again",
        )
    if err.errno in _NOT_WRITABLE:
        return BuildError(
            f"cannot write while {doing}: {err.strerror} ({err.filename or place})",
            where=where,
            hint="make the cache writable, or set MLIRBOOT_CACHE_DIR to a writable dir",
        )
    return None


def extract(archive: Path, dest: Path, strip: int = 0) -> Path:
    """Extract into `dest` atomically: into a temp dir beside it, then stamp
    its content (which marks it complete), then rename. A `dest` already there
    is replaced: the caller decides whether an existing tree can be reused."""
    try:
        tmp = staging_dir(dest.parent, f".{dest.name}.")
    except OSError as err:
        disk = disk_error(err, f"extracting {archive.name}", "extract", dest.parent)
        if disk is None:
            raise
        raise disk from None
    try:
        try:
            with tarfile.open(archive) as tar:
                members = []
                for member in tar:
                    checked = check_member(archive, member, strip)
                    if checked is not None:
                        members.append(checked)
                tar.extractall(tmp, members=members, **_FILTER_ARGS)  # type: ignore[arg-type]
        except (
            tarfile.TarError,
            EOFError,
            OSError,
            ValueError,
            KeyError,
            lzma.LZMAError,
            zlib.error,
        ) as err:
            if isinstance(err, _FILTER_ERROR):
                info = getattr(err, "tarinfo", None)
                raise _bad(archive, info.name if info is not None else "?", str(err)) from None
            if isinstance(err, OSError):
                disk = disk_error(err, f"extracting {archive.name}", "extract", dest.parent)
                if disk is not None:
                    raise disk from None
            raise BuildError(
                f"cannot extract {archive.name}: {err or type(err).__name__}",
                where="extract",
                hint="the archive looks truncated or corrupt; delete it from the cache "
                f"({archive}) and fetch again",
            ) from None
        try:
            treestamp.record(tmp, str(archive))
        except OSError as err:
            disk = disk_error(err, f"stamping {dest.name}", "extract", dest.parent)
            if disk is None:
                raise
            raise disk from None
        if dest.exists():
            shutil.rmtree(dest)  # an incomplete earlier attempt
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
