"""Fixtures for the matmul schedule tests: real LLVM 22 tools (skip when absent)."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from pathlib import Path

import pytest

from mlirboot.backend.schedules import blas, cabi, matmul


@pytest.fixture(scope="session")
def tools() -> matmul.Tools:
    try:
        found = matmul.Tools.find()
    except Exception as exc:  # no manifest and no system LLVM 22
        pytest.skip(f"LLVM 22 tools not available: {exc}")
    for path in (found.mlir_opt, found.llc, found.opt, found.clang):
        if not Path(path).exists():
            pytest.skip(f"LLVM 22 tool missing: {path}")
    return found


@pytest.fixture(scope="session")
def has_openblas() -> bool:
    return (
        Path("/usr/include/x86_64-linux-gnu/cblas.h").exists()
        or Path("/usr/include/cblas.h").exists()
    )


@pytest.fixture
def build(tools: matmul.Tools, tmp_path: Path) -> Callable[..., ctypes.CDLL]:
    """Compile MLIR text (tensor form) into a loaded shared library."""

    def _build(
        text: str,
        *,
        use_blas: bool = False,
        tiling: matmul.Tiling | None = None,
        name: str = "prog",
    ) -> ctypes.CDLL:
        obj = matmul.lower_to_object(
            text, tmp_path / f"{name}.o", tools=tools, blas=use_blas, tiling=tiling
        )
        objects, libs = [obj], []
        if use_blas:
            objects.append(blas.build_shim(tmp_path / "shim.o", clang=tools.clang))
            libs = blas.link_args()
        so = cabi.link_shared(objects, tmp_path / f"{name}.so", clang=tools.clang, libs=libs)
        return ctypes.CDLL(str(so))

    return _build
