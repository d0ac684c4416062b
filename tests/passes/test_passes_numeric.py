"""Numeric correctness: each program runs before and after the plugin's passes
(lowered with upstream passes, JIT-run by mlir-runner) and is compared with
numpy and with itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.passes import plugin as passes_plugin

from .harness import (
    PASSES_TEST_DIR,
    memref_main,
    mlir_opt,
    random_array,
    run_program,
    split_chunk,
    tensor_main,
)

SHARED = Path(__file__).resolve().parents[2] / "examples"
RAISE = "builtin.module(func.func(mlirboot-raise-loops-to-linalg))"
CHAIN = "builtin.module(func.func(mlirboot-reassociate-matmul-chains))"
FUSE = "builtin.module(func.func(mlirboot-fuse-elementwise-into-matmul{tile-sizes=8,32}))"


def conv2d(i: np.ndarray, f: np.ndarray) -> np.ndarray:
    oh, ow = i.shape[0] - f.shape[0] + 1, i.shape[1] - f.shape[1] + 1
    return np.array(
        [
            [np.sum(i[y : y + f.shape[0], x : x + f.shape[1]] * f) for x in range(ow)]
            for y in range(oh)
        ]
    )


def conv2d_nhwc_hwcf(i: np.ndarray, f: np.ndarray) -> np.ndarray:
    kh, kw, _, nf = f.shape
    n, h, w, _ = i.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, nf))
    for y in range(h - kh + 1):
        for x in range(w - kw + 1):
            out[:, y, x, :] = np.einsum("nhwc,hwcf->nf", i[:, y : y + kh, x : x + kw, :], f)
    return out


Ref = Callable[..., np.ndarray]
# (source, function, argument shapes, dtype, output argument, reference of (*inputs, out0))
RAISE_CASES: list[tuple[Path, str, list[tuple[int, ...]], str, int, Ref]] = [
    (
        SHARED / "loop_matmul.mlir",
        "loop_matmul",
        [(96, 80), (80, 48), (96, 48)],
        "f32",
        2,
        lambda a, b, c: a @ b,
    ),
    (
        PASSES_TEST_DIR / "raise_loops.mlir",
        "affine_update_f32",
        [(8, 4), (4, 16), (8, 16)],
        "f32",
        2,
        lambda a, b, c: c + a @ b,
    ),
    (
        PASSES_TEST_DIR / "raise_loops.mlir",
        "scf_accumulate_f64",
        [(5, 3), (3, 7), (5, 7)],
        "f64",
        2,
        lambda a, b, c: c + a @ b,
    ),
    (
        PASSES_TEST_DIR / "raise_loops.mlir",
        "scf_update_i32",
        [(4, 5), (5, 6), (4, 6)],
        "i32",
        2,
        lambda a, b, c: c + a @ b,
    ),
    (
        PASSES_TEST_DIR / "raise_loops.mlir",
        "affine_batch_matmul",
        [(3, 4, 6), (3, 6, 5), (3, 4, 5)],
        "f32",
        2,
        lambda a, b, c: a @ b,
    ),
    (
        PASSES_TEST_DIR / "raise_loops.mlir",
        "scf_conv2d",
        [(8, 6), (3, 2), (6, 5)],
        "f32",
        2,
        lambda i, f, o: o + conv2d(i, f),
    ),
    (
        PASSES_TEST_DIR / "raise_loops.mlir",
        "affine_conv2d_nhwc",
        [(2, 6, 6, 2), (3, 3, 2, 3), (2, 4, 4, 3)],
        "f32",
        2,
        lambda i, f, o: conv2d_nhwc_hwcf(i, f),
    ),
    # Negative case: must be left alone, and still compute C += A^T B.
    (
        PASSES_TEST_DIR / "raise_loops_negative.mlir",
        "transposed_a",
        [(4, 8), (4, 8), (8, 8)],
        "f32",
        2,
        lambda a, b, c: c + a.T @ b,
    ),
]


def kernel_text(path: Path, func: str) -> str:
    text = path.read_text()
    return split_chunk(path, func) if "// -----" in text else text


def assert_close(got: np.ndarray, want: np.ndarray, dtype: str) -> None:
    if dtype == "i32":
        np.testing.assert_array_equal(got, want)
    else:
        # printMemref prints 6 significant digits.
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("case", RAISE_CASES, ids=[c[1] for c in RAISE_CASES])
def test_raise_preserves_results(case: tuple, plugin: Path, tmp_path: Path) -> None:
    path, func, shapes, dtype, out_index, ref = case
    rng = np.random.default_rng(7)
    args = [random_array(rng, s, dtype) for s in shapes]
    kernel = kernel_text(path, func)
    raised = mlir_opt(
        kernel, [f"--pass-pipeline={RAISE}"], tmp_path, plugin=plugin, name=f"{func}.raised"
    )
    negative = "negative" in path.name
    loops_left = "scf.for" in raised.ir or "affine.for" in raised.ir
    assert loops_left == negative, raised.ir
    assert ("remark: mlirboot: raised" in raised.diagnostics) != negative

    before = run_program(memref_main(kernel, func, args, dtype, out_index), tmp_path, "before")
    after = run_program(memref_main(raised.ir, func, args, dtype, out_index), tmp_path, "after")
    want = ref(*[a.astype(np.float64) for a in args])
    assert_close(before, want, dtype)
    # Same operations in the same order: identical printed results.
    np.testing.assert_array_equal(after, before)


CHAIN_CASES = [
    ("chain3", [(64, 512), (512, 512), (512, 4)], "f32", lambda a, b, c: a @ b @ c),
    ("chain4", [(2, 100), (100, 3), (3, 100), (100, 2)], "f64", lambda a, b, c, d: a @ b @ c @ d),
]


@pytest.mark.parametrize("case", CHAIN_CASES, ids=[c[0] for c in CHAIN_CASES])
def test_reassociation_preserves_results(case: tuple, plugin: Path, tmp_path: Path) -> None:
    func, shapes, dtype, ref = case
    rng = np.random.default_rng(11)
    args = [random_array(rng, s, dtype) for s in shapes]
    want = ref(*[a.astype(np.float64) for a in args])
    kernel = split_chunk(PASSES_TEST_DIR / "chain.mlir", func)
    out = mlir_opt(kernel, [f"--pass-pipeline={CHAIN}"], tmp_path, plugin=plugin, name=func)
    assert "reassociated matmul chain" in out.diagnostics
    for label, text in (("before", kernel), ("after", out.ir)):
        got = run_program(tensor_main(text, func, args, dtype, want.shape), tmp_path, label)
        # Different association, different rounding: compare to the f64 truth.
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def mlp_reference(x, w1, b1, w2, b2):  # type: ignore[no-untyped-def]
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


MLP_SHAPES = [(16, 64), (64, 128), (128,), (128, 10), (10,)]


def test_fusion_preserves_results_on_mlp(plugin: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    args = [random_array(rng, s, "f32") for s in MLP_SHAPES]
    want = mlp_reference(*[a.astype(np.float64) for a in args])
    kernel = (SHARED / "mlp.mlir").read_text()
    fused = mlir_opt(kernel, [f"--pass-pipeline={FUSE}"], tmp_path, plugin=plugin, name="mlp")
    assert fused.diagnostics.count("fused elementwise consumer into linalg.matmul") == 2
    assert fused.ir.count("scf.for") == 4  # two 2-D tile nests
    before = run_program(tensor_main(kernel, "mlp", args, "f32", (16, 10)), tmp_path, "before")
    after = run_program(tensor_main(fused.ir, "mlp", args, "f32", (16, 10)), tmp_path, "after")
    np.testing.assert_allclose(before, want, rtol=1e-4, atol=1e-4)
    # Tiling over parallel dims keeps each element's reduction order.
    np.testing.assert_array_equal(after, before)


CHAIN_EPILOGUE = """
#map_bias = affine_map<(i, j) -> (j)>
#map_id = affine_map<(i, j) -> (i, j)>
func.func @chain_relu(%a: tensor<48x96xf32>, %b: tensor<96x96xf32>, %c: tensor<96x8xf32>,
                      %bias: tensor<8xf32>) -> tensor<48x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<48x96xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<48x96xf32>) -> tensor<48x96xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<48x96xf32>, tensor<96x96xf32>)
                      outs(%f1 : tensor<48x96xf32>) -> tensor<48x96xf32>
  %e2 = tensor.empty() : tensor<48x8xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<48x8xf32>) -> tensor<48x8xf32>
  %abc = linalg.matmul ins(%ab, %c : tensor<48x96xf32>, tensor<96x8xf32>)
                       outs(%f2 : tensor<48x8xf32>) -> tensor<48x8xf32>
  %r = linalg.generic {indexing_maps = [#map_id, #map_bias, #map_id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%abc, %bias : tensor<48x8xf32>, tensor<8xf32>) outs(%e2 : tensor<48x8xf32>) {
    ^bb0(%v: f32, %bb: f32, %out: f32):
      %s = arith.addf %v, %bb : f32
      %m = arith.maximumf %s, %zero : f32
      linalg.yield %m : f32
  } -> tensor<48x8xf32>
  return %r : tensor<48x8xf32>
}
"""


def test_full_pipeline_on_chain_with_epilogue(plugin: Path, tmp_path: Path) -> None:
    """PASS_PIPELINE: reassociate (A·B)·C -> A·(B·C), then fuse bias+relu."""
    rng = np.random.default_rng(5)
    shapes = [(48, 96), (96, 96), (96, 8), (8,)]
    args = [random_array(rng, s, "f32") for s in shapes]
    a, b, c, bias = (x.astype(np.float64) for x in args)
    want = np.maximum(a @ b @ c + bias, 0.0)
    out = mlir_opt(
        CHAIN_EPILOGUE,
        passes_plugin.mlir_opt_args(plugin)[1:2],
        tmp_path,
        plugin=plugin,
        name="chain_relu",
    )
    assert "(A·B)·C -> A·(B·C)" in out.diagnostics
    assert "fused elementwise consumer into linalg.matmul" in out.diagnostics
    got = run_program(tensor_main(out.ir, "chain_relu", args, "f32", want.shape), tmp_path, "after")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_full_pipeline_on_loop_matmul(plugin: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    args = [random_array(rng, s, "f32") for s in [(96, 80), (80, 48), (96, 48)]]
    kernel = (SHARED / "loop_matmul.mlir").read_text()
    out = mlir_opt(
        kernel,
        [f"--pass-pipeline={passes_plugin.PASS_PIPELINE}"],
        tmp_path,
        plugin=plugin,
        name="loop_matmul",
    )
    assert "raised loop nest to linalg.matmul (96x48x80 f32)" in out.diagnostics
    assert "linalg.matmul" in out.ir and "scf.for" not in out.ir
    got = run_program(memref_main(out.ir, "loop_matmul", args, "f32", 2), tmp_path, "after")
    want = args[0].astype(np.float64) @ args[1].astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


TRANSPOSED_A_GENERIC = """
#mA = affine_map<(i, j, k) -> (k, i)>
#mB = affine_map<(i, j, k) -> (k, j)>
#mC = affine_map<(i, j, k) -> (i, j)>
func.func @tr(%a: memref<8x8xf32>, %b: memref<8x8xf32>, %c: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x8xf32>, memref<8x8xf32>) outs(%c : memref<8x8xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
  }
  return
}
"""


def test_harness_catches_upstream_transposed_matmul_specialization(tmp_path: Path) -> None:
    """Why the raise pass re-checks upstream's answer: LLVM 22's
    linalg-specialize-generic-ops names C += A^T·B a plain linalg.matmul
    (dropping the transpose). The numeric harness sees the wrong result,
    which also shows these comparisons can fail."""
    rng = np.random.default_rng(1)
    args = [random_array(rng, (8, 8), "f32") for _ in range(3)]
    want = args[2] + args[0].astype(np.float64).T @ args[1]
    spec = mlir_opt(
        TRANSPOSED_A_GENERIC,
        ["--pass-pipeline=builtin.module(func.func(linalg-specialize-generic-ops))"],
        tmp_path,
        name="tr",
    )
    generic = run_program(memref_main(TRANSPOSED_A_GENERIC, "tr", args, "f32", 2), tmp_path, "g")
    assert_close(generic, want, "f32")
    named = run_program(memref_main(spec.ir, "tr", args, "f32", 2), tmp_path, "named")
    if np.allclose(named, want, rtol=2e-5, atol=2e-5):
        pytest.skip("upstream specialization keeps the transpose now; re-check the guard")
    assert not np.allclose(named, generic, rtol=1e-3, atol=1e-3)


EPILOGUES = {
    "conv_relu": (
        """
#id4 = affine_map<(n, h, w, f) -> (n, h, w, f)>
func.func @conv_relu(%i: tensor<2x6x6x2xf32>, %f: tensor<3x3x2x3xf32>) -> tensor<2x4x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x4x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x4x3xf32>) -> tensor<2x4x4x3xf32>
  %c = linalg.conv_2d_nhwc_hwcf ins(%i, %f : tensor<2x6x6x2xf32>, tensor<3x3x2x3xf32>)
         outs(%z : tensor<2x4x4x3xf32>) -> tensor<2x4x4x3xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c : tensor<2x4x4x3xf32>) outs(%e : tensor<2x4x4x3xf32>) {
    ^bb0(%v: f32, %o: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<2x4x4x3xf32>
  return %r : tensor<2x4x4x3xf32>
}
""",
        [(2, 6, 6, 2), (3, 3, 2, 3)],
        (2, 4, 4, 3),
        "1,2,2,3",
        lambda i, f: np.maximum(conv2d_nhwc_hwcf(i, f), 0.0),
    ),
    "bmm_relu": (
        """
#id3 = affine_map<(b, i, j) -> (b, i, j)>
func.func @bmm_relu(%a: tensor<3x4x6xf32>, %b: tensor<3x6x5xf32>) -> tensor<3x4x5xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x4x5xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4x5xf32>) -> tensor<3x4x5xf32>
  %c = linalg.batch_matmul ins(%a, %b : tensor<3x4x6xf32>, tensor<3x6x5xf32>)
         outs(%z : tensor<3x4x5xf32>) -> tensor<3x4x5xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : tensor<3x4x5xf32>) outs(%e : tensor<3x4x5xf32>) {
    ^bb0(%v: f32, %o: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<3x4x5xf32>
  return %r : tensor<3x4x5xf32>
}
""",
        [(3, 4, 6), (3, 6, 5)],
        (3, 4, 5),
        "1,2,2",
        lambda a, b: np.maximum(a @ b, 0.0),
    ),
}


@pytest.mark.parametrize("func", sorted(EPILOGUES))
def test_fusion_of_conv_and_batch_matmul_epilogues(func: str, plugin: Path, tmp_path: Path) -> None:
    """Partial tiles included (5 is not a multiple of 2)."""
    kernel, shapes, out_shape, sizes, ref = EPILOGUES[func]
    rng = np.random.default_rng(13)
    args = [random_array(rng, s, "f32") for s in shapes]
    pipeline = (
        "builtin.module(func.func(mlirboot-fuse-elementwise-into-matmul"
        f"{{tile-sizes={sizes}}},canonicalize,cse))"
    )
    fused = mlir_opt(kernel, [f"--pass-pipeline={pipeline}"], tmp_path, plugin=plugin, name=func)
    assert "remark: mlirboot: fused elementwise consumer into linalg." in fused.diagnostics
    assert "scf.for" in fused.ir
    before = run_program(tensor_main(kernel, func, args, "f32", out_shape), tmp_path, "before")
    after = run_program(tensor_main(fused.ir, func, args, "f32", out_shape), tmp_path, "after")
    np.testing.assert_allclose(
        before, ref(*[a.astype(np.float64) for a in args]), rtol=2e-5, atol=2e-5
    )
    np.testing.assert_array_equal(after, before)
