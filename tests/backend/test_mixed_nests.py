"""Issue 10 item 1: a raised matmul / batch matmul that shares its function
with other loop nests (so the conversion to tensors declines the function)
compiles correctly at every -O level and with --blas, on host and
offload-host; the schedule never drops an op it did not rewrite. Real tools;
results vs numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import _check_memref_ops_kept, compile_program
from mlirboot.bootstrap.errors import BuildError

PROGRAMS = Path(__file__).parent / "programs"
HAVE_CBLAS = any(
    Path(p, "cblas.h").exists() for p in ("/usr/include", "/usr/include/x86_64-linux-gnu")
)
CONFIGS = [
    ("O0", False),
    ("O1", False),
    ("O2", False),
    ("O3", False),
    pytest.param(
        "O2",
        True,
        marks=pytest.mark.skipif(
            not HAVE_CBLAS, reason="libopenblas-dev (cblas.h) is not installed"
        ),
    ),
]


def _inputs(program: str) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(10)
    if program == "mixed_matmul_relu":
        a, b = (rng.standard_normal(s).astype(np.float32) for s in ((13, 7), (7, 10)))
        # C starts as garbage: the zero-fill nest must run before the matmul.
        c = rng.standard_normal((13, 10)).astype(np.float32)
        return [a, b, c], np.maximum(a @ b, 0)
    a, b = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 4, 6))
    return [a, b, rng.standard_normal((3, 5, 6))], a @ b


@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize(("opt", "blas"), CONFIGS)
@pytest.mark.parametrize("program", ["mixed_matmul_relu", "mixed_batch_matmul"])
def test_mixed_function_matches_numpy(tmp_path, program, opt, blas, target):
    art = compile_program(
        PROGRAMS / f"{program}.mlir", target=target, opt=opt, blas=blas, out=tmp_path / "art"
    )
    if opt != "O0":
        assert any("raised loop nest" in r["what"] for r in art.meta["remarks"])
    inputs, expected = _inputs(program)
    got = art.run(*inputs)
    np.testing.assert_allclose(got[-1], expected, rtol=1e-5, atol=1e-4)


def test_dropped_memref_op_is_an_error(tmp_path):
    """The guard after each schedule stage: a memref-writing linalg op that
    vanished is reported, never silently lost."""
    from mlirboot.backend.driver import Context

    before, after = tmp_path / "before.mlir", tmp_path / "after.mlir"
    before.write_text(
        "  linalg.matmul ins(%a, %b : memref<2x2xf32>, memref<2x2xf32>) "
        "outs(%c : memref<2x2xf32>)\n  return\n"
    )
    after.write_text("  return\n")
    ctx = Context.__new__(Context)
    ctx.stage = None
    ctx.pipeline = type("P", (), {"target": "host"})()
    with pytest.raises(BuildError, match="dropped 1 matmul"):
        _check_memref_ops_kept(ctx, before, after)
    _check_memref_ops_kept(ctx, before, before)  # kept: no error


@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize(("opt", "blas"), CONFIGS)
def test_transposed_generic_matmul_keeps_its_transpose(tmp_path, opt, blas, target):
    art = compile_program(
        PROGRAMS / "generic_matmul_transposed_b.mlir",
        target=target,
        opt=opt,
        blas=blas,
        out=tmp_path / "art",
    )
    rng = np.random.default_rng(4)
    a, b = (rng.standard_normal((4, 4)).astype(np.float32) for _ in range(2))
    np.testing.assert_allclose(art.run(a, b)[0], a @ b.T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_entry_returning_one_value_twice(tmp_path, opt, target):
    """Found by the fuzzer: LLVM 22's buffer-results-to-out-params crashed
    hoisting the buffer of a value returned twice; both results now arrive."""
    prog = tmp_path / "twice.mlir"
    prog.write_text("""func.func @twice(%a: tensor<3x4xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %e = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%a : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  return %t, %t : tensor<4x3xf32>, tensor<4x3xf32>
}
""")
    art = compile_program(prog, target=target, opt=opt, out=tmp_path / "art")
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = art.run(a)
    assert len(got) == 2
    for g in got:
        np.testing.assert_array_equal(g, a.T)


@pytest.mark.parametrize("target", ["host", "offload-host"])
def test_matmul_with_reduction_of_one(tmp_path, target):
    """Found by the fuzzer (seed 335): the host schedule failed on K = 1
    ("tracking listener failed"); the matmul now keeps its plain lowering,
    says so in the report, and the answer is right."""
    prog = tmp_path / "k1.mlir"
    prog.write_text("""func.func @k1(%a: tensor<8x1xf32>, %b: tensor<1x33xf32>)
    -> tensor<8x33xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x33xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x33xf32>) -> tensor<8x33xf32>
  %r = linalg.matmul ins(%a, %b : tensor<8x1xf32>, tensor<1x33xf32>)
      outs(%f : tensor<8x33xf32>) -> tensor<8x33xf32>
  return %r : tensor<8x33xf32>
}
""")
    art = compile_program(prog, target=target, opt="O2", out=tmp_path / "art")
    assert any("schedule not applied" in r["what"] for r in art.meta["remarks"])
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 1)).astype(np.float32), rng.standard_normal((1, 33))
    got = art.run(a, b.astype(np.float32))
    np.testing.assert_allclose(got[0], a @ b.astype(np.float32), rtol=1e-5, atol=1e-5)
