"""Runs on real accelerators: skipped (with the reason) where none is present."""

from __future__ import annotations

import numpy as np
import pytest

BACKEND = {"nvidia": "CUDA", "amd": "AMDGPU", "intel": "LEVEL_ZERO"}


def _has(backend: str) -> bool:
    from mlirboot.backend.devices import runtime_backends
    from mlirboot.backend.toolbox import Toolbox

    return backend in runtime_backends(Toolbox())


@pytest.mark.gpu
@pytest.mark.parametrize("target", ["nvidia", "amd", "intel"])
@pytest.mark.parametrize("program", ["matmul", "mlp", "loop_matmul"])
def test_gpu_run_matches_numpy(compiled, reference, target, program):
    if not _has(BACKEND[target]):
        pytest.skip(f"no {BACKEND[target]} device visible to the offload runtime")
    art = compiled(program, target)
    inputs, expected = reference(program)
    for got, want in zip(art.run(*inputs), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.tpu
@pytest.mark.parametrize("program", ["matmul", "mlp"])
def test_tpu_run_on_libtpu(compiled, reference, program):
    pytest.importorskip("libtpu", reason="libtpu (the TPU PJRT plugin) is not installed")
    art = compiled(program, "tpu")
    inputs, expected = reference(program)
    np.testing.assert_allclose(
        art.run(*inputs, pjrt_plugin="tpu")[0], expected[0], rtol=1e-5, atol=1e-4
    )
