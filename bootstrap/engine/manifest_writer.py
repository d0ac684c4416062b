"""The last step: `<prefix>/toolchain.json`, built from the publish records
(installed files and their sha256, hashed once at publish time), a scan of the
prefix for tools/libraries, and the system LLVM for `system` components."""

from __future__ import annotations

from pathlib import Path

from .. import __version__, localsource
from ..errors import UsageError
from ..filenames import MANIFEST_JSON
from ..manifest import Manifest
from ..toolset import TOOLS, find_system_llvm, scan_prefix, system_manifest
from . import fetch, publish
from .planfile import Component, Plan


def check_system(comp: Component) -> Path:
    """A `system` component: the distribution's LLVM 22 must be there, with
    the tools the plan says this component provides."""
    prefix = find_system_llvm(comp.llvm_prefix)
    # `provides.tools` also names CMake install components (clang-resource-headers,
    # llvm-headers): only executables the backend calls are checked on disk.
    missing = [t for t in comp.tools if t in TOOLS and not (prefix / "bin" / t).exists()]
    if missing:
        pkgs = " ".join(p.name for p in comp.packages) or "the LLVM 22 packages"
        raise UsageError(
            f"system LLVM at {prefix} lacks {', '.join(missing)}",
            where=f"{comp.name}/system",
            hint=f"run `mlirboot provision` (installs {pkgs})",
        )
    return prefix


def build_manifest(plan: Plan) -> Manifest:
    prefix = plan.prefix
    records = publish.done_records(prefix)
    tools, libraries = scan_prefix(prefix)
    components: dict[str, dict[str, object]] = {}
    system_prefix: Path | None = None
    for comp in plan.components:
        for name, rel in comp.library_files.items():
            if (prefix / rel).exists():
                libraries[name] = str(prefix / rel)
        if comp.action == "system":
            system_prefix = system_prefix or find_system_llvm(comp.llvm_prefix)
            components[comp.name] = {
                "version": comp.version,
                "provider": "system",
                "prefix": str(system_prefix),
                "packages": [p.name for p in comp.packages],
            }
        elif comp.name in records:
            # Tools outside toolset.TOOLS (stablehlo-opt, enzymemlir-opt) that
            # a built component installed.
            for tool in comp.tools:
                if tool not in tools and (prefix / "bin" / tool).is_file():
                    tools[tool] = str(prefix / "bin" / tool)
            components[comp.name] = {
                "version": comp.version,
                "provider": "pip" if comp.action == "pip" else "source",
                **_source_entry(comp),
                "generation": records[comp.name].get("generation"),
            }
    if system_prefix is not None:
        # What the build installed wins over the system's copy of the same tool.
        sysm = system_manifest(system_prefix, plan.targets)
        for name, path in sysm.tools.items():
            tools.setdefault(name, path)
        for name, path in sysm.libraries.items():
            libraries.setdefault(name, path)
    files = []
    for rec in records.values():
        for rel, digest in rec.get("files", {}).items():
            if digest.startswith("symlink:"):
                files.append({"path": rel, "symlink": digest.removeprefix("symlink:")})
            else:
                files.append({"path": rel, "sha256": digest})
    files.sort(key=lambda f: f["path"])
    llvm = next((c for c in plan.components if c.name == "llvm"), None)
    version = llvm or (plan.components[0] if plan.components else None)
    only_system = all(c.action == "system" for c in plan.components)
    return Manifest(
        mlirboot_version=__version__,
        provider=plan.provider,
        llvm_version=version.version if version else "",
        prefix=str(system_prefix if only_system and system_prefix else prefix),
        targets=list(plan.targets),
        lock_hash=plan.lock_hash,
        tools=tools,
        libraries=libraries,
        components=components,
        files=files,
    )


def _source_entry(comp: Component) -> dict[str, object]:
    """`source`: the kind built from. A local tree (config `use: local` or a
    MLIRBOOT_*_SOURCE override) also gets its path and what it is now, right
    after the build: git commit + dirty flag, or a content hash."""
    source = fetch.effective_source(comp)
    if source is None:
        return {"source": None}
    if source.get("kind") != "local":
        return {"source": source.get("kind")}
    path = str(Path(source["path"]).expanduser().resolve())
    entry: dict[str, object] = {"source": "local", "path": path}
    if source.get("env"):
        entry["env"] = source["env"]
    return {**entry, **localsource.describe(path)}


def write(plan: Plan) -> Path:
    manifest = build_manifest(plan)
    path = plan.prefix / MANIFEST_JSON
    text = manifest.to_json(base=path.parent)
    try:
        if path.read_text() == text:
            return path  # unchanged: keep its mtime (no-op builds touch nothing)
    except OSError:
        pass
    manifest.write(path)
    return path
