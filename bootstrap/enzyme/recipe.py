"""Enzyme as rustc builds it: against the toolchain's own LLVM_DIR (and
Clang_DIR; MLIR_DIR with ENZYME_MLIR for tpu), as external shared libraries.
Enzyme, LLVM and clang must share one LLVM major: the build checks it."""

from __future__ import annotations

from ..recipe import LLVM_LICENSE, Component, Context, Section

LICENSE = LLVM_LICENSE

MAJOR = 22


def plan(ctx: Context) -> list[Component]:
    if "enzyme" not in ctx.expansion.components:
        return []
    mlir = ["mlir"] if ctx.expansion.enzyme_mlir else []
    main = ctx.against_toolchain(
        "Enzyme against the toolchain's LLVM (ClangEnzyme: Clang_DIR)", ["llvm", "clang", *mlir]
    )
    main.add("ENZYME_EXTERNAL_SHARED_LIB", True, "LLVMEnzyme-22.so loadable by opt/clang/lld")
    main.add("ENZYME_BC_LOADER", False)
    main.add("ENZYME_CLANG", True)
    main.add("ENZYME_MLIR", ctx.expansion.enzyme_mlir, "enzymemlir-opt (tpu)")
    extra = Section("Extra entries (enzyme.cmake)")
    extra.extend(ctx.config.enzyme.cmake)
    libraries = [f"LLVMEnzyme-{MAJOR}", f"ClangEnzyme-{MAJOR}", f"LLDEnzyme-{MAJOR}"]
    return [
        Component(
            name="enzyme",
            recipe="enzyme",
            license=LICENSE,
            action="cmake",
            version=_version(ctx),
            description="Enzyme (LLVM plugin"
            + (" + Enzyme-MLIR)" if ctx.expansion.enzyme_mlir else ")"),
            source_subdir="enzyme",
            source_env="MLIRBOOT_ENZYME_SOURCE",
            depends_on=["llvm"],
            install_targets=["install"],
            provides={
                "libraries": libraries,
                "tools": ["enzymemlir-opt"] if ctx.expansion.enzyme_mlir else [],
            },
            sections=[main, extra],
        )
    ]


def _version(ctx: Context) -> str:
    source = ctx.config.sources.enzyme  # type: ignore[union-attr]
    if source.use == "git" and source.git:
        return source.git.tag or source.git.commit[:12]
    return source.use
