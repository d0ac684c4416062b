"""`mlirboot package`: the toolchain as a deterministic tarball or a wheel, each
carrying the manifest, the lock file and a CycloneDX SBOM.

Layout of the tarball (`mlirboot install` reads it):

    <name>/toolchain/              the prefix: bin/, lib/, ... and
    <name>/toolchain/toolchain.json  a relocatable manifest (paths relative to it)
    <name>/lock.json, plan.json    the pins of the build
    <name>/sbom.cdx.json           every component, and the sha256 of every file above

The shipped manifest is not the build's: every path points into the package
(prefix "."), system components carry no prefix (their files are inside), its
`files` list every shipped file (sha256, or the target of a link), and
`requires` names what the installing machine must provide: the shared
libraries the shipped files load from the system, and tools outside the prefix.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..filenames import LOCK_JSON, MANIFEST_JSON, PLAN_JSON
from ..fsutil import sha256_file
from ..manifest import Manifest
from . import payload as payload_mod
from . import sbom, tarball, wheel
from .debinfo import deb_infos
from .inputs import Shippable, source_date_epoch

SBOM_NAME = "sbom.cdx.json"
# Where the relocatable manifest sits in a package (beside the prefix's files).
SHIPPED_MANIFEST = f"toolchain/{MANIFEST_JSON}"


def _name(ship: Shippable) -> str:
    targets = "+".join(ship.manifest.targets) or "host"
    return f"mlirboot-toolchain-{ship.manifest.llvm_version}-{targets}"


def shipped_manifest(manifest: Manifest, pl: payload_mod.Payload, hashes: dict[str, str]) -> str:
    """The package's toolchain.json text: `manifest` with every path into the
    package. `hashes`: arcname -> sha256 of each shipped file."""

    def inside(raw: str) -> str:
        path = Path(os.path.normpath(raw))
        for root in pl.roots:
            if path == root or root in path.parents:
                return path.relative_to(root).as_posix()
        return raw  # outside every root: not shipped, required from the machine

    components = {
        name: {k: v for k, v in comp.items() if k != "prefix"}
        for name, comp in manifest.components.items()
    }
    files = [
        {"path": e.arcname, "symlink": e.link}
        if e.link is not None
        else {"path": e.arcname, "sha256": hashes[e.arcname]}
        for e in pl.entries
    ]
    external_tools = {
        label.removeprefix("tool "): raw
        for label, raw in pl.external.items()
        if label.startswith("tool ")
    }
    shipped = Manifest(
        mlirboot_version=manifest.mlirboot_version,
        provider=manifest.provider,
        llvm_version=manifest.llvm_version,
        prefix=".",
        targets=list(manifest.targets),
        lock_hash=manifest.lock_hash,
        tools={k: inside(v) for k, v in manifest.tools.items()},
        libraries={k: inside(v) for k, v in manifest.libraries.items()},
        components=components,
        files=files,
        requires={"system_libraries": list(pl.system_libs), "tools": external_tools},
    )
    return shipped.to_json()


def _extras(
    ship: Shippable, pl: payload_mod.Payload, name: str, epoch: int
) -> tuple[dict[str, bytes], list[str]]:
    """manifest, lock, plan and SBOM bytes (by their path in the package); plus
    components the SBOM could not hash."""
    deb_info = deb_infos(
        (p["name"], p["version"]) for p in ship.lock.get("system_packages", []) if p.get("version")
    )
    by_arcname = {
        e.arcname: hashlib.sha256(e.data).hexdigest()
        if e.data is not None
        else sha256_file(e.source)
        for e in pl.entries
        if e.source is not None
    }
    extra: dict[str, bytes] = {
        SHIPPED_MANIFEST: shipped_manifest(ship.manifest, pl, by_arcname).encode()
    }
    if ship.lock_text is not None:
        extra[LOCK_JSON] = ship.lock_text.encode()
    if ship.plan_text is not None:
        extra[PLAN_JSON] = ship.plan_text.encode()
    # Every file of the package but the SBOM itself is hashed in it.
    hashes = {f"toolchain/{arc}": digest for arc, digest in by_arcname.items()}
    hashes |= {rel: hashlib.sha256(data).hexdigest() for rel, data in extra.items()}
    plan = json.loads(ship.plan_text) if ship.plan_text is not None else None
    doc = sbom.document(
        ship.manifest, ship.lock, hashes, name=name, epoch=epoch, deb_info=deb_info, plan=plan
    )
    extra[SBOM_NAME] = doc.encode()
    unhashed = [
        c["name"]
        for c in sbom.components(ship.manifest, ship.lock, deb_info)
        if not c.get("hashes")
    ]
    return extra, unhashed


def package(ship: Shippable, fmt: str, out_dir: Path, *, dev: bool = False) -> dict[str, Any]:
    pl = payload_mod.collect(ship.manifest, dev=dev)
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
        "dev": dev,
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
