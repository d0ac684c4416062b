"""A CycloneDX 1.5 JSON SBOM of a shipped toolchain: every component with its
version, license and the hash of what it was made from, the dependency graph
between them, and every shipped file with its sha256.

Where the hashes come from (`deb_info` is looked up beforehand, see debinfo.py):
- source components: lock.json's pinned sources (tarball sha256, git commit);
- pip components: the lock's version pin (pip records no hash before install);
- system components (Debian packages): the package's SHA256 from apt's metadata
  (`apt-cache show NAME=VERSION`), i.e. the .deb that was installed; their purl
  names the architecture the .debs are for (this machine's, `dpkg
  --print-architecture`).
Licenses (SPDX expressions) and `dependencies` come from plan.json: each
component's `license` (its recipe's) and `depends_on`.
The document is a pure function of its inputs (no wall clock, no random UUID),
so two runs give the same bytes.
"""

from __future__ import annotations

import json
import platform
import time
import uuid
from collections.abc import Iterable
from typing import Any, cast

from .. import __version__, proc
from ..manifest import Manifest

SPEC_VERSION = "1.5"
# A fixed namespace: the serial number is a UUIDv5 of the SBOM's content.
_NAMESPACE = uuid.UUID("6f0d3c2e-3b7a-5e4f-9a61-3c1f1a2b4d5e")

DebInfo = dict[tuple[str, str], dict[str, str]]


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# platform.machine() -> Debian architecture, where dpkg is not there to ask.
DEB_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "armhf",
    "i686": "i386",
    "ppc64le": "ppc64el",
    "riscv64": "riscv64",
    "s390x": "s390x",
    "loongarch64": "loong64",
}


def deb_arch() -> str:
    """The Debian architecture of this machine's packages."""
    if proc.which("dpkg") is not None:
        result = proc.run(["dpkg", "--print-architecture"], stage="sbom/dpkg", check=False)
        arch = result.output.strip()
        if result.returncode == 0 and arch:
            return arch
    machine = platform.machine()
    return DEB_ARCH.get(machine, machine.lower())


def _plan_components(plan: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    comps = (plan or {}).get("components") or []
    return {c["name"]: c for c in comps if isinstance(c, dict) and isinstance(c.get("name"), str)}


def spdx_and(expressions: Iterable[object]) -> str | None:
    """One SPDX expression for several (each distinct one once, sorted, joined
    with AND; WITH binds tighter than AND); None when there is none."""
    found = sorted({e for e in expressions if isinstance(e, str) and e})
    return " AND ".join(found) or None


def _licenses(expression: object) -> list[dict[str, str]]:
    return [{"expression": expression}] if isinstance(expression, str) and expression else []


def components(
    manifest: Manifest,
    lock: dict[str, Any],
    deb_info: DebInfo,
    plan: dict[str, Any] | None = None,
    arch: str = "amd64",
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pins = {p["name"]: p["version"] for p in lock.get("system_packages", [])}
    planned = _plan_components(plan)
    for name, comp in sorted(manifest.components.items()):
        version = str(comp.get("version", ""))
        provider = str(comp.get("provider", ""))
        props = [{"name": "mlirboot:provider", "value": provider}]
        licenses = _licenses(planned.get(name, {}).get("license"))
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
                    "purl": f"pkg:deb/debian/{pkg}@{pin}?arch={arch}",
                    "properties": [
                        *props,
                        {"name": "mlirboot:component", "value": name},
                        {"name": "mlirboot:upstream-version", "value": version},
                    ],
                }
                if licenses:
                    entry["licenses"] = licenses
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
        if licenses:
            entry["licenses"] = licenses
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


def dependencies(
    comps: list[dict[str, Any]], plan: dict[str, Any] | None, root: str
) -> list[dict[str, Any]]:
    """CycloneDX `dependencies`: the toolchain depends on every component; a
    component on the components its plan entry `depends_on` (a system
    component stands for its .debs, so each of them is a dependency)."""
    refs: dict[str, list[str]] = {}
    for comp in comps:
        owner = next(
            (p["value"] for p in comp.get("properties", []) if p["name"] == "mlirboot:component"),
            comp["name"],
        )
        refs.setdefault(owner, []).append(comp["bom-ref"])
    planned = _plan_components(plan)
    graph = [{"ref": root, "dependsOn": sorted(r for rs in refs.values() for r in rs)}]
    for owner, owned in sorted(refs.items()):
        wanted = planned.get(owner, {}).get("depends_on") or []
        on = sorted(r for dep in wanted for r in refs.get(dep, []))
        graph += [{"ref": ref, "dependsOn": on} for ref in owned]
    return graph


def document(
    manifest: Manifest,
    lock: dict[str, Any],
    files: dict[str, str],
    *,
    name: str,
    epoch: int,
    deb_info: DebInfo,
    plan: dict[str, Any] | None = None,
    arch: str | None = None,
) -> str:
    """CycloneDX JSON text. `files`: shipped path -> sha256 (symlinks excluded);
    `plan`: plan.json's data (licenses, dependencies); `arch`: the Debian
    architecture (default: this machine's)."""
    arch = arch or deb_arch()
    comps = components(manifest, lock, deb_info, plan, arch)
    graph = dependencies(comps, plan, name)
    planned = _plan_components(plan)
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
                **(
                    {"licenses": _licenses(spdx_and(c.get("license") for c in planned.values()))}
                    if any(c.get("license") for c in planned.values())
                    else {}
                ),
            },
            "properties": [
                {"name": "mlirboot:provider", "value": manifest.provider},
                {"name": "mlirboot:targets", "value": ",".join(manifest.targets)},
                {"name": "mlirboot:lock-hash", "value": manifest.lock_hash or ""},
                {"name": "mlirboot:architecture", "value": arch},
            ],
        },
        "components": comps,
        "dependencies": graph,
    }
    body = json.dumps(bom, indent=2, sort_keys=True)
    bom["serialNumber"] = f"urn:uuid:{uuid.uuid5(_NAMESPACE, body)}"
    return json.dumps(bom, indent=2, sort_keys=True) + "\n"
