"""The backend with a system-provider toolchain (what the README's quickstart
builds into ./build/toolchain): its LLVM tools live in the distribution's LLVM
prefix, not under the manifest's prefix."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlirboot.backend.driver import compile_program

PROGRAMS = Path(__file__).parent / "programs"


@pytest.fixture(scope="module")
def system_toolchain(tmp_path_factory) -> Path:
    if not Path("/usr/lib/llvm-22/bin/llvm-config").exists():
        pytest.skip("no LLVM 22 at /usr/lib/llvm-22")
    base = tmp_path_factory.mktemp("system-toolchain")
    build, prefix = base / "build", base / "prefix"
    for args in (
        ["configure", "--target", "host", "-B", build, "--prefix", prefix],
        ["build", "-B", build, "llvm", "offload"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "mlirboot.bootstrap.cli", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
    return prefix


@pytest.mark.skipif(shutil.which("spirv-val") is None, reason="no spirv-val (spirv-tools)")
def test_intel_embedded_spirv_validates_with_a_system_toolchain(system_toolchain, tmp_path):
    """The embedded-image check dumps sections with llvm-objcopy, found through
    the manifest, not under the prefix."""
    art = compile_program(
        PROGRAMS / "mlp.mlir", target="intel", out=tmp_path / "art", toolchain=str(system_toolchain)
    )
    assert art.meta["info"]["validation"]["spirv-val-embedded"].endswith(": ok")
