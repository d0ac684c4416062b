"""The rendered caches configure the real LLVM 22.1.8 source with real CMake
(`cmake -G Ninja -C <cache> <src>/<subdir>`), exactly as a user would by hand."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mbtest import configured
from mlirboot.bootstrap.engine.hostinfo import find_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def llvm_source() -> Path:
    src = os.environ.get("MLIRBOOT_LLVM_SOURCE")
    if not src or not (Path(src) / "llvm" / "CMakeLists.txt").exists():
        pytest.fail(
            "MLIRBOOT_LLVM_SOURCE must point at the LLVM 22.1.8 source "
            "(.ci/run fetches it; see README)"
        )
    return Path(src)


def cmake_configure(cache: Path, source: Path, build: Path) -> subprocess.CompletedProcess:
    build.mkdir(parents=True)
    return subprocess.run(
        [
            find_tool("cmake"),
            "-G",
            "Ninja",
            f"-DCMAKE_MAKE_PROGRAM={find_tool('ninja')}",
            "-C",
            str(cache),
            str(source),
        ],
        cwd=build,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize("targets", ["host", "nvidia", "amd", "intel", "tpu", "nvidia,amd"])
def test_llvm_cache_configures_real_llvm(tmp_path: Path, llvm_source: Path, targets: str):
    result = configured(tmp_path, targets, "provider=source")
    cache = tmp_path / "llvm.cmake"
    cache.write_text(result.files["llvm.cmake"])
    proc = cmake_configure(cache, llvm_source / "llvm", tmp_path / "obj")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Build files have been written" in proc.stdout
    # The distribution is exactly what the plan installs.
    targets_out = subprocess.run(
        [find_tool("ninja"), "-t", "targets", "all"],
        cwd=tmp_path / "obj",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "install-distribution:" in targets_out
    assert "install-runtimes:" in targets_out


@pytest.mark.parametrize(
    "cache_name",
    ["devicertl-nvptx64-nvidia-cuda.cmake", "devicertl-amdgcn-amd-amdhsa.cmake", "offload.cmake"],
)
def test_system_overlay_caches_configure_real_runtimes(
    tmp_path: Path, llvm_source: Path, cache_name: str
):
    result = configured(tmp_path, "nvidia,amd", "offload.provider=source")
    cache = tmp_path / cache_name
    cache.write_text(result.files[cache_name])
    proc = cmake_configure(cache, llvm_source / "runtimes", tmp_path / "obj")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
