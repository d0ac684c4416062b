"""MlirbootPasses (backend/passes): the backend's MLIR pass plugin, built by
the build engine against the toolchain's own MLIR (and with its clang++, so
the C++ ABI of MLIR's inline code matches the libMLIR.so that mlir-opt
loads) and recorded in the manifest like any other component. The backend
loads it from the manifest; without a manifest it builds the same sources
against the system MLIR (backend/passes/plugin.py: cached_plugin)."""

from __future__ import annotations

from pathlib import Path

from ..recipe import Component, Context, Section

LIBRARY = "MlirbootPasses"


def source_dir() -> Path:
    """backend/passes inside the installed package (or the checkout):
    mlirboot/bootstrap/passes/recipe.py -> mlirboot/backend/passes."""
    return Path(__file__).resolve().parents[2] / "backend" / "passes"


def plan(ctx: Context) -> list[Component]:
    if "mlir" not in ctx.expansion.projects:
        return []
    from ...backend.passes.plugin import source_hash

    cmake_dir = ctx.llvm_prefix / "lib" / "cmake"
    main = Section("MlirbootPasses against the toolchain's MLIR")
    main.add("MLIR_DIR", str(cmake_dir / "mlir"))
    main.add("LLVM_DIR", str(cmake_dir / "llvm"))
    main.add("CMAKE_BUILD_TYPE", "Release")
    main.add("CMAKE_INSTALL_PREFIX", str(ctx.prefix))
    ctx.compiler_entries(main, toolchain_clang=True)
    return [Component(
        name="passes",
        recipe="passes",
        action="cmake",
        version=f"src-{source_hash()}",
        description="MlirbootPasses MLIR pass plugin (loop raising, chain reassociation, "
                    "epilogue fusion)",
        source={"kind": "local", "path": str(source_dir())},
        depends_on=["llvm"],
        install_targets=["install"],
        provides={"libraries": [LIBRARY]},
        sections=[main, Section("Extra entries")],
    )]
