"""StableHLO against the toolchain's MLIR (not embedded in an LLVM build)."""

from __future__ import annotations

from pathlib import Path

from ..recipe import Component, Context, Section

TOOLS = ["stablehlo-opt", "stablehlo-translate"]
INSTALL_TOOLS = Path(__file__).parent / "install_tools.cmake"

LICENSE: str | None = "Apache-2.0"  # openxla/stablehlo LICENSE


def plan(ctx: Context) -> list[Component]:
    if "stablehlo" not in ctx.expansion.components:
        return []
    main = ctx.against_toolchain("StableHLO against the toolchain's MLIR", ["mlir", "llvm"])
    main.add("STABLEHLO_BUILD_EMBEDDED", False, "standalone, not inside an LLVM build")
    main.add("STABLEHLO_ENABLE_BINDINGS_PYTHON", False)
    main.add(
        "CMAKE_PROJECT_stablehlo_INCLUDE",
        str(INSTALL_TOOLS),
        "install rules for stablehlo-opt/-translate (StableHLO has none)",
    )
    extra = Section("Extra entries (stablehlo.cmake)")
    extra.extend(ctx.config.stablehlo.cmake)
    source = ctx.config.sources.stablehlo  # type: ignore[union-attr]
    version = source.git.commit[:12] if source.use == "git" and source.git else source.use
    return [
        Component(
            name="stablehlo",
            recipe="stablehlo",
            license=LICENSE,
            action="cmake",
            version=version,
            description="StableHLO dialects and tools (stablehlo-opt, stablehlo-translate)",
            source_subdir="",
            source_env="MLIRBOOT_STABLEHLO_SOURCE",
            depends_on=["llvm"],
            install_targets=["install"],
            provides={"tools": list(TOOLS)},
            sections=[main, extra],
        )
    ]
