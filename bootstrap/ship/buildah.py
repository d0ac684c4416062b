"""buildah, the way it works without a Docker daemon or registry: root, vfs
storage (no overlay mounts needed), chroot isolation (no user namespaces)."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

from .. import proc

HINT = "apt-get install buildah (runs as root with --storage-driver vfs --isolation chroot)"


def _base() -> list[str]:
    driver = os.environ.get("MLIRBOOT_BUILDAH_STORAGE_DRIVER", "vfs")
    return ["buildah", "--storage-driver", driver]


# Debian 12's buildah (1.28) gives containers nproc=32768:32768 by default
# (`buildah from --help`) and cannot raise it; Debian 13's (1.39) raises it to
# 1048576 unless told. A cap both accept; a build needs far fewer processes.
NPROC_CAP = 32768


def _ulimits() -> list[str]:
    """RUN steps keep this process's open-file limits and a process limit no
    higher than NPROC_CAP: newer buildah otherwise raises both to 1048576 and
    fails where the hard limit is lower (operation not permitted). Limits
    change no byte of a layer."""
    args = []
    for name, which, cap in (
        ("nofile", resource.RLIMIT_NOFILE, None),
        ("nproc", resource.RLIMIT_NPROC, NPROC_CAP),
    ):
        soft, hard = resource.getrlimit(which)
        if hard == resource.RLIM_INFINITY:
            if cap is None:
                continue
            hard = cap
        hard = hard if cap is None else min(hard, cap)
        soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
        args += ["--ulimit", f"{name}={soft}:{hard}"]
    return args


def bud(
    context: Path,
    tag: str,
    *,
    epoch: int,
    build_args: dict[str, str] | None = None,
    volumes: list[str] | None = None,
    log_path: Path | None = None,
) -> str:
    """Build context/Containerfile; returns the image id. `--timestamp` fixes
    the created time and every file's mtime in the layers: the reproducibility
    knob (with SOURCE_DATE_EPOCH inside the build)."""
    cmd: list[str | os.PathLike[str]] = [
        *_base(),
        "bud",
        "--isolation",
        "chroot",
        "--timestamp",
        str(epoch),
        "--layers=false",
        "--pull=never",
        *_ulimits(),
        "-f",
        context / "Containerfile",
        "-t",
        tag,
    ]
    for key, value in sorted((build_args or {}).items()):
        cmd += ["--build-arg", f"{key}={value}"]
    for vol in volumes or []:
        cmd += ["--volume", vol]
    proc.run([*cmd, context], stage=f"container/build {tag}", log_path=log_path, hint=HINT)
    return inspect(tag)["FromImageID"]


def inspect(image: str) -> dict:
    out = proc.run(
        [*_base(), "inspect", "--type", "image", image],
        stage=f"container/inspect {image}",
        hint=HINT,
    ).output
    return json.loads(out)


def layer_digests(image: str) -> list[str]:
    """The image's layer diff ids (sha256 of each uncompressed layer tar)."""
    return list(inspect(image)["OCIv1"]["rootfs"]["diff_ids"])


def digest(image: str) -> str:
    """The manifest digest: what NAME@sha256:... references."""
    return str(inspect(image)["FromImageDigest"])


def run_in(image: str, argv: list[str], *, log_path: Path | None = None) -> str:
    """Output of argv run in a fresh container of `image` (removed after)."""
    cid = (
        proc.run(
            [*_base(), "from", "--pull=never", *_ulimits(), image],
            stage=f"container/from {image}",
            hint=HINT,
        )
        .output.strip()
        .splitlines()[-1]
    )
    try:
        return proc.run(
            [*_base(), "run", "--isolation", "chroot", cid, "--", *argv],
            stage=f"container/run {image}",
            log_path=log_path,
            hint=HINT,
        ).output
    finally:
        proc.run([*_base(), "rm", cid], stage="container/rm", check=False)
