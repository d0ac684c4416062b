"""The BLAS replacement: memref linalg.matmul -> shim -> OpenBLAS cblas_*gemm."""

from __future__ import annotations

import numpy as np
import pytest

from mlirboot.backend.schedules import blas, cabi

from .programs import matmul_acc, matmul_fill


@pytest.mark.parametrize(("m", "n", "k", "dtype"), [(96, 48, 80, "f32"), (33, 17, 9, "f64")])
def test_blas_path_matches_numpy(build, has_openblas, m, n, k, dtype):
    if not has_openblas:
        pytest.skip("cblas.h missing: apt-get install libopenblas-dev")
    lib = build(matmul_acc(m, n, k, dtype), use_blas=True)
    npt = np.float32 if dtype == "f32" else np.float64
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal(s).astype(npt) for s in ((m, k), (k, n), (m, n)))
    want = c + a @ b  # before the call: the function updates c in place
    got = cabi.call(lib, "mm", [a, b, c], result=(2, npt))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_blas_path_with_fill(build, has_openblas):
    if not has_openblas:
        pytest.skip("cblas.h missing: apt-get install libopenblas-dev")
    lib = build(matmul_fill(64, 32, 128), use_blas=True)
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((64, 128), np.float32), rng.standard_normal((128, 32), np.float32)
    got = cabi.call(lib, "mm", [a, b], result=(2, np.float32))
    np.testing.assert_allclose(got, a @ b, rtol=1e-4, atol=1e-3)


def test_rewrite_only_touches_f32_f64_matmuls():
    text = """module {
  func.func @f(%a: memref<4x3xf32>, %b: memref<3x2xf32>, %c: memref<4x2xf32>,
               %x: memref<4x3xi32>, %y: memref<3x2xi32>, %z: memref<4x2xi32>) {
    linalg.matmul ins(%a, %b : memref<4x3xf32>, memref<3x2xf32>) outs(%c : memref<4x2xf32>)
    linalg.matmul ins(%x, %y : memref<4x3xi32>, memref<3x2xi32>) outs(%z : memref<4x2xi32>)
    return
  }
}
"""
    out = blas.replace_matmuls(text)
    assert out.count("func.call @mlirboot_blas_sgemm(") == 1
    assert out.count("func.func private @mlirboot_blas_sgemm(") == 1
    assert "linalg.matmul ins(%x, %y" in out and "dgemm" not in out
