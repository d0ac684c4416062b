"""`mlirboot package`: the toolchain as a deterministic tarball or a wheel, each
carrying the manifest, the lock file and a CycloneDX SBOM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..filenames import LOCK_JSON, MANIFEST_JSON, PLAN_JSON
from ..fsutil import sha256_file
from . import payload as payload_mod
from . import sbom, tarball, wheel
from .debinfo import deb_infos
from .inputs import Shippable, source_date_epoch

SBOM_NAME = "sbom.cdx.json"


def _name(ship: Shippable) -> str:
    targets = "+".join(ship.manifest.targets) or "host"
    return f"mlirboot-toolchain-{ship.manifest.llvm_version}-{targets}"


def _extras(
    ship: Shippable, pl: payload_mod.Payload, name: str, epoch: int
) -> tuple[dict[str, bytes], list[str]]:
    """manifest, lock, plan and SBOM bytes; plus components the SBOM could not hash."""
    deb_info = deb_infos(
        (p["name"], p["version"]) for p in ship.lock.get("system_packages", []) if p.get("version")
    )
    hashes = {
        f"toolchain/{e.arcname}": sha256_file(e.source) for e in pl.entries if e.source is not None
    }
    plan = json.loads(ship.plan_text) if ship.plan_text is not None else None
    doc = sbom.document(
        ship.manifest, ship.lock, hashes, name=name, epoch=epoch, deb_info=deb_info, plan=plan
    )
    extra = {MANIFEST_JSON: ship.manifest_path.read_bytes(), SBOM_NAME: doc.encode()}
    if ship.lock_text is not None:
        extra[LOCK_JSON] = ship.lock_text.encode()
    if ship.plan_text is not None:
        extra[PLAN_JSON] = ship.plan_text.encode()
    unhashed = [
        c["name"]
        for c in sbom.components(ship.manifest, ship.lock, deb_info)
        if not c.get("hashes")
    ]
    return extra, unhashed


def package(ship: Shippable, fmt: str, out_dir: Path) -> dict[str, Any]:
    pl = payload_mod.collect(ship.manifest)
    name = _name(ship)
    epoch = source_date_epoch()
    extra, unhashed = _extras(ship, pl, name, epoch)
    if fmt == "tar":
        out = out_dir / f"{name}.tar.gz"
        tarball.write(out, name, pl, extra, epoch)
    else:
        desc = (
            f"LLVM {ship.manifest.llvm_version} toolchain for "
            f"{', '.join(ship.manifest.targets) or 'host'} (mlirboot)"
        )
        out = wheel.build(pl, extra, ship.manifest.llvm_version, desc, out_dir)
    digest = sha256_file(out)
    return {
        "format": fmt,
        "path": str(out),
        "sha256": digest,
        "bytes": out.stat().st_size,
        "unpacked_bytes": pl.size(),
        "files": len(pl.entries),
        "prefix": str(pl.prefix),
        "roots": [str(r) for r in pl.roots],
        "sbom": SBOM_NAME,
        "lock": LOCK_JSON if ship.lock_text is not None else None,
        "source_date_epoch": epoch,
        "not_packaged": pl.external,
        "system_libraries": pl.system_libs,
        "components_without_hash": unhashed,
    }
