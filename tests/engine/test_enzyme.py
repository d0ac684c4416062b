"""Enzyme: built against the toolchain's own LLVM (the libraries its consumers
ask for), refusing an LLVM of another major. No package registry reachable
here carries Enzyme's source, so the real build runs only when
MLIRBOOT_ENZYME_SOURCE points at a checkout (marker `enzyme`)."""

from __future__ import annotations

import json
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
def test_enzyme_builds_against_the_toolchain(enzyme_toolchain, tmp_path: Path):
    """The build the session fixture ran (enzyme.plugin and enzyme.rustc):
    each consumer's library compiled once, both in the manifest, the lock
    file naming the checkout's real commit, and the plugin differentiating."""
    manifest = Manifest.load(enzyme_toolchain / "toolchain.json")
    plugin = manifest.libraries["LLVMEnzyme"]
    assert plugin.endswith("/lib/LLVMEnzyme-22.so")
    assert manifest.libraries["EnzymeStatic"].endswith("/lib/libEnzymeStatic-22.a")
    built = (enzyme_toolchain.parent / "build" / "enzyme" / "build" / ".ninja_log").read_text()
    # One copy of Enzyme's sources per asked-for library, none for the rest.
    assert built.count("LLVMEnzyme-22.dir/EnzymeLogic.cpp.o") == 1
    assert built.count("EnzymeStatic-22.dir/EnzymeLogic.cpp.o") == 1
    assert "LLDEnzyme" not in built and "ClangEnzyme" not in built
    lock = json.loads((enzyme_toolchain.parent / "build" / "lock.json").read_text())
    (entry,) = [e["source"] for e in lock["sources"] if e["components"] == ["enzyme"]]
    real = subprocess.run(
        ["git", "-C", str(ENZYME_SOURCE), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert entry["kind"] == "local" and entry["git_commit"] == real
    assert Path(entry["path"]).resolve() == Path(ENZYME_SOURCE).resolve()
    (tmp_path / "grad.ll").write_text(GRAD_IR)
    out = subprocess.run(
        [manifest.tools["opt"], f"-load-pass-plugin={plugin}", "-passes=enzyme", "-S", "grad.ll"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "__enzyme_autodiff" not in out.stdout.split("define double @dsquare")[1]
