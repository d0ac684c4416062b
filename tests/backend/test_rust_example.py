"""examples/rust/matmul: a cargo project whose build.rs compiles the MLIR
matmul with `mlirboot compile --emit staticlib` and whose main checks the kernel
against a naive Rust matmul."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import have_tool

from mbtest import cargo, cargo_env

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.skipif(cargo() is None, reason="cargo is not installed (rustup.rs)")
@pytest.mark.skipif(not have_tool("clang"), reason="needs LLVM 22 (clang)")
def test_rust_calls_the_mlir_matmul(tmp_path: Path):
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    cargo_path = cargo()
    assert cargo_path is not None
    env = cargo_env(cargo_path, tmp_path / "target")
    res = subprocess.run(
        [cargo_path, "run", "--release", "--offline"],
        cwd=copy / "rust" / "matmul",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok: the MLIR-compiled kernel matches" in res.stdout
