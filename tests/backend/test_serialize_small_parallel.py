"""-O2 on --target host runs small parallel loops serially (the plugin's
mlirboot-serialize-small-parallel, before convert-scf-to-openmp): a small or
odd-shaped matmul's parallel loops (the schedule's packing copies) fork no
libomp team, a large one keeps its parallel kernel loop. Real compiles; the
results on two threads against numpy."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program

PASS = "mlirboot-serialize-small-parallel"
MATMUL = """
func.func @mm(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul ins(%a, %b : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>)
         outs(%f : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""


def _compile(tmp_path: Path, m: int, k: int, n: int, **options: object):
    """The artifact and its lowered (LLVM dialect) module's omp.parallel count."""
    name = f"{m}x{k}x{n}" + ("-without" if options else "")
    temps = tmp_path / f"temps-{name}"
    art = compile_program(
        MATMUL.format(m=m, k=k, n=n),
        target="host",
        opt="O2",
        out=tmp_path / name,
        save_temps=temps,
        options=options or None,
    )
    (lowered,) = temps.glob("*-to-llvm.mlir")
    return art, lowered.read_text().count("omp.parallel")


def _matches_numpy_on_two_threads(art, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    want = a.astype(np.float64) @ b
    for isolated in (False, True):
        (got,) = art.run(a, b, threads=2, isolated=isolated)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(("m", "k", "n"), [(37, 1024, 53), (64, 64, 64)])
def test_small_matmul_forks_no_thread_team(tmp_path, m, k, n):
    art, parallel = _compile(tmp_path, m, k, n)
    assert parallel == 0
    said = [r for r in art.meta["remarks"] if "small parallel loops run serially" in r["what"]]
    assert said and said[0]["stage"] == "to-llvm", art.meta["remarks"]
    _matches_numpy_on_two_threads(art, m, k, n)
    # The same compile without the pass: the fills' and the A and B packing
    # copies' parallel loops.
    _, before = _compile(tmp_path, m, k, n, disable_passes=[PASS])
    assert before >= 4


def test_large_matmul_keeps_its_parallel_loops(tmp_path):
    """512^3: the output fill (525K ops), the packed C fill and the kernel's
    row blocks (9.8M) stay parallel; of the vectorized packing copies one
    (34K ops: 64-byte pieces) is serialized."""
    art, parallel = _compile(tmp_path, 512, 512, 512)
    assert parallel >= 3
    serial = [r["what"] for r in art.meta["remarks"] if "serially" in r["what"]]
    assert len(serial) <= 1
    assert all(int(re.search(r"work (\d+) ops", what)[1]) < 262144 for what in serial)
    _matches_numpy_on_two_threads(art, 512, 512, 512)


# A hand-written parallel loop with two reductions (sums of x and of x*x,
# from init values): serialized at -O2, kept parallel at -O1; both the same
# as numpy. (A max reduction, arith.maximumf, is not converted by LLVM 22's
# convert-scf-to-openmp: such a loop compiles only when it runs serially.)
REDUCE = """
func.func @red(%a: memref<100xf32>, %init: memref<2xf32>, %out: memref<2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 100 : index
  %s0 = memref.load %init[%c0] : memref<2xf32>
  %m0 = memref.load %init[%c1] : memref<2xf32>
  %r:2 = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%s0, %m0) -> (f32, f32) {
    %x = memref.load %a[%i] : memref<100xf32>
    %xx = arith.mulf %x, %x : f32
    scf.reduce(%x, %xx : f32, f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }, {
    ^bb0(%l: f32, %r: f32):
      %q = arith.addf %l, %r : f32
      scf.reduce.return %q : f32
    }
  }
  memref.store %r#0, %out[%c0] : memref<2xf32>
  memref.store %r#1, %out[%c1] : memref<2xf32>
  return
}
"""


@pytest.mark.parametrize("opt", ["O1", "O2"])
def test_reductions_serialized_match_numpy(tmp_path, opt):
    temps = tmp_path / "temps"
    art = compile_program(REDUCE, target="host", opt=opt, out=tmp_path / "art", save_temps=temps)
    (lowered,) = temps.glob("*-to-llvm.mlir")
    assert ("omp.parallel" in lowered.read_text()) == (opt == "O1")
    a = np.random.default_rng(9).standard_normal(100).astype(np.float32)
    init = np.array([1.5, -10.0], np.float32)
    out = art.run(a, init, np.zeros(2, np.float32), threads=2)[-1]
    a64 = a.astype(np.float64)
    want = [init[0] + a64.sum(), init[1] + (a64 * a64).sum()]
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)


def test_few_rows_matmul_runs_column_chunks_on_threads(tmp_path):
    """A matrix-vector product has one row: its columns, in whole column
    tiles, are shared out in chunks (an scf.forall, so omp.parallel); columns
    that end in a narrower tile keep the one-thread path."""
    art, parallel = _compile(tmp_path, 1, 1024, 1024)
    assert parallel >= 1
    _matches_numpy_on_two_threads(art, 1, 1024, 1024)
    art, parallel = _compile(tmp_path, 1, 1024, 1000)
    assert parallel == 0
    _matches_numpy_on_two_threads(art, 1, 1024, 1000)
