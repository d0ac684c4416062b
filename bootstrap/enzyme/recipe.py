"""Enzyme against the toolchain's own LLVM_DIR (MLIR_DIR with ENZYME_MLIR for
tpu), building only what a consumer the config names uses: the opt plugin
(enzyme.plugin, the backend's --grad), the static library rustc's libEnzyme is
linked from (enzyme.rustc), enzymemlir-opt (Enzyme-MLIR, tpu). Enzyme and LLVM
must share one LLVM major: the build checks it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..recipe import CMAKE_COMPONENT, LLVM_LICENSE, Component, Context, Section

LICENSE = LLVM_LICENSE

MAJOR = 22
MLIR_DEPS = Path(__file__).parent / "mlir_deps.cmake"


def plan(ctx: Context) -> list[Component]:
    if "enzyme" not in ctx.expansion.components:
        return []
    enzyme_mlir = ctx.expansion.enzyme_mlir
    # One library per consumer, built as its own ninja target: Enzyme's own
    # `all` compiles its ~25 sources once for every library it defines.
    consumers = [c for c in CONSUMERS if c.wanted(ctx)]
    mlir = ["mlir"] if enzyme_mlir else []
    main = ctx.against_toolchain("Enzyme against the toolchain's LLVM", ["llvm", *mlir])
    static = any(c.name == "rustc" for c in consumers)
    # Enzyme's CMake refuses a configuration with no LLVM library at all; the
    # plugin's rules cost nothing while its target is not built.
    main.add(
        "ENZYME_ENABLE_PLUGINS",
        any(c.name == "plugin" for c in consumers) or not static,
        "only the targets below are built",
    )
    main.add("ENZYME_STATIC_LIB", static)
    main.add(
        "ENZYME_EXTERNAL_SHARED_LIB", False, "rustc's libEnzyme: `mlirboot rust enable-autodiff`"
    )
    main.add("ENZYME_CLANG", False, "no clang plugin: nothing here loads it")
    main.add("ENZYME_BC_LOADER", False)
    main.add("ENZYME_MLIR", enzyme_mlir, "enzymemlir-opt (tpu)")
    if enzyme_mlir:
        main.add(
            "CMAKE_PROJECT_Enzyme_INCLUDE",
            str(MLIR_DEPS),
            "the tablegen dependencies Enzyme-MLIR's analysis library lacks",
        )
        # Installed, enzymemlir-opt keeps an rpath to the toolchain's libMLIR
        # (LLVM's default install rpath, $ORIGIN/../lib, does not hold it).
        main.add("CMAKE_INSTALL_RPATH_USE_LINK_PATH", True)
    extra = Section("Extra entries (enzyme.cmake)")
    extra.extend(ctx.config.enzyme.cmake)
    tools = [MLIR_TOOL] if enzyme_mlir else []
    targets = [c.target for c in consumers] + tools
    return [
        Component(
            name="enzyme",
            recipe="enzyme",
            license=LICENSE,
            action="cmake",
            version=_version(ctx),
            description="Enzyme (" + ", ".join([c.describe for c in consumers] + tools) + ")",
            source_subdir="enzyme",
            source_env="MLIRBOOT_ENZYME_SOURCE",
            depends_on=["llvm"],
            build_targets=targets,
            # enzymemlir-opt's install rule has no ninja target of its own.
            install_targets=[f"install-{c.target}" for c in consumers]
            + [f"{CMAKE_COMPONENT}{t}" for t in tools],
            provides={"libraries": [c.target for c in consumers], "tools": tools},
            library_files={c.library: c.file for c in consumers},
            sections=[main, extra],
        )
    ]


@dataclass(frozen=True)
class Consumer:
    """Who uses an Enzyme library: the config key that asks for it, the ninja
    target that builds it and the file it installs."""

    name: str  # the enzyme.<name> config key
    library: str  # its name in toolchain.json's `libraries`
    target: str
    file: str  # relative to the prefix
    describe: str

    def wanted(self, ctx: Context) -> bool:
        return bool(getattr(ctx.config.enzyme, self.name))


MLIR_TOOL = "enzymemlir-opt"
CONSUMERS = (
    Consumer(
        "plugin",
        "LLVMEnzyme",
        f"LLVMEnzyme-{MAJOR}",
        f"lib/LLVMEnzyme-{MAJOR}.so",
        "opt plugin for --grad",
    ),
    Consumer(
        "rustc",
        "EnzymeStatic",
        f"EnzymeStatic-{MAJOR}",
        f"lib/libEnzymeStatic-{MAJOR}.a",
        "static library for rustc's libEnzyme",
    ),
)


def _version(ctx: Context) -> str:
    source = ctx.config.sources.enzyme  # type: ignore[union-attr]
    if source.use == "git" and source.git:
        return source.git.tag or source.git.commit[:12]
    return source.use
