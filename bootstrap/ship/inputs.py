"""What every shipping command starts from: the toolchain manifest and, next to
it, the build dir's lock.json and plan.json (the pins the SBOM reports)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import planfile
from ..errors import UsageError
from ..filenames import LOCK_JSON, MANIFEST_JSON, PLAN_JSON
from ..jsonfile import load_object
from ..manifest import Manifest, locate


@dataclass
class Shippable:
    manifest: Manifest
    manifest_path: Path
    build_dir: Path | None
    lock_text: str | None
    plan_text: str | None

    @property
    def lock(self) -> dict[str, Any]:
        return json.loads(self.lock_text) if self.lock_text else {}


FIX = "run `mlirboot configure` again (and `mlirboot build`)"
# The parts of lock.json the shipping commands read (plan.json: engine/planfile.py).
LOCK_SCHEMA = planfile.SCHEMA  # configure writes lock.json with the plan's schema number
LOCK_FIELDS: dict[str, Any] = {
    "schema": int,
    "config_hash": str,
    "sources": list[dict[str, Any]],
    "system_packages": list[dict[str, str]],
    "pip": list[dict[str, Any]],
}


def _lock_text(path: Path) -> str:
    """lock.json's text as shipped, after `jsonfile` checked it (so `.lock`
    cannot fail later)."""
    load_object(path, what="lock file", fix=FIX, fields=LOCK_FIELDS, schema=LOCK_SCHEMA)
    return path.read_text()


def load(
    toolchain: str | os.PathLike[str] | None, build_dir: str | os.PathLike[str] | None = None
) -> Shippable:
    """The manifest (explicit prefix, $MLIRBOOT_TOOLCHAIN, ./build/toolchain) and
    the lock/plan of the build dir that made it: --build-dir, else the prefix's
    parent (the default prefix is <build-dir>/toolchain)."""
    path = locate(toolchain)
    if path is None:
        raise UsageError(
            f"no toolchain manifest found (looked at ./build/toolchain/{MANIFEST_JSON})",
            where="--toolchain",
            hint="run `mlirboot configure && mlirboot build` first, or pass --toolchain PREFIX",
        )
    manifest = Manifest.load(path)
    bdir = Path(build_dir) if build_dir else path.parent.parent
    lock = bdir / LOCK_JSON
    plan = bdir / PLAN_JSON
    if build_dir and not lock.exists():
        raise UsageError(
            f"{LOCK_JSON} not found",
            where=str(bdir),
            hint="pass the --build-dir `mlirboot configure` wrote",
        )
    found = lock.exists()  # else the prefix was not built from a build dir here
    return Shippable(
        manifest=manifest,
        manifest_path=path,
        build_dir=bdir if found else None,
        lock_text=_lock_text(lock) if found else None,
        plan_text=planfile.read_text(plan, fix=FIX) if found and plan.exists() else None,
    )


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH (reproducible-builds.org) or 0: the one timestamp
    every shipped artifact carries."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "0").strip() or "0"
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"SOURCE_DATE_EPOCH is not an integer: {value!r}",
            where="environment",
            hint="unset it or set seconds since 1970",
        ) from None


def created_time() -> str:
    """RFC 3339 UTC time for `created` labels: SOURCE_DATE_EPOCH when set (a
    reproducible build), else now."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        epoch = source_date_epoch()
    else:
        epoch = int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
