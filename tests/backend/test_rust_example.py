"""examples/rust/matmul: a cargo project whose build.rs compiles the MLIR
matmul with `mlirboot compile --emit staticlib` and whose main checks the kernel
against a naive Rust matmul."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import have_tool

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _cargo() -> str | None:
    return shutil.which("cargo") or next(
        (str(p) for p in [Path.home() / ".cargo" / "bin" / "cargo"] if p.exists()), None
    )


@pytest.mark.skipif(_cargo() is None, reason="cargo is not installed (rustup.rs)")
@pytest.mark.skipif(not have_tool("clang"), reason="needs LLVM 22 (clang)")
def test_rust_calls_the_mlir_matmul(tmp_path: Path):
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    cargo = _cargo()
    assert cargo is not None
    env = {
        **os.environ,
        "PATH": f"{Path(cargo).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CARGO_TARGET_DIR": str(tmp_path / "target"),
        "CARGO_NET_OFFLINE": "true",
        "MLIRBOOT": f"{sys.executable} -m mlirboot.bootstrap.cli",
    }
    res = subprocess.run(
        [cargo, "run", "--release", "--offline"],
        cwd=copy / "rust" / "matmul",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok: the MLIR-compiled kernel matches" in res.stdout
