"""A Debian base image made here, without a registry: debootstrap a minbase
rootfs from the Debian mirror this machine's apt uses, tar it deterministically into the user cache
(keyed by release + date, so reruns that day skip the ~1 min debootstrap), and
import it with `FROM scratch` + `ADD rootfs.tar /`. The result is referenced
by its digest, like any pinned base."""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from pathlib import Path

from .. import aptsources, proc
from ..engine.cachedir import cache_dir
from ..errors import BuildError, UsageError
from . import buildah

# Not part of a base image: apt's downloaded lists and packages, logs.
EXCLUDES = [
    "./var/cache/apt/archives/*.deb",
    "./var/lib/apt/lists/*",
    "./var/cache/apt/*.bin",
    "./var/log/*",
    "./var/cache/ldconfig/aux-cache",
]


def rootfs_tarball(codename: str, date: str | None = None) -> Path:
    """<cache>/containers/rootfs-<codename>-minbase-<date>.tar, made if missing."""
    date = date or datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    cache = cache_dir() / "containers"
    out = cache / f"rootfs-{codename}-minbase-{date}.tar"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".rootfs-{codename}.", dir=cache))
    try:
        root = work / "rootfs"
        try:
            mirror = aptsources.mirror().uri
        except aptsources.AptSourcesError as err:
            raise UsageError(
                str(err),
                where=f"container/debootstrap {codename}",
                hint="debootstrap uses the Debian mirror apt uses",
            ) from None
        # The log lives beside the cache, not in `work`: an error's hint names it.
        proc.run(
            ["debootstrap", "--variant=minbase", codename, root, mirror],
            stage=f"container/debootstrap {codename}",
            log_path=cache / f"rootfs-{codename}.debootstrap.log",
            hint=f"apt-get install debootstrap; needs root and {mirror}",
        )
        tmp = work / "rootfs.tar"
        # Sorted names, one mtime, numeric root owner: same tree, same bytes.
        proc.run(
            [
                "tar",
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "--xattrs",
                *(f"--exclude={e}" for e in EXCLUDES),
                "-C",
                root,
                "-cf",
                tmp,
                ".",
            ],
            stage="container/rootfs tar",
        )
        os.replace(tmp, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def base_image(codename: str, date: str | None = None) -> str:
    """NAME@sha256:DIGEST of the local base image (imported once per tarball)."""
    tarball = rootfs_tarball(codename, date)
    tag = f"localhost/mlirboot-base:{tarball.stem.removeprefix('rootfs-')}"
    try:
        return f"{tag.split(':')[0]}@{buildah.digest(tag)}"
    except BuildError:
        pass  # not imported yet
    with tempfile.TemporaryDirectory(prefix="mlirboot-base-", dir=tarball.parent) as tmp:
        ctx = Path(tmp)
        os.link(tarball, ctx / "rootfs.tar")  # same dir: a hard link, no 200 MB copy
        (ctx / "Containerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["/bin/bash"]\n')
        buildah.bud(ctx, tag, epoch=0)
    return f"{tag.split(':')[0]}@{buildah.digest(tag)}"
