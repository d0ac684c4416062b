"""A hand-written scf.parallel whose reduction LLVM 22's convert-scf-to-openmp
cannot declare (arith.maximumf, maxsi, ...: it knows neutral values only for
add/mul/and/or/xor and cmp+select min/max) compiled nowhere ("unconverted
operation found"). Such a loop now runs serially on offload-host, and on host
stays parallel in chunks folded serially after it, with a remark, and computes
what numpy does, NaN included, on one thread and on two."""

from __future__ import annotations

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program

ROWS, COLS = 300, 1000  # 300K loads: above the -O2 serial threshold (2^18 ops)

REDUCE = """
func.func @reduce(%a: memref<ROWSxCOLSxT>, %out: memref<1xT>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant ROWS : index
  %n = arith.constant COLS : index
  %init = arith.constant INIT : T
  %r = scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) init (%init) -> T {
    %x = memref.load %a[%i, %j] : memref<ROWSxCOLSxT>
    scf.reduce(%x : T) {
    ^bb0(%l: T, %rr: T):
      %v = OP %l, %rr : T
      scf.reduce.return %v : T
    }
  }
  memref.store %r, %out[%c0] : memref<1xT>
  return
}
"""


def program(op: str, t: str, init: str) -> str:
    text = REDUCE.replace("ROWS", str(ROWS)).replace("COLS", str(COLS)).replace("INIT", init)
    return text.replace("OP", op).replace("T", t)


CASES = {
    "maximumf": ("arith.maximumf", "f32", "0xFF800000", np.float32, np.max),
    "minimumf": ("arith.minimumf", "f64", "0x7FF0000000000000", np.float64, np.min),
    "maxsi": ("arith.maxsi", "i32", "-2147483648", np.int32, np.max),
}


SERIAL = "parallel loop runs serially: convert-scf-to-openmp has no OpenMP reduction"
CHUNKS = (
    "parallel loop reduces in up to 64 chunks, then folds them serially: "
    "convert-scf-to-openmp has no OpenMP reduction"
)


@pytest.mark.parametrize("opt", ["O0", "O2"])
@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_unsupported_reduction_runs(tmp_path, case, target, opt):
    op, t, init, dtype, reference = CASES[case]
    art = compile_program(program(op, t, init), target=target, opt=opt, out=tmp_path / "out")
    said = [r["what"] for r in art.meta["remarks"] if "convert-scf-to-openmp" in r["what"]]
    assert said == [f"{CHUNKS if target == 'host' else SERIAL} for its combiner `{op}`"]
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((ROWS, COLS)) * 1000).astype(dtype)
    out = np.zeros(1, dtype)
    for threads in (1, 2):
        assert art.run(a, out, threads=threads)[-1][0] == reference(a)
    if case != "maxsi":  # maximumf/minimumf propagate a NaN anywhere
        for row in (0, ROWS // 2, ROWS - 1):  # the first chunk, one inside, the last
            b = a.copy()
            b[row, 3] = np.nan
            for threads in (1, 2):
                assert np.isnan(art.run(b, out, threads=threads)[-1][0])


@pytest.mark.parametrize("rows", [1, 5, 63, 65, 130])
def test_chunks_of_any_count(tmp_path, rows):
    """Fewer rows than chunks, one more, and chunks of two rows with a short
    last one: every row is folded once (-O0: the small loops are not made
    serial first). The init value takes part too."""
    text = program("arith.maxsi", "i32", "7").replace(f"{ROWS}x", f"{rows}x")
    text = text.replace(f"constant {ROWS} :", f"constant {rows} :")
    art = compile_program(text, target="host", opt="O0", out=tmp_path / "out")
    assert any(CHUNKS in r["what"] for r in art.meta["remarks"])
    rng = np.random.default_rng(rows)
    a = rng.integers(-1000, 1000, (rows, COLS), dtype=np.int32)
    out = np.zeros(1, np.int32)
    for threads in (1, 2, 3):
        assert art.run(a, out, threads=threads)[-1][0] == max(7, a.max())
        assert art.run(a - 5000, out, threads=threads)[-1][0] == 7


TWO = """
func.func @two(%a: memref<ROWSx64xf64>, %out: memref<2xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant ROWS : index
  %n = arith.constant 64 : index
  %zero = arith.constant 0.0 : f64
  %inf = arith.constant 0x7FF0000000000000 : f64
  %r:2 = scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1)
      init (%zero, %inf) -> (f64, f64) {
    %x = memref.load %a[%i, %j] : memref<ROWSx64xf64>
    scf.reduce(%x, %x : f64, f64) {
    ^bb0(%l: f64, %rr: f64):
      %s = arith.addf %l, %rr : f64
      scf.reduce.return %s : f64
    }, {
    ^bb0(%l: f64, %rr: f64):
      %v = arith.minimumf %l, %rr : f64
      scf.reduce.return %v : f64
    }
  }
  memref.store %r#0, %out[%c0] : memref<2xf64>
  memref.store %r#1, %out[%c1] : memref<2xf64>
  return
}
"""


@pytest.mark.parametrize("rows", [3, 100])
def test_chunks_beside_a_sum(tmp_path, rows):
    """A sum beside the minimum is not idempotent: each chunk starts from the
    first value it sees (a flag per chunk), so the init value counts once."""
    art = compile_program(
        TWO.replace("ROWS", str(rows)), target="host", opt="O0", out=tmp_path / "o"
    )
    assert any(CHUNKS in r["what"] for r in art.meta["remarks"])
    a = np.random.default_rng(rows).standard_normal((rows, 64))
    for threads in (1, 2):
        total, least = art.run(a, np.zeros(2), threads=threads)[-1]
        np.testing.assert_allclose(total, a.sum(), rtol=1e-12)
        assert least == a.min()
