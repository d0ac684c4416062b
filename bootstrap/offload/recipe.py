"""The offload + openmp runtimes: libomptarget/liboffload with the host plugin
always and the GPU plugins the targets bring, and one OpenMP device runtime
per device triple (installed under lib/<triple>/, so they never overwrite
each other).

In-tree (LLVM from source): runtimes built by the llvm build itself through
LLVM_ENABLE_RUNTIMES / LLVM_RUNTIME_TARGETS, one LLVM for everything.
Standalone: <src>/runtimes configured against an existing LLVM 22 (the
system's, or the one this toolchain built)."""

from __future__ import annotations

from pathlib import Path

from ..manifest import device_library_name, device_runtime_component
from ..recipe import LLVM_LICENSE, CacheEntry, Component, Context, Section
from ..targets import DeviceRuntime

LICENSE = LLVM_LICENSE

SOURCE_ENV = "MLIRBOOT_LLVM_SOURCE"
LLVM_SHIM = Path(__file__).parent / "llvm_shim"


def library_files(rt: DeviceRuntime) -> dict[str, str]:
    """toolchain.json name -> file under the prefix, of each library the
    triple's device runtimes install (lib/<triple>/, per-target runtime dir)."""
    return {
        device_library_name(name, rt.triple): f"lib/{rt.triple}/{file}"
        for name, file in rt.libraries.items()
    }


def _llvm_through_shim(section: Section) -> None:
    """GPU libc writes generated headers under LLVM_BINARY_DIR, which the
    installed LLVM's LLVMConfig.cmake sets to the installed LLVM: find LLVM
    through llvm_shim/ (the same package, LLVM_BINARY_DIR = this build)."""
    for i, entry in enumerate(section.entries):
        if entry.key == "LLVM_DIR":
            section.entries[i] = CacheEntry(
                "LLVM_DIR", str(LLVM_SHIM), "llvm_shim/LLVMConfig.cmake"
            )
            section.add("MLIRBOOT_LLVM_CMAKE_DIR", entry.value, "the LLVM the shim loads")
            return
    raise ValueError("no LLVM_DIR to redirect")


def mode(ctx: Context) -> str:
    if ctx.llvm_provider == "system":
        return "standalone"
    return ctx.config.offload.mode


def contribute(ctx: Context, llvm: Component) -> None:
    """In-tree: the runtime settings go into the llvm build."""
    if llvm.action != "cmake" or mode(ctx) != "in-tree":
        return
    exp = ctx.expansion
    section = Section("Offload runtimes (in-tree)")
    section.add("LLVM_ENABLE_RUNTIMES", exp.runtimes)
    section.add("LLVM_ENABLE_PER_TARGET_RUNTIME_DIR", True, "lib/<triple>/ per runtime target")
    section.add("LLVM_RUNTIME_TARGETS", ["default", *(rt.triple for rt in exp.device_runtimes)])
    for rt in exp.device_runtimes:
        section.add(
            f"RUNTIMES_{rt.triple}_LLVM_ENABLE_RUNTIMES",
            rt.runtimes,
            "the device runtime for this triple",
        )
        for key, value in rt.cmake.items():
            section.add(f"RUNTIMES_{rt.triple}_{key}", value)
    section.add("LIBOMPTARGET_PLUGINS_TO_BUILD", exp.plugins, "host always; GPU plugins per target")
    section.extend(ctx.config.offload.cmake)
    llvm.add_section(section)
    llvm.add_distribution(["runtimes"])
    llvm.provides.setdefault("libraries", []).extend(["omptarget", "omp", "offload"])
    for rt in exp.device_runtimes:
        llvm.library_files.update(library_files(rt))


def plan(ctx: Context) -> list[Component]:
    """Standalone components: the host runtime + plugins, then device runtimes."""
    if mode(ctx) == "in-tree":
        return []
    config = ctx.config
    out = []
    if ctx.provider_of("offload") == "system":
        out.append(
            Component(
                name="offload",
                recipe="offload",
                license=LICENSE,
                action="system",
                version=config.llvm_version,
                description="offload + OpenMP runtimes from the distribution (host, cuda, amdgpu "
                "plugins)",
                provides={"libraries": ["omptarget", "omp", "offload"]},
                llvm_prefix=str(ctx.llvm_prefix),
            )
        )
    else:
        main = ctx.against_toolchain(
            "Offload runtimes, standalone against an existing LLVM 22", ["llvm", "clang"]
        )
        main.add("LLVM_ENABLE_RUNTIMES", ctx.expansion.runtimes)
        main.add(
            "LIBOMPTARGET_PLUGINS_TO_BUILD",
            ctx.expansion.plugins,
            "host always; GPU plugins per target",
        )
        main.add("LLVM_INCLUDE_TESTS", False)
        extra = Section("Extra entries (offload.cmake)")
        extra.extend(config.offload.cmake)
        out.append(
            Component(
                name="offload",
                recipe="offload",
                license=LICENSE,
                action="cmake",
                version=config.llvm_version,
                description="offload + OpenMP runtimes built from source",
                source_subdir="runtimes",
                source_env=SOURCE_ENV,
                depends_on=["llvm"],
                install_targets=["install"],
                provides={"libraries": ["omptarget", "omp", "offload"]},
                sections=[main, extra],
            )
        )
    for rt in ctx.expansion.device_runtimes:
        section = ctx.against_toolchain(f"OpenMP device runtime for {rt.triple}", ["llvm"])
        if "libc" in rt.runtimes:
            _llvm_through_shim(section)
        section.add("LLVM_ENABLE_RUNTIMES", rt.runtimes)
        section.add("LLVM_DEFAULT_TARGET_TRIPLE", rt.triple)
        # What the in-tree runtimes build passes per LLVM_RUNTIME_TARGETS entry:
        # libc picks its target (and the GPU build) from it, not from the
        # compiler target, and runtimes/ adds nvptx's -flto -c probe flags.
        section.add("LLVM_RUNTIMES_TARGET", rt.triple)
        section.add("LLVM_ENABLE_PER_TARGET_RUNTIME_DIR", True, "lib/<triple>/: no overwrites")
        # Cross-compiling for the device: CMake's compiler probe cannot link
        # a host program for it, and host flags do not apply.
        for lang in ("C", "CXX"):
            section.add(f"CMAKE_{lang}_COMPILER_TARGET", rt.triple)
        for lang in ("C", "CXX", "ASM"):
            section.add(f"CMAKE_{lang}_COMPILER_WORKS", True)
        section.add("CMAKE_C_FLAGS", "")
        section.add("CMAKE_CXX_FLAGS", "")
        section.extend(rt.cmake)
        files = library_files(rt)
        out.append(
            Component(
                name=device_runtime_component(rt.triple),
                recipe="offload",
                license=LICENSE,
                action="cmake",
                version=config.llvm_version,
                description=f"OpenMP device runtime for {rt.triple}",
                source_subdir="runtimes",
                source_env=SOURCE_ENV,
                depends_on=["llvm", "offload"],
                install_targets=["install"],
                provides={"libraries": list(files)},
                library_files=files,
                sections=[section],
            )
        )
    return out
