"""MlirbootPasses (backend/passes): the backend's MLIR pass plugin, built by
the build engine against the toolchain's own MLIR (and with its clang++, so
the C++ ABI of MLIR's inline code matches the libMLIR.so that mlir-opt
loads) and recorded in the manifest like any other component. The backend
loads it from the manifest; without a manifest it builds the same sources
against the system MLIR (backend/passes/plugin.py: cached_plugin); both key
the build by passes/sources.py's source_hash."""

from __future__ import annotations

from ..recipe import Component, Context, Section
from .sources import RESIDENT_NAME, source_dir, source_hash

LICENSE: str | None = "Apache-2.0"  # mlirboot's own (pyproject.toml)

LIBRARY = "MlirbootPasses"


def plan(ctx: Context) -> list[Component]:
    if "mlir" not in ctx.expansion.projects:
        return []
    # Release whatever the profile: a debug plugin would slow every compile.
    main = ctx.against_toolchain(
        "MlirbootPasses against the toolchain's MLIR", ["mlir", "llvm"], build_type="Release"
    )
    return [
        Component(
            name="passes",
            recipe="passes",
            license=LICENSE,
            action="cmake",
            version=f"src-{source_hash()}",
            description="MlirbootPasses MLIR pass plugin (loop raising, chain reassociation, "
            "epilogue fusion) and mlirboot-mlir (its MLIR tool runs in one process)",
            source={"kind": "local", "path": str(source_dir())},
            depends_on=["llvm"],
            install_targets=["install"],
            provides={"libraries": [LIBRARY], "tools": [RESIDENT_NAME]},
            sections=[main, Section("Extra entries")],
        )
    ]
