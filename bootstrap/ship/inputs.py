"""What every shipping command starts from: the toolchain manifest and, next to
it, the build dir's lock.json and plan.json (the pins the SBOM reports)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.planfile import PLAN_FIELDS, SCHEMA
from ..errors import UsageError
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

    @property
    def plan(self) -> dict[str, Any]:
        return json.loads(self.plan_text) if self.plan_text else {}


FIX = "run `mlirboot configure` again (and `mlirboot build`)"
# The parts of lock.json and plan.json the shipping commands read.
LOCK_FIELDS: dict[str, Any] = {
    "schema": int,
    "config_hash": str,
    "sources": list[dict[str, Any]],
    "system_packages": list[dict[str, str]],
    "pip": list[dict[str, Any]],
}


def _checked_text(path: Path, what: str, fields: dict[str, Any]) -> str:
    """The file's text as shipped, after `jsonfile` checked it (so `.lock` and
    `.plan` cannot fail later)."""
    load_object(path, what=what, fix=FIX, fields=fields, schema=SCHEMA)
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
            "no toolchain manifest found (looked at ./build/toolchain/toolchain.json)",
            where="--toolchain",
            hint="run `mlirboot configure && mlirboot build` first, or pass --toolchain PREFIX",
        )
    manifest = Manifest.load(path)
    bdir = Path(build_dir) if build_dir else path.parent.parent
    lock = bdir / "lock.json"
    plan = bdir / "plan.json"
    if build_dir and not lock.exists():
        raise UsageError(
            "lock.json not found",
            where=str(bdir),
            hint="pass the --build-dir `mlirboot configure` wrote",
        )
    if not lock.exists():
        bdir = None
    return Shippable(
        manifest=manifest,
        manifest_path=path,
        build_dir=bdir,
        lock_text=_checked_text(lock, "lock file", LOCK_FIELDS) if bdir else None,
        plan_text=_checked_text(plan, "build plan", PLAN_FIELDS)
        if bdir and plan.exists()
        else None,
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
