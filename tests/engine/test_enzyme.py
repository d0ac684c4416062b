"""Enzyme: built against the toolchain's own LLVM (LLVMEnzyme-22.so and
friends), refusing an LLVM of another major. No package registry reachable
here carries Enzyme's source, so the real build runs only when
MLIRBOOT_ENZYME_SOURCE points at a checkout (marker `enzyme`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlirboot.bootstrap.manifest import Manifest

from .conftest import mlirboot

ENZYME_SOURCE = os.environ.get("MLIRBOOT_ENZYME_SOURCE", "")

GRAD_IR = r"""
define double @square(double %x) {
  %y = fmul double %x, %x
  ret double %y
}
declare double @__enzyme_autodiff(ptr, double)
define double @dsquare(double %x) {
  %d = call double @__enzyme_autodiff(ptr @square, double %x)
  ret double %d
}
"""


def test_enzyme_refuses_an_llvm_of_another_major(tmp_path: Path):
    fake = tmp_path / "llvm-21"
    (fake / "bin").mkdir(parents=True)
    config = fake / "bin" / "llvm-config"
    config.write_text("#!/bin/sh\necho 21.1.8\n")
    config.chmod(0o755)
    source = tmp_path / "enzyme-src"
    (source / "enzyme").mkdir(parents=True)
    mlirboot(
        "configure",
        "--target",
        "host",
        "--set",
        "enzyme.enabled=true",
        "--set",
        f"system.llvm_prefix={fake}",
        "--build-dir",
        "b",
        cwd=tmp_path,
        check=True,
    )
    result = mlirboot(
        "build",
        "--build-dir",
        "b",
        "enzyme",
        cwd=tmp_path,
        env={"MLIRBOOT_ENZYME_SOURCE": str(source)},
    )
    assert result.returncode == 2, result.stderr
    assert f"LLVM at {fake} is version 21.1.8, not 22.x" in result.stderr
    assert not (tmp_path / "b" / "toolchain" / "lib" / "LLVMEnzyme-22.so").exists()


@pytest.mark.enzyme
@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(ENZYME_SOURCE) / "enzyme" / "CMakeLists.txt").exists(),
    reason="Enzyme's source is on no package registry reachable here: set "
    "MLIRBOOT_ENZYME_SOURCE to an Enzyme checkout (v0.0.302) to run this",
)
def test_enzyme_builds_against_the_toolchain(tmp_path: Path):
    mlirboot(
        "configure",
        "--target",
        "host",
        "--set",
        "enzyme.enabled=true",
        "--build-dir",
        "b",
        cwd=tmp_path,
        check=True,
    )
    result = mlirboot("build", "--build-dir", "b", "enzyme", cwd=tmp_path, timeout=5400)
    assert result.returncode == 0, result.stderr[-5000:]
    # Loaded (not read as JSON): paths inside the prefix are relative to it.
    manifest = Manifest.load(tmp_path / "b" / "toolchain" / "toolchain.json")
    plugin = manifest.libraries["LLVMEnzyme"]
    assert plugin.endswith("LLVMEnzyme-22.so")
    (tmp_path / "grad.ll").write_text(GRAD_IR)
    opt = manifest.tools["opt"]
    out = subprocess.run(
        [opt, f"-load-pass-plugin={plugin}", "-passes=enzyme", "-S", "grad.ll"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "__enzyme_autodiff" not in out.stdout.split("define double @dsquare")[1]
