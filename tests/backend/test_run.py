"""Sample programs compiled and run for real, checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

RTOL = 1e-5
ATOL = 1e-4  # sums of ~100 products: absolute slack for values near zero


@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize("program", ["matmul", "mlp", "loop_matmul"])
def test_native_targets_match_numpy(compiled, reference, program, target):
    art = compiled(program, target)
    inputs, expected = reference(program)
    got = art.run(*inputs)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL)


def test_offload_host_runs_on_the_offload_device(compiled, reference):
    """OMP_TARGET_OFFLOAD=MANDATORY is set by run(); the runtime's mapping
    report proves the kernel went through libomptarget's device 0 with each
    buffer mapped by its size (to / from / tofrom), not a host fallback."""
    art = compiled("matmul", "offload-host")
    inputs, expected = reference("matmul", seed=3)
    (got,) = art.run(*inputs, info=True)
    np.testing.assert_allclose(got, expected[0], rtol=RTOL, atol=ATOL)
    log = art.last_log
    assert "omptarget device 0 info: Entering OpenMP kernel" in log
    assert "to(" in log and "[32768]" in log  # A: 64x128 f32 copied to the device
    assert "from(" in log and "[8192]" in log  # C: 64x32 f32 copied back


def test_offload_host_executable_embeds_x86_image(compiled):
    art = compiled("mlp", "offload-host")
    info = art.meta["info"]
    assert any("x86_64-pc-linux-gnu" in line for line in info["offloading"])
    assert info["kernels"] and info["kernels"][0].startswith("__omp_offloading_")


@pytest.mark.parametrize("program", ["matmul", "mlp"])
def test_tpu_program_on_cpu_pjrt_plugin(compiled, reference, pjrt_cpu_plugin, program):
    plugin = pjrt_cpu_plugin
    art = compiled(program, "tpu")
    inputs, expected = reference(program, seed=5)
    (got,) = art.run(*inputs, pjrt_plugin=plugin)
    np.testing.assert_allclose(got, expected[0], rtol=RTOL, atol=ATOL)
    assert f"plugin={plugin}" in art.last_log
    assert art.files["portable_artifact"].stat().st_size > 0


def test_tpu_program_on_jaxlib_cpu(compiled, reference):
    pytest.importorskip("jax")
    art = compiled("mlp", "tpu")
    inputs, expected = reference("mlp", seed=6)
    (got,) = art.run(*inputs, pjrt_plugin="cpu")
    np.testing.assert_allclose(got, expected[0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("opt", ["O0", "O3"])
def test_opt_levels_agree(compiled, reference, opt):
    art = compiled("mlp", "host", opt=opt)
    inputs, expected = reference("mlp", seed=7)
    np.testing.assert_allclose(art.run(*inputs)[0], expected[0], rtol=RTOL, atol=ATOL)


def test_batch_matmul_and_broadcast_on_host_and_tpu(tmp_path):
    """A program beyond the samples: batch_matmul + mul by a broadcast + exp."""
    from mlirboot import backend

    src = """
#id = affine_map<(b, i, j) -> (b, i, j)>
#bc = affine_map<(b, i, j) -> (j)>
func.func @f(%a: tensor<2x4x8xf32>, %b: tensor<2x8x3xf32>, %s: tensor<3xf32>) -> tensor<2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %m = linalg.batch_matmul ins(%a, %b : tensor<2x4x8xf32>, tensor<2x8x3xf32>)
                           outs(%f : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %r = linalg.generic {indexing_maps = [#id, #bc, #id],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m, %s : tensor<2x4x3xf32>, tensor<3xf32>) outs(%e : tensor<2x4x3xf32>) {
    ^bb0(%v: f32, %w: f32, %o: f32):
      %p = arith.mulf %v, %w : f32
      %x = math.exp %p : f32
      linalg.yield %x : f32
  } -> tensor<2x4x3xf32>
  return %r : tensor<2x4x3xf32>
}
"""
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 4, 8)).astype(np.float32) * 0.3
    b = rng.standard_normal((2, 8, 3)).astype(np.float32) * 0.3
    s = rng.standard_normal(3).astype(np.float32)
    expected = np.exp((a @ b) * s)
    targets = ["host"]
    try:
        import jax  # noqa: F401

        targets.append("tpu")
    except ImportError:
        pass
    for target in targets:
        art = backend.compile(src, target=target, out=tmp_path / target)
        (got,) = art.run(a, b, s, pjrt_plugin="cpu")
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-6, err_msg=target)
