"""Issue 10 item 1: an entry that returns nothing and writes none of its
memref arguments is refused with one line (exit 2) on every target, before
any tool runs; entries that write a memref argument are still accepted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program
from mlirboot.backend.pipeline import targets
from mlirboot.bootstrap.cli import main

READS_ONLY = """func.func @f(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %x = memref.load %a[%c0] : memref<4xf32>
  %y = arith.addf %x, %x : f32
  return
}
"""
TENSOR_NO_RESULT = """func.func @f(%a: tensor<4xf32>) {
  %0 = math.exp %a : tensor<4xf32>
  return
}
"""
LINALG_INS_ONLY = """func.func @f(%a: memref<4xf32>) {
  %t = memref.alloc() : memref<4xf32>
  linalg.copy ins(%a : memref<4xf32>) outs(%t : memref<4xf32>)
  %1 = bufferization.to_tensor %a restrict : memref<4xf32> to tensor<4xf32>
  return
}
"""
NO_ARGS = """func.func @f() {
  return
}
"""


@pytest.mark.parametrize("target", targets())
@pytest.mark.parametrize(
    "program",
    [READS_ONLY, TENSOR_NO_RESULT, LINALG_INS_ONLY, NO_ARGS],
    ids=["reads-only", "tensor-no-result", "linalg-ins-only", "no-args"],
)
def test_entry_producing_nothing_is_refused(tmp_path, capsys, target, program):
    prog = tmp_path / "p.mlir"
    prog.write_text(program)
    code = main(["compile", str(prog), "--target", target, "-o", str(tmp_path / "out")])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(err) == 1 and "Traceback" not in err[0]
    assert "p.mlir: @f" in err[0] and "produces nothing" in err[0] and "hint:" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.mlir"]


@pytest.mark.parametrize("target", ["host", "offload-host"])
def test_entry_writing_through_a_store_still_runs(tmp_path, target):
    prog = tmp_path / "scale.mlir"
    prog.write_text("""func.func @scale(%a: memref<5xf32>, %b: memref<5xf32>) {
  %two = arith.constant 2.0 : f32
  affine.for %i = 0 to 5 {
    %x = affine.load %a[%i] : memref<5xf32>
    %y = arith.mulf %x, %two : f32
    affine.store %y, %b[%i] : memref<5xf32>
  }
  return
}
""")
    art = compile_program(prog, target=target, out=tmp_path / "art")
    a = np.arange(5, dtype=np.float32) - 2
    got = art.run(a, np.zeros(5, np.float32))
    np.testing.assert_array_equal(got[-1], 2 * a)


def test_entry_writing_through_a_view_is_accepted(tmp_path):
    """Conservative: a use that is not a known read (here a subview that is
    then written) counts as a write."""
    prog = Path(tmp_path / "view.mlir")
    prog.write_text("""func.func @f(%a: memref<4xf32>) {
  %v = memref.subview %a[1] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1], offset: 1>>
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  memref.store %one, %v[%c0] : memref<2xf32, strided<[1], offset: 1>>
  return
}
""")
    art = compile_program(prog, target="host", out=tmp_path / "art")
    got = art.run(np.zeros(4, np.float32))
    np.testing.assert_array_equal(got[-1], [0, 1, 0, 0])
