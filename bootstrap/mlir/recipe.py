"""MLIR lives in the llvm build; this recipe adds its options and the MLIR
libraries the backend runs programs with."""

from __future__ import annotations

from ..recipe import Component, Context, Section

RUNNER_LIBRARIES = ["mlir_runner_utils", "mlir_c_runner_utils"]


def contribute(ctx: Context, llvm: Component) -> None:
    if llvm.action != "cmake":
        return
    mlir = ctx.config.mlir
    section = Section("MLIR")
    section.add("MLIR_ENABLE_BINDINGS_PYTHON", mlir.python_bindings)
    section.extend(ctx.expansion.mlir_cmake, "from the selected targets")
    section.extend(mlir.cmake)
    llvm.add_section(section)
    if mlir.runner_utils and "mlir" in ctx.expansion.projects:
        llvm.add_distribution(RUNNER_LIBRARIES)
        llvm.provides["libraries"] = list(RUNNER_LIBRARIES)
