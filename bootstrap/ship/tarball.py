"""A deterministic toolchain tarball: same inputs, same sha256.

What makes it deterministic: entries sorted by name, every mtime =
SOURCE_DATE_EPOCH (or 0), uid/gid 0 with empty owner names, fixed modes, GNU
tar format (no pax headers, so no atime/ctime records), and gzip with mtime 0
and no file name in its header.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
from pathlib import Path

from .payload import Entry, Payload

GZIP_LEVEL = 6  # 9 is ~2x slower on the 400 MB system toolchain for ~3% smaller


def _info(
    name: str,
    epoch: int,
    *,
    mode: int,
    kind: bytes = tarfile.REGTYPE,
    size: int = 0,
    link: str = "",
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write(out: Path, top: str, payload: Payload, extra: dict[str, bytes], epoch: int) -> None:
    """`top/` holds `extra` files (manifest, lock, SBOM) and `top/toolchain/` the
    payload. Written to a temp file and renamed: no half-written tarball."""
    members: dict[str, bytes | Entry] = {f"{top}/{name}": data for name, data in extra.items()}
    for entry in payload.entries:
        members[f"{top}/toolchain/{entry.arcname}"] = entry
    dirs = {top}
    for name in members:
        parent = os.path.dirname(name)
        while parent and parent not in dirs:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL
            ) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar,
        ):
            for name in sorted(dirs | set(members)):
                item = members.get(name)
                if item is None:
                    tar.addfile(_info(name, epoch, mode=0o755, kind=tarfile.DIRTYPE))
                elif isinstance(item, bytes):
                    tar.addfile(_info(name, epoch, mode=0o644, size=len(item)), io.BytesIO(item))
                elif item.link is not None:
                    tar.addfile(
                        _info(name, epoch, mode=0o777, kind=tarfile.SYMTYPE, link=item.link)
                    )
                elif item.data is not None:
                    info = _info(name, epoch, mode=item.mode, size=len(item.data))
                    tar.addfile(info, io.BytesIO(item.data))
                else:
                    assert item.source is not None
                    with open(item.source, "rb") as f:
                        size = os.fstat(f.fileno()).st_size
                        tar.addfile(_info(name, epoch, mode=item.mode, size=size), f)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a release artifact is world-readable
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
