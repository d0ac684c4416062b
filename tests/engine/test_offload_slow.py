"""Real source build through the whole engine path: the LLVM 22.1.8 offload
runtimes (openmp;offload, ~100 steps) built standalone against the system
LLVM 22, installed and published, then a no-op rebuild."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .conftest import component, mlirboot, write_plan

pytestmark = pytest.mark.slow

LOCAL_SOURCE = Path("/work/cache/src/llvm-toolchain-22_22.1.8")
LLVM22 = Path("/usr/lib/llvm-22")
DEBIAN_SOURCE = {
    "kind": "debian", "package": "llvm-toolchain-22", "suite": "trixie", "strip": 1,
    "file": "llvm-toolchain-22_22.1.8.orig.tar.xz",
    "sha256": "b49b9277aef97616320b2da259e1f8174c65b0ce2fbe2e8629644a97693402fe",
}
# Hand-written for now; the planner's offload recipe will generate this.
CACHE = f"""\
set(CMAKE_BUILD_TYPE Release CACHE STRING "")
set(CMAKE_C_COMPILER {LLVM22}/bin/clang CACHE FILEPATH "")
set(CMAKE_CXX_COMPILER {LLVM22}/bin/clang++ CACHE FILEPATH "")
set(LLVM_ENABLE_RUNTIMES "openmp;offload" CACHE STRING "")
set(LLVM_DIR {LLVM22}/lib/cmake/llvm CACHE PATH "")
set(Clang_DIR {LLVM22}/lib/cmake/clang CACHE PATH "")
set(LLVM_INCLUDE_TESTS OFF CACHE BOOL "")
"""


@pytest.mark.skipif(not (LLVM22 / "lib/cmake/clang").exists(),
                    reason="needs LLVM 22 dev packages (llvm-22-dev libclang-22-dev)")
def test_offload_runtimes_from_llvm_source(tmp_path: Path, monkeypatch) -> None:
    if not os.environ.get("MLIRBOOT_LLVM_SOURCE") and LOCAL_SOURCE.is_dir():
        monkeypatch.setenv("MLIRBOOT_LLVM_SOURCE", str(LOCAL_SOURCE))
    build, prefix = tmp_path / "build", tmp_path / "prefix"
    build.mkdir()
    (build / "offload.cmake").write_text(CACHE)
    write_plan(build, prefix, [component(
        "offload", DEBIAN_SOURCE, recipe="offload", version="22.1.8",
        source_env="MLIRBOOT_LLVM_SOURCE", source_subdir="runtimes",
        provides={"tools": [], "libraries": ["omptarget", "omp"]})], jobs=None)
    result = mlirboot("build", "--build-dir", build, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    assert (prefix / "lib" / "libomptarget.so").exists() or list(
        prefix.glob("lib/*/libomptarget.so")), sorted(p.name for p in prefix.rglob("*.so*"))
    manifest = json.loads((prefix / "toolchain.json").read_text())
    assert "omptarget" in manifest["libraries"]
    assert any(f["path"].endswith("libomptarget.so") or "libomptarget.so" in f["path"]
               for f in manifest["files"])
    start = time.monotonic()
    again = mlirboot("build", "--build-dir", build, "--json")
    elapsed = time.monotonic() - start
    steps = json.loads(again.stdout)["components"][0]["steps"]
    assert all(v in ("ok", "up to date") for v in steps.values()), steps
    print(f"no-op rebuild: {elapsed:.2f}s")
