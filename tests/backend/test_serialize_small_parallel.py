"""-O2 on --target host runs small parallel loops serially (the plugin's
mlirboot-serialize-small-parallel, before convert-scf-to-openmp): a small or
odd-shaped matmul's parallel loops (the schedule's packing copies) fork no
libomp team, a large one keeps its parallel kernel loop. Real compiles; the
results on two threads against numpy."""

from __future__ import annotations

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
    # The same compile without the pass: the packing copies' parallel loops.
    _, before = _compile(tmp_path, m, k, n, disable_passes=[PASS])
    assert before >= 5


def test_large_matmul_keeps_its_parallel_loops(tmp_path):
    """512^3: the kernel's row blocks (and the packing copies, 533K ops and
    up) stay parallel."""
    art, parallel = _compile(tmp_path, 512, 512, 512)
    assert parallel >= 1
    assert not any("run serially" in r["what"] for r in art.meta["remarks"])
    _matches_numpy_on_two_threads(art, 512, 512, 512)
