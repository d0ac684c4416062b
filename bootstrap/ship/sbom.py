"""A CycloneDX 1.5 JSON SBOM of a shipped toolchain: every component with its
version and the hash of what it was made from, and every shipped file with its
sha256.

Where the hashes come from (`deb_info` is looked up beforehand, see debinfo.py):
- source components: lock.json's pinned sources (tarball sha256, git commit);
- pip components: the lock's version pin (pip records no hash before install);
- system components (Debian packages): the package's SHA256 from apt's metadata
  (`apt-cache show NAME=VERSION`), i.e. the .deb that was installed.
The document is a pure function of its inputs (no wall clock, no random UUID),
so two runs give the same bytes.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, cast

from .. import __version__
from ..manifest import Manifest

SPEC_VERSION = "1.5"
# A fixed namespace: the serial number is a UUIDv5 of the SBOM's content.
_NAMESPACE = uuid.UUID("6f0d3c2e-3b7a-5e4f-9a61-3c1f1a2b4d5e")

DebInfo = dict[tuple[str, str], dict[str, str]]


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def components(manifest: Manifest, lock: dict[str, Any], deb_info: DebInfo) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pins = {p["name"]: p["version"] for p in lock.get("system_packages", [])}
    for name, comp in sorted(manifest.components.items()):
        version = str(comp.get("version", ""))
        provider = str(comp.get("provider", ""))
        props = [{"name": "mlirboot:provider", "value": provider}]
        if provider == "system":
            # The component is a set of distribution packages: list each one.
            # The manifest writer lists the package names of a system component.
            packages = cast("list[object]", comp.get("packages", []) or [])
            for pkg in packages:
                pkg = str(pkg)
                pin = pins.get(pkg, "")
                info = deb_info.get((pkg, pin), {})
                entry: dict[str, Any] = {
                    "type": "library",
                    "bom-ref": f"deb:{pkg}@{pin}",
                    "name": pkg,
                    "version": pin,
                    "purl": f"pkg:deb/debian/{pkg}@{pin}?arch=amd64",
                    "properties": [
                        *props,
                        {"name": "mlirboot:component", "value": name},
                        {"name": "mlirboot:upstream-version", "value": version},
                    ],
                }
                if info.get("sha256"):
                    entry["hashes"] = [{"alg": "SHA-256", "content": info["sha256"]}]
                if info.get("source"):
                    entry["properties"].append(
                        {"name": "debian:source-package", "value": info["source"]}
                    )
                out.append(entry)
            continue
        entry = {
            "type": "library",
            "bom-ref": f"component:{name}",
            "name": name,
            "version": version,
            "properties": props,
        }
        for src in lock.get("sources", []):
            if name not in src.get("components", []):
                continue
            spec = src.get("source", {})
            if spec.get("sha256"):
                entry["hashes"] = [{"alg": "SHA-256", "content": spec["sha256"]}]
            if spec.get("commit"):
                # A git commit id is SHA-1 of the commit object: the source hash git gives.
                entry["hashes"] = [{"alg": "SHA-1", "content": spec["commit"]}]
            if spec.get("url"):
                kind = "vcs" if spec.get("kind") == "git" else "distribution"
                entry["externalReferences"] = [{"type": kind, "url": spec["url"]}]
        for pip in lock.get("pip", []):
            if pip.get("component") == name:
                entry["purl"] = f"pkg:pypi/{pip['package']}@{pip['version']}"
                entry["version"] = pip["version"]
        out.append(entry)
    return out


def document(
    manifest: Manifest,
    lock: dict[str, Any],
    files: dict[str, str],
    *,
    name: str,
    epoch: int,
    deb_info: DebInfo,
) -> str:
    """CycloneDX JSON text. `files`: shipped path -> sha256 (symlinks excluded)."""
    comps = components(manifest, lock, deb_info)
    comps += [
        {
            "type": "file",
            "bom-ref": f"file:{path}",
            "name": path,
            "hashes": [{"alg": "SHA-256", "content": digest}],
        }
        for path, digest in sorted(files.items())
    ]
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": {
            "timestamp": _iso(epoch),
            "tools": {
                "components": [{"type": "application", "name": "mlirboot", "version": __version__}]
            },
            "component": {
                "type": "application",
                "bom-ref": name,
                "name": name,
                "version": manifest.llvm_version,
            },
            "properties": [
                {"name": "mlirboot:provider", "value": manifest.provider},
                {"name": "mlirboot:targets", "value": ",".join(manifest.targets)},
                {"name": "mlirboot:lock-hash", "value": manifest.lock_hash or ""},
            ],
        },
        "components": comps,
    }
    body = json.dumps(bom, indent=2, sort_keys=True)
    bom["serialNumber"] = f"urn:uuid:{uuid.uuid5(_NAMESPACE, body)}"
    return json.dumps(bom, indent=2, sort_keys=True) + "\n"
