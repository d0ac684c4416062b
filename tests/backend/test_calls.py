"""An entry that calls other functions: the same results on host and
offload-host at every level (offload-host inlines the calls, so their
parallel loops run inside the target region); a recursive callee with
parallel loops, which cannot be inlined, is refused on offload-host in one
line rather than computed wrong. Real tools; results vs numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program
from mlirboot.bootstrap.errors import UsageError

PROGRAMS = Path(__file__).parent / "programs"

RECURSIVE = """func.func private @rec(%A: memref<4x4xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
    %v = memref.load %A[%i, %j] : memref<4x4xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %A[%i, %j] : memref<4x4xf32>
  }
  %more = arith.cmpi sgt, %n, %c0 : index
  scf.if %more {
    %m = arith.subi %n, %c1 : index
    func.call @rec(%A, %m) : (memref<4x4xf32>, index) -> ()
  }
  return
}
func.func @entry(%A: memref<4x4xf32>) {
  %c3 = arith.constant 3 : index
  func.call @rec(%A, %c3) : (memref<4x4xf32>, index) -> ()
  return
}
"""


@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_helper_calls_match_numpy(tmp_path, target, opt):
    art = compile_program(
        PROGRAMS / "tensor_helper_calls.mlir", target=target, opt=opt, out=tmp_path / "art"
    )
    rng = np.random.default_rng(17)
    a = rng.integers(-5, 6, (3, 4)).astype(np.int32)
    b = rng.integers(-5, 6, (4, 4)).astype(np.int32)
    (got,) = art.run(a, b, isolated=True)
    np.testing.assert_array_equal(got, (a @ b) @ b)


def test_recursive_parallel_callee(tmp_path):
    prog = tmp_path / "rec.mlir"
    prog.write_text(RECURSIVE)
    host = compile_program(prog, target="host", opt="O0", out=tmp_path / "host")
    (got,) = host.run(np.zeros((4, 4), np.float32), isolated=True)
    np.testing.assert_array_equal(got, np.full((4, 4), 4, np.float32))
    with pytest.raises(UsageError, match="calls @rec, which has parallel loops"):
        compile_program(prog, target="offload-host", opt="O0", out=tmp_path / "off")
