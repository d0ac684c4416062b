"""The toolchain manifest (`toolchain.json` in the prefix): the contract between
the build (or the system provider) and the backend. The backend reads tool and
library paths from here; it never guesses from PATH when a manifest exists.

Relocatable: paths inside the manifest's own directory (the prefix) are written
relative to it (`bin/mlir-opt`, `prefix: "."`) and resolved against where the
manifest is when it is loaded, so a prefix can be moved or installed elsewhere.
Paths outside it (the distribution's /usr/lib/llvm-22) stay absolute. Schema 1
manifests (all paths absolute) are still read.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .filenames import MANIFEST_JSON
from .fsutil import atomic_write_text
from .jsonfile import load_object

SCHEMA_VERSION = 2
# Schemas `load` reads: 1 wrote every path absolute (and is read as such).
READS_SCHEMAS = (1, 2)
ENV_TOOLCHAIN = "MLIRBOOT_TOOLCHAIN"
FIX = "write it again with `mlirboot build` (or `mlirboot provision`)"


def device_runtime_component(triple: str) -> str:
    """The standalone component that builds a triple's device runtimes."""
    return f"devicertl-{triple}"


def device_library_name(name: str, triple: str) -> str:
    """A device runtime library's name in toolchain.json `libraries`."""
    return f"{name}-{triple}"


# The shape of toolchain.json, checked on load.
FIELDS: dict[str, Any] = {
    "mlirboot_version": str,
    "provider": str,
    "llvm_version": str,
    "prefix": str,
    "targets": list[str],
    "lock_hash": str | None,
    "tools": dict[str, str],
    "libraries": dict[str, str],
    "components": dict[str, dict[str, Any]],
    "files": list[dict[str, str]],
    "requires": dict[str, Any],
}


@dataclass
class Manifest:
    mlirboot_version: str
    provider: str  # "system" | "source" | "overlay"
    llvm_version: str
    prefix: str
    targets: list[str] = field(default_factory=list)
    lock_hash: str | None = None
    # tool name ("mlir-opt", "clang", ...) -> absolute path (once loaded)
    tools: dict[str, str] = field(default_factory=dict)
    # library name ("omptarget", "mlir_runner_utils", ...) -> absolute path (once loaded)
    libraries: dict[str, str] = field(default_factory=dict)
    # component name -> {"version": ..., "source": ..., "provider": ...}
    components: dict[str, dict[str, object]] = field(default_factory=dict)
    # installed files: [{"path": relative to prefix, "sha256": ...}]
    files: list[dict[str, str]] = field(default_factory=list)
    # what a packaged toolchain needs from the machine it is installed on:
    # {"system_libraries": [soname, ...], "tools": {name: absolute path}}
    requires: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    path: Path | None = field(default=None, compare=False, repr=False)

    def tool(self, name: str) -> Path:
        found = self.tools.get(name)
        if not found:
            raise UsageError(
                f"the toolchain has no `{name}`",
                where=str(self.path or "toolchain"),
                hint="rebuild or re-provision the toolchain for this target "
                "(`mlirboot provision --target ...`, `mlirboot build`)",
            )
        return Path(found)

    def library(self, name: str) -> Path:
        found = self.libraries.get(name)
        if not found:
            raise UsageError(
                f"the toolchain has no library `{name}`",
                where=str(self.path or "toolchain"),
                hint="rebuild or re-provision the toolchain for this target",
            )
        return Path(found)

    def to_json(self, base: Path | None = None) -> str:
        """The JSON text; with `base` (the directory the file goes into),
        paths inside it are written relative to it."""
        data = asdict(self)
        data.pop("path")
        data["schema"] = SCHEMA_VERSION
        if base is not None:
            _map_paths(data, lambda p: _relative(p, base))
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    def write(self, path: Path) -> None:
        atomic_write_text(path, self.to_json(base=path.parent))

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = load_object(
            path,
            what="toolchain manifest",
            fix=FIX,
            missing_hint="run `mlirboot build` (or `mlirboot provision`) first",
            schema=READS_SCHEMAS,
            fields=FIELDS,
            required=("mlirboot_version", "provider", "llvm_version", "prefix"),
        )
        base = path.parent.absolute()
        _map_paths(data, lambda p: _absolute(p, base))
        known = {f for f in cls.__dataclass_fields__ if f != "path"}
        manifest = cls(**{k: v for k, v in data.items() if k in known})
        manifest.path = path
        return manifest


def _relative(path: str, base: Path) -> str:
    """`path` relative to `base` when it lies inside it, else unchanged."""
    if not os.path.isabs(path):
        return path
    norm, root = os.path.normpath(path), os.path.normpath(base.absolute())
    if norm == root:
        return "."
    if norm.startswith(root + os.sep):
        return Path(os.path.relpath(norm, root)).as_posix()
    return path


def _absolute(path: str, base: Path) -> str:
    return path if os.path.isabs(path) else os.path.normpath(base / path)


def _map_paths(data: dict[str, Any], fn: Any) -> None:
    """Apply `fn` to every path of a manifest's JSON data, in place: the prefix,
    each tool and library, and each component's `prefix`."""
    if isinstance(data.get("prefix"), str):
        data["prefix"] = fn(data["prefix"])
    for key in ("tools", "libraries"):
        table = data.get(key)
        if isinstance(table, dict):
            for name, value in table.items():
                if isinstance(value, str):
                    table[name] = fn(value)
    for comp in (data.get("components") or {}).values():
        if isinstance(comp, dict) and isinstance(comp.get("prefix"), str):
            comp["prefix"] = fn(comp["prefix"])


def locate(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The manifest to use: an explicit path (file or prefix dir), then
    $MLIRBOOT_TOOLCHAIN, then the default prefix under ./build. None if none exists
    (callers then fall back to discovering the system LLVM 22)."""
    for candidate in (explicit, os.environ.get(ENV_TOOLCHAIN)):
        if candidate:
            path = Path(candidate)
            if path.is_dir():
                path = path / MANIFEST_JSON
            if not path.exists():
                raise UsageError(
                    "toolchain manifest not found",
                    where=str(path),
                    hint=f"pass a prefix that `mlirboot build` wrote, or unset {ENV_TOOLCHAIN}",
                )
            return path
    default = Path("build") / "toolchain" / MANIFEST_JSON
    return default if default.exists() else None
