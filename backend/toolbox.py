"""Where the backend's tools come from: the toolchain manifest (explicit path,
$MLIRBOOT_TOOLCHAIN, ./build/toolchain), else the system LLVM 22. Device tools
outside the LLVM prefix (ptxas from the nvidia-cuda-nvcc wheel, spirv-val from
spirv-tools) are found by the small helpers here."""

from __future__ import annotations

import os
import shutil
import sys
from functools import cached_property
from pathlib import Path

from ..bootstrap.errors import UsageError
from ..bootstrap.manifest import Manifest, device_library_name, device_runtime_component, locate
from ..bootstrap.toolset import system_manifest
from .passes.plugin import RESIDENT_NAME, cached_resident

PASSES_LIBRARY = "MlirbootPasses"  # its name in the manifest's libraries
SERVED_TOOLS = ("mlir-opt", "mlir-translate", "clang")  # what RESIDENT_NAME serves


class Toolbox:
    def __init__(self, toolchain: str | os.PathLike[str] | None = None):
        self._explicit = toolchain

    @cached_property
    def manifest(self) -> Manifest:
        path = locate(self._explicit)
        return Manifest.load(path) if path else system_manifest()

    def tool(self, name: str) -> Path:
        return self.manifest.tool(name)

    @cached_property
    def passes_plugin(self) -> Path:
        """MlirbootPasses.so: the toolchain's (built by the build engine and
        recorded in the manifest), else built once against this LLVM's MLIR
        and cached (the system-LLVM fallback: cached_plugin)."""
        known = self.manifest.libraries.get(PASSES_LIBRARY)
        if known and Path(known).exists():
            return Path(known)
        from .passes.plugin import cached_plugin

        return cached_plugin(self.mlir_cmake_dir)

    @cached_property
    def resident_mlir(self) -> Path | None:
        """mlirboot-mlir, built with the pass plugin against this toolchain's
        MLIR (backend/resident.py): the manifest's, else the cached build's
        if there is one. Never built here: without it tools run as processes."""
        known = self.manifest.tools.get(RESIDENT_NAME)
        if known:
            return Path(known) if Path(known).exists() else None
        if PASSES_LIBRARY in self.manifest.libraries:
            return None  # a toolchain's plugin from before mlirboot-mlir
        return cached_resident(self.mlir_cmake_dir)

    def served_tool(self, exe: object) -> str | None:
        """The name of the tool `exe` is (mlir-opt, mlir-translate, clang), if
        it is this toolchain's: the ones mlirboot-mlir can serve."""
        for name in SERVED_TOOLS:
            if self.manifest.tools.get(name) == str(exe):
                return name
        return None

    @property
    def mlir_cmake_dir(self) -> Path:
        """MLIRConfig.cmake's dir: beside the LLVM install mlir-opt comes from
        (for a system-provider toolchain that is not the manifest's prefix)."""
        candidates = [Path(self.manifest.prefix) / "lib" / "cmake" / "mlir"]
        if "mlir-opt" in self.manifest.tools:
            candidates.insert(0, self.tool("mlir-opt").parent.parent / "lib" / "cmake" / "mlir")
        return next((c for c in candidates if (c / "MLIRConfig.cmake").exists()), candidates[-1])

    def plugin(self, name: str) -> Path:
        """A pass plugin named by a pipeline stage's `load:`."""
        if name == "passes":
            return self.passes_plugin
        raise UsageError(f"unknown pass plugin `{name}`", where="pipeline", hint="known: passes")

    @property
    def lib_dir(self) -> Path:
        """Where libomp/libomptarget live (runtime search path of executables)."""
        try:
            return self.manifest.library("omptarget").parent
        except UsageError:
            return Path(self.manifest.prefix) / "lib"

    def device_library(self, name: str, triple: str, target: str) -> Path:
        """A device runtime library the toolchain's devicertl-<triple> build
        installed (toolchain.json `libraries`: <name>-<triple>)."""
        key = device_library_name(name, triple)
        found = self.manifest.libraries.get(key)
        if found and Path(found).exists():
            return Path(found)
        component = device_runtime_component(triple)
        raise UsageError(
            f"the toolchain has no device runtime `{key}` (component {component})",
            where=f"{target} device, {self.manifest.path or 'system LLVM ' + self.manifest.prefix}",
            hint=f"mlirboot configure --target {target} && mlirboot build {component}, "
            "then compile with --toolchain <its prefix>",
        )

    def cuda_root(self) -> Path:
        """A CUDA tool root with bin/ptxas and bin/nvlink: the manifest's ptxas,
        else PyPI nvidia-cuda-nvcc (nvidia/cu13), else $CUDA_PATH."""
        known = self.manifest.tools.get("ptxas")
        if known:
            return Path(known).parent.parent
        roots = []
        for entry in sys.path:
            roots += sorted(Path(entry).glob("nvidia/cu*/bin/ptxas")) if entry else []
        if roots:
            return roots[-1].parent.parent
        env = os.environ.get("CUDA_PATH")
        if env and (Path(env) / "bin" / "ptxas").exists():
            return Path(env)
        raise UsageError(
            "tool not found: ptxas",
            where="nvidia device",
            hint="pip install nvidia-cuda-nvcc (or put ptxas in the toolchain manifest)",
        )

    def ptxas(self) -> Path:
        return self.cuda_root() / "bin" / "ptxas"

    def spirv_val(self) -> Path:
        known = self.manifest.tools.get("spirv-val") or shutil.which("spirv-val")
        if not known:
            raise UsageError(
                "tool not found: spirv-val",
                where="intel device",
                hint="apt-get install spirv-tools",
            )
        return Path(known)
