"""Issue 12 item 5, TPU parity: every sample program that the host target
runs also runs on tpu (through the CPU PJRT plugin, standing in for a TPU)
with the same results, or tpu refuses it with one UsageError line that names
the op and its file:line:col, for a reason listed here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mlirboot.bootstrap.errors import UsageError

PROGRAMS = sorted(p.stem for p in (Path(__file__).parent / "programs").glob("*.mlir"))

# program -> (op the refusal names, why tpu cannot take it). The tpu
# translator takes whole-tensor linalg only: a memref entry runs there once
# recognition (contraction nests) and tensorize (elementwise nests) have
# raised all of its loop nests. Host runs any loop nest as it is.
REFUSED = {
    "stencil_1d": ("affine.for", "shifted loads (A[i+1]): neither elementwise nor a contraction"),
    "chain_alloc_dealloc": ("memref.alloc", "a local buffer: not a whole-tensor linalg op"),
    "helper_call_dealloc": ("memref.alloc", "a local buffer: not a whole-tensor linalg op"),
    "tensor_helper_calls": ("func.call", "calls: the translator takes one function"),
}

# (rtol, atol); atol is scaled by the output's largest magnitude: sums of
# products that cancel (chain.mlir's 256-term dots reach ~300 and cross 0)
# differ by rounding in proportion to their terms, not to their result.
TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-9, 1e-12)}


def random_inputs(signature, seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for arg in signature.args:
        dtype = np.dtype(arg.dtype)
        if dtype.kind == "f":
            out.append(rng.standard_normal(arg.shape).astype(dtype))
        else:
            out.append(rng.integers(-5, 6, size=arg.shape).astype(dtype))
    return out


def test_every_program_is_covered():
    assert set(REFUSED) <= set(PROGRAMS)
    # the new sample programs of issue 12 item 5 translate (not refused)
    for name in (
        "conv_nchw",
        "conv_nhwc_dilated",
        "layer_norm",
        "math_ops",
        "loop_bias_relu",
        "named_ops",
        "conv_family",
        "mixed_matmul_relu",
        "mixed_batch_matmul",
    ):
        assert name in PROGRAMS and name not in REFUSED


@pytest.mark.parametrize("program", PROGRAMS)
def test_tpu_matches_host_or_refuses_with_a_listed_reason(compiled, program):
    pytest.importorskip("jax")
    host = compiled(program, "host")
    inputs = random_inputs(host.signature)
    expected = host.run(*inputs)
    if program in REFUSED:
        op, _why = REFUSED[program]
        with pytest.raises(UsageError) as err:
            compiled(program, "tpu")
        text = str(err.value)
        assert "\n" not in text and op in text, text
        assert re.search(rf"{program}\.mlir:\d+:\d+ ", text), text
        assert err.value.hint and "-O1 or higher" not in err.value.hint
        return
    tpu = compiled(program, "tpu")
    got = tpu.run(*inputs, pjrt_plugin="cpu")
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape and g.dtype == e.dtype, i
        rtol, atol = TOLERANCE.get(str(e.dtype), (0, 0))
        scale = max(1.0, float(np.abs(e).max())) if e.size else 1.0
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol * scale, err_msg=f"output {i}")


IN_PLACE_TRANSPOSE = """func.func @t(%C: memref<4x4xf32>) {
  affine.for %i = 0 to 4 {
    affine.for %j = 0 to 4 {
      %c = affine.load %C[%j, %i] : memref<4x4xf32>
      affine.store %c, %C[%i, %j] : memref<4x4xf32>
    }
  }
  return
}
"""


def test_nest_reading_another_element_of_its_output_is_not_raised(tmp_path):
    """C[i,j] = C[j,i] in place depends on the iteration order (later
    iterations read updated elements): it is not elementwise, so tensorize
    must leave it and tpu refuses it by name rather than compute a transpose."""
    pytest.importorskip("jax")
    from mlirboot import backend

    with pytest.raises(UsageError, match=r"p\.mlir:2:3 .*affine\.for: a loop nest"):
        prog = tmp_path / "p.mlir"
        prog.write_text(IN_PLACE_TRANSPOSE)
        backend.compile(prog, target="tpu", out=tmp_path / "o")
