"""What a toolchain prefix holds: which tools and libraries the backend needs,
and how to find them in an LLVM 22 install (a built prefix or the system's
/usr/lib/llvm-22). Shared by the system provider, the build engine's manifest
writer and the backend's fallback discovery."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from . import __version__
from .errors import UsageError
from .manifest import Manifest

LLVM_MAJOR = 22

# Tools the backend and users call; found in <prefix>/bin.
TOOLS = [
    "clang",
    "clang++",
    "clang-linker-wrapper",
    "clang-offload-packager",
    "clang-nvlink-wrapper",
    "ld.lld",
    "lld",
    "llc",
    "opt",
    "llvm-link",
    "llvm-config",
    "llvm-offload-binary",
    "llvm-offload-device-info",
    "llvm-objdump",
    "llvm-objcopy",
    "llvm-readelf",
    "llvm-dis",
    "llvm-as",
    "llvm-ar",
    "FileCheck",
    "mlir-opt",
    "mlir-translate",
    "mlir-runner",
    "llvm-spirv",
]

# Library name -> file name patterns searched in <prefix>/lib (first match wins).
LIBRARIES = {
    "omptarget": ["libomptarget.so"],
    "omp": ["libomp.so"],
    "offload": ["libLLVMOffload.so"],
    "mlir_runner_utils": ["libmlir_runner_utils.so"],
    "mlir_c_runner_utils": ["libmlir_c_runner_utils.so"],
    "MLIR": ["libMLIR.so"],
    "LLVM": [f"libLLVM-{LLVM_MAJOR}.so", "libLLVM.so"],
    "LLVMEnzyme": [f"LLVMEnzyme-{LLVM_MAJOR}.so"],
    # The TPU PJRT plugin, from the pjrt component's pip install into the prefix.
    "libtpu": ["python/libtpu/libtpu.so"],
    # The backend's pass plugin (bootstrap/passes), loaded by mlir-opt.
    "MlirbootPasses": ["MlirbootPasses.so"],
}

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")


def llvm_version(llvm_config: Path) -> str:
    """`llvm-config --version`, asked once per binary (a replaced binary is
    asked again): the backend looks the toolchain up on every compile."""
    try:
        st = os.stat(llvm_config)
    except OSError:
        return ""
    return _llvm_version(str(llvm_config), st.st_ino, st.st_mtime_ns, st.st_size)


@functools.cache
def _llvm_version(llvm_config: str, _ino: int, _mtime_ns: int, _size: int) -> str:
    return subprocess.run(
        [llvm_config, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()


def find_system_llvm(explicit_prefix: str | os.PathLike[str] | None = None) -> Path:
    """The prefix of an LLVM 22 install: explicit, llvm-config-22 on PATH, or
    /usr/lib/llvm-22. Raises UsageError with the fix when none is found."""
    candidates: list[Path] = []
    if explicit_prefix:
        candidates.append(Path(explicit_prefix))
    else:
        found = shutil.which(f"llvm-config-{LLVM_MAJOR}")
        if found:
            candidates.append(Path(os.path.realpath(found)).parent.parent)
        candidates.append(Path(f"/usr/lib/llvm-{LLVM_MAJOR}"))
    for prefix in candidates:
        config = prefix / "bin" / "llvm-config"
        if config.exists():
            version = llvm_version(config)
            match = _VERSION.match(version)
            if not match or int(match.group(1)) != LLVM_MAJOR:
                raise UsageError(
                    f"LLVM at {prefix} is version {version or 'unknown'}, not {LLVM_MAJOR}.x",
                    where="system provider",
                    hint=f"install LLVM {LLVM_MAJOR} (`mlirboot provision --target host`) "
                    "or pass --llvm-prefix",
                )
            return prefix
    raise UsageError(
        f"no LLVM {LLVM_MAJOR} install found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + ")",
        where="system provider",
        hint="run `mlirboot provision --target host` (installs the distribution's "
        f"LLVM {LLVM_MAJOR} packages) or pass --llvm-prefix DIR",
    )


def scan_prefix(prefix: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Tools and libraries present in an LLVM prefix."""
    tools = {}
    for name in TOOLS:
        path = prefix / "bin" / name
        if path.exists():
            tools[name] = str(path)
    libraries = {}
    for name, patterns in LIBRARIES.items():
        for pattern in patterns:
            path = prefix / "lib" / pattern
            if path.exists():
                libraries[name] = str(path)
                break
    return tools, libraries


def system_manifest(prefix: Path | None = None, targets: list[str] | None = None) -> Manifest:
    """A manifest describing an existing LLVM 22 install (the system provider)."""
    prefix = prefix or find_system_llvm()
    version = llvm_version(prefix / "bin" / "llvm-config")
    tools, libraries = scan_prefix(prefix)
    # External device tools the backend validates with, when present.
    for name in ("ptxas", "spirv-val", "nvlink", "fatbinary"):
        found = shutil.which(name)
        if found:
            tools.setdefault(name, found)
    return Manifest(
        mlirboot_version=__version__,
        provider="system",
        llvm_version=version,
        prefix=str(prefix),
        targets=targets or [],
        tools=tools,
        libraries=libraries,
        components={"llvm": {"version": version, "provider": "system", "prefix": str(prefix)}},
    )
