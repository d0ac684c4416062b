"""A hand-written scf.parallel whose reduction LLVM 22's convert-scf-to-openmp
cannot declare (arith.maximumf, maxsi, ...: it knows neutral values only for
add/mul/and/or/xor and cmp+select min/max) compiled nowhere ("unconverted
operation found"). Such a loop now runs serially, with a remark, on every
target that runs the conversion, and computes what numpy does, NaN included."""

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


@pytest.mark.parametrize("opt", ["O0", "O2"])
@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_unsupported_reduction_runs_serially(tmp_path, case, target, opt):
    op, t, init, dtype, reference = CASES[case]
    art = compile_program(program(op, t, init), target=target, opt=opt, out=tmp_path / "out")
    said = [r["what"] for r in art.meta["remarks"] if "runs serially" in r["what"]]
    assert said == [
        "parallel loop runs serially: convert-scf-to-openmp has no OpenMP reduction "
        f"for its combiner `{op}`"
    ]
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((ROWS, COLS)) * 1000).astype(dtype)
    out = np.zeros(1, dtype)
    assert art.run(a, out)[-1][0] == reference(a)
    if case != "maxsi":  # maximumf/minimumf propagate a NaN anywhere
        a[ROWS - 1, 3] = np.nan
        assert np.isnan(art.run(a, out)[-1][0])
