"""The llvm component: one LLVM build with exactly the projects, backends and
tools the selected targets need. Only what is installed is built
(LLVM_DISTRIBUTION_COMPONENTS + `ninja distribution`)."""

from __future__ import annotations

from ..recipe import LLVM_LICENSE, Component, Context, Section

LICENSE = LLVM_LICENSE

TEST_SWITCHES = {
    # Tests, examples and benchmarks add hundreds of steps nobody installs.
    "LLVM_INCLUDE_TESTS": False,
    "LLVM_INCLUDE_EXAMPLES": False,
    "LLVM_INCLUDE_BENCHMARKS": False,
    "LLVM_INCLUDE_DOCS": False,
    "CLANG_INCLUDE_TESTS": False,
    "MLIR_INCLUDE_TESTS": False,
    # llvm-gpu-loader only runs libc's GPU tests and is never installed; with
    # a CUDA toolkit but no driver library (a build container) its configure
    # fails: it links CUDA::cuda_driver whenever the toolkit is found.
    "LLVM_TOOL_LLVM_GPU_LOADER_BUILD": False,
}


def plan(ctx: Context) -> Component:
    config = ctx.config
    if ctx.llvm_provider == "system":
        return Component(
            name="llvm",
            recipe="llvm",
            license=LICENSE,
            action="system",
            version=config.llvm_version,
            description="LLVM, MLIR, clang and lld from the distribution's LLVM 22 packages",
            provides={"tools": list(ctx.expansion.tools)},
            llvm_prefix=str(ctx.llvm_prefix),
        )
    llvm = config.llvm
    main = Section("Projects and backends (from the selected targets)")
    main.add("LLVM_ENABLE_PROJECTS", ctx.expansion.projects, "union over the targets")
    main.add("LLVM_TARGETS_TO_BUILD", ctx.expansion.llvm_targets, "host + device backends")

    build = Section("Build")
    build.add("CMAKE_BUILD_TYPE", llvm.build_type)
    build.add("LLVM_ENABLE_ASSERTIONS", llvm.assertions)
    build.add("CMAKE_INSTALL_PREFIX", str(ctx.prefix))
    build.add(
        "LLVM_BUILD_LLVM_DYLIB", llvm.link_dylib, "one libLLVM.so, as rustc link-shared wants"
    )
    build.add("LLVM_LINK_LLVM_DYLIB", llvm.link_dylib)
    if config.build.link_jobs:
        build.add("LLVM_PARALLEL_LINK_JOBS", config.build.link_jobs, "links are RAM-bound")
    build.extend(TEST_SWITCHES)
    ctx.compiler_entries(build)

    dist = Section("What gets installed (and so built)")
    dist.add(
        "LLVM_DISTRIBUTION_COMPONENTS",
        list(ctx.expansion.tools),
        "`ninja distribution` builds only these",
    )

    extra = Section("Extra entries (llvm.cmake)")
    extra.extend(llvm.cmake)
    return Component(
        name="llvm",
        recipe="llvm",
        license=LICENSE,
        action="cmake",
        version=config.llvm_version,
        description="LLVM, MLIR, clang and lld built from source",
        source_subdir="llvm",
        source_env="MLIRBOOT_LLVM_SOURCE",
        build_targets=["distribution"],
        install_targets=["install-distribution"],
        provides={"tools": list(ctx.expansion.tools)},
        sections=[main, build, dist, extra],
    )
