"""offload-host artifacts carry libprog.so too: Artifact.run calls it inside
the Python process, its image registered with the process's libomptarget and
its kernels launched through the host plugin, as the executable does (and
the process runner stays behind `isolated=True`, `info=True` and the CLI).
Its kernels' thread count: test_host_threads.py (`who` on both targets).
The host fallback stays refused: OMP_TARGET_OFFLOAD=MANDATORY, set when unset;
another setting keeps the process runner."""

from __future__ import annotations

import numpy as np
import pytest

from mlirboot.backend.artifact import Artifact


def _never(self, *args, **kwargs):
    raise AssertionError("the process runner ran")


@pytest.mark.parametrize("program", ["mlp", "conv2d", "loop_matmul_f64", "chain", "batch_generic"])
def test_in_process_matches_numpy_and_the_process_runner(compiled, reference, program, monkeypatch):
    art = compiled(program, "offload-host")
    assert art.files["shared_library"].name == "libprog.so"
    inputs, expected = reference(program, seed=31)
    isolated = art.run(*inputs, isolated=True)
    with monkeypatch.context() as m:
        m.setattr(Artifact, "_run_native", _never)
        got = art.run(*inputs)
    assert art.last_log == ""
    for g, i, e in zip(got[-len(expected) :], isolated[-len(expected) :], expected, strict=True):
        # chain: a reassociated product of large sums (as test_offload_threads)
        rtol, atol = (1e-4, 1e-2) if program == "chain" else (1e-5, 1e-4)
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
        np.testing.assert_array_equal(g, i)


def test_a_host_fallback_setting_keeps_the_process_runner(compiled, reference, monkeypatch):
    ran = []
    real = Artifact._run_native

    def runner(self, io, info, threads):
        ran.append(True)
        real(self, io, info, threads)

    monkeypatch.setattr(Artifact, "_run_native", runner)
    monkeypatch.setenv("OMP_TARGET_OFFLOAD", "DISABLED")
    inputs, expected = reference("matmul", seed=32)
    (got,) = compiled("matmul", "offload-host").run(*inputs)
    assert ran
    np.testing.assert_allclose(got, expected[0], rtol=1e-5, atol=1e-4)
