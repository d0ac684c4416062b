"""Host code runs inside the Python process (libprog.so through ctypes) with
the same results as the process-isolated runner, never touching the
caller's arrays, and never running stale code after a recompile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program

PROGRAMS = Path(__file__).parent / "programs"


def _inputs(art, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(a.shape).astype(a.dtype) for a in art.signature.args]


@pytest.mark.parametrize("program", ["matmul", "mlp", "loop_matmul", "mixed_matmul_relu"])
def test_in_process_matches_isolated(tmp_path: Path, program: str):
    art = compile_program(PROGRAMS / f"{program}.mlir", target="host", out=tmp_path / "a")
    assert "shared_library" in art.files
    inputs = _inputs(art)
    before = [a.copy() for a in inputs]
    inside = art.run(*inputs)
    outside = art.run(*inputs, isolated=True)
    assert len(inside) == len(outside)
    for got, want in zip(inside, outside, strict=True):
        np.testing.assert_array_equal(got, want)
    for arr, orig in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(arr, orig)  # the caller's arrays are untouched


def test_a_recompile_into_the_same_dir_runs_the_new_code(tmp_path: Path):
    add = """func.func @f(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %c = linalg.OP ins(%a, %b : tensor<4xf32>, tensor<4xf32>)
         outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}
"""
    a = np.arange(4, dtype=np.float32)
    b = np.full(4, 2.0, dtype=np.float32)
    first = compile_program(add.replace("OP", "add"), out=tmp_path / "art", use_cache=False)
    np.testing.assert_array_equal(first.run(a, b)[0], a + b)
    second = compile_program(add.replace("OP", "mul"), out=tmp_path / "art", use_cache=False)
    np.testing.assert_array_equal(second.run(a, b)[0], a * b)


def test_bind_runs_the_entry_on_its_own_buffers(tmp_path: Path):
    """inprocess.bind (what benchmarks time): the returned call keeps its
    buffers alive and runs on them, with the thread count it was bound to."""
    import gc

    from mlirboot.backend import inprocess

    art = compile_program(PROGRAMS / "matmul.mlir", target="host", out=tmp_path / "a")
    a, b = _inputs(art, seed=3)
    sig = art.signature
    run, buffers = inprocess.bind(art.files["shared_library"], sig.entry, sig.buffers, 2)
    np.copyto(buffers[0], a)
    np.copyto(buffers[1], b)
    result = buffers[2]
    del buffers
    gc.collect()
    run()
    np.testing.assert_allclose(result, a @ b, rtol=1e-4, atol=1e-3)
