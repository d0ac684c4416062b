"""Unpack a source archive safely: no absolute paths, no `..`, no links that
point out of the tree, no device files. tarfile's `data` filter enforces most
of this; our own checks run first so the user gets a message naming the member
instead of a library exception."""

from __future__ import annotations

import lzma
import os
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from ..errors import BuildError

COMPLETE = ".complete"


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


def _check(archive: Path, member: tarfile.TarInfo, strip: int) -> tarfile.TarInfo | None:
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
    changes: dict[str, object] = {"name": new_name}
    if member.issym():
        target = member.linkname
        if target.startswith("/"):
            raise _bad(archive, name, f"is a symlink to an absolute path ({target})")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(new_name), target))
        if resolved == ".." or resolved.startswith("../"):
            raise _bad(archive, name, f"is a symlink that escapes the tree ({target})")
    elif member.islnk():
        original = member.linkname
        target = _strip(original, strip)
        if target is None or original.startswith("/") or ".." in original.split("/"):
            raise _bad(archive, name, f"is a hard link out of the tree ({member.linkname})")
        changes["linkname"] = target
    return member.replace(**changes, deep=False)


def extract(archive: Path, dest: Path, strip: int = 0) -> Path:
    """Extract into `dest` atomically: into a temp dir beside it, then rename,
    then mark complete. An existing complete `dest` is reused."""
    if (dest / COMPLETE).exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        try:
            with tarfile.open(archive) as tar:
                members = []
                for member in tar:
                    checked = _check(archive, member, strip)
                    if checked is not None:
                        members.append(checked)
                tar.extractall(tmp, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError, ValueError, KeyError, lzma.LZMAError,
                zlib.error) as err:
            if isinstance(err, tarfile.FilterError):
                raise _bad(archive, str(getattr(err, "tarinfo", "?").name), str(err)) from None
            raise BuildError(
                f"cannot extract {archive.name}: {err or type(err).__name__}",
                where="extract",
                hint="the archive looks truncated or corrupt; delete it from the cache "
                f"({archive}) and fetch again",
            ) from None
        (tmp / COMPLETE).write_text(str(archive) + "\n")
        if dest.exists():
            shutil.rmtree(dest)  # an incomplete earlier attempt
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest
