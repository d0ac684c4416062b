"""offload-host runs the program's parallel loops on libomp threads inside the
kernel (the host plugin launches each kernel once, on one thread). The x86
device runtime (backend/data/stubs/x86.c) counts the threads that ran
worksharing-loop iterations and, with MLIRBOOT_OFFLOAD_THREADS set, prints the
count at the end of the kernel: that count is what these tests check."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from mlirboot import backend
from mlirboot.backend.offload import kernel_names

PROGRAMS = Path(__file__).parent / "programs"

RTOL = 1e-5
ATOL = 1e-4


def threads_reported(log: str) -> list[int]:
    return [
        int(n) for n in re.findall(r"mlirboot-device: loop iterations ran on (\d+) threads", log)
    ]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_omp_num_threads_sets_the_threads_a_kernel_runs_on(
    compiled, reference, monkeypatch, threads
):
    monkeypatch.setenv("OMP_NUM_THREADS", str(threads))
    monkeypatch.setenv("MLIRBOOT_OFFLOAD_THREADS", "1")
    art = compiled("mlp", "offload-host")
    inputs, expected = reference("mlp", seed=11)
    (got,) = art.run(*inputs)
    np.testing.assert_allclose(got, expected[0], rtol=RTOL, atol=ATOL)
    assert threads_reported(art.last_log) == [threads], art.last_log


def test_default_thread_count_is_the_cores(compiled, reference, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MLIRBOOT_OFFLOAD_THREADS", "1")
    art = compiled("mlp", "offload-host")
    inputs, expected = reference("mlp", seed=12)
    (got,) = art.run(*inputs)
    np.testing.assert_allclose(got, expected[0], rtol=RTOL, atol=ATOL)
    cores = len(os.sched_getaffinity(0))
    # The runtime counts threads numbered below 64; mlp's loops have >= 64 iterations.
    assert threads_reported(art.last_log) == [min(cores, 64)], art.last_log


@pytest.mark.parametrize(
    "program", ["batch_generic", "conv2d", "chain", "affine_matmul", "loop_matmul_f64"]
)
def test_sample_programs_on_three_threads_match_numpy(compiled, reference, monkeypatch, program):
    """Three threads on any machine: uneven splits of every loop. Only the
    outermost parallel loop of a nest is split: conv2d's is its batch of 2."""
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("MLIRBOOT_OFFLOAD_THREADS", "1")
    art = compiled(program, "offload-host")
    inputs, expected = reference(program, seed=13)
    got = art.run(*inputs)
    # chain: reassociated (A·B)·v -> A·(B·v), sums of 256 products (as test_optimize).
    rtol, atol = (1e-4, 1e-2) if program == "chain" else (RTOL, ATOL)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)
    want = 2 if program == "conv2d" else 3
    assert threads_reported(art.last_log) == [want], art.last_log


REDUCTIONS = """
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>
func.func @reduce(%x: tensor<37x129xf32>) -> (tensor<37xf32>, tensor<129xf32>, tensor<37xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<37xf32>
  %ec = tensor.empty() : tensor<129xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<37xf32>) -> tensor<37xf32>
  %zc = linalg.fill ins(%zero : f32) outs(%ec : tensor<129xf32>) -> tensor<129xf32>
  %mr = linalg.fill ins(%ninf : f32) outs(%er : tensor<37xf32>) -> tensor<37xf32>
  %rows = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<37x129xf32>) outs(%zr : tensor<37xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %s = arith.addf %v, %acc : f32
      linalg.yield %s : f32
  } -> tensor<37xf32>
  %cols = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<37x129xf32>) outs(%zc : tensor<129xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %s = arith.addf %v, %acc : f32
      linalg.yield %s : f32
  } -> tensor<129xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<37x129xf32>) outs(%mr : tensor<37xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %m = arith.maximumf %v, %acc : f32
      linalg.yield %m : f32
  } -> tensor<37xf32>
  return %rows, %cols, %max : tensor<37xf32>, tensor<129xf32>, tensor<37xf32>
}
"""


@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_reductions_stay_sequential_per_thread(tmp_path, monkeypatch, opt):
    """Row sums, column sums (the reduction dim outermost) and row maxima on
    three threads: only the parallel dims are split among threads."""
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("MLIRBOOT_OFFLOAD_THREADS", "1")
    art = backend.compile(REDUCTIONS, target="offload-host", opt=opt, out=tmp_path / "art")
    x = np.random.default_rng(14).standard_normal((37, 129)).astype(np.float32)
    rows, cols, maxima = art.run(x)
    np.testing.assert_allclose(rows, x.sum(axis=1), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(cols, x.sum(axis=0), rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(maxima, x.max(axis=1))
    assert threads_reported(art.last_log) == [3], art.last_log


HAND_WRITTEN = """
func.func @f(%a: memref<100x8xf32>, %rows: memref<100xf32>, %total: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c100 = arith.constant 100 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c100) step (%c1) {
    %t = memref.alloca() : memref<8xf32>
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %a[%i, %j] : memref<100x8xf32>
      memref.store %v, %t[%j] : memref<8xf32>
    }
    %s = scf.for %j = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> f32 {
      %v = memref.load %t[%j] : memref<8xf32>
      %r = arith.addf %acc, %v : f32
      scf.yield %r : f32
    }
    memref.store %s, %rows[%i] : memref<100xf32>
  }
  %sum = scf.parallel (%i) = (%c0) to (%c100) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i, %c0] : memref<100x8xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %r = arith.addf %x, %y : f32
      scf.reduce.return %r : f32
    }
  }
  memref.store %sum, %total[%c0] : memref<1xf32>
  return
}
"""


def test_hand_written_parallel_loops_with_alloca_and_reduce(tmp_path, monkeypatch):
    """A program's own scf.parallel: a per-iteration memref.alloca (its alloca
    scope is lowered before the loops become blocks) and an scf.reduce (an
    OpenMP reduction through libomp's __kmpc_reduce)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("MLIRBOOT_OFFLOAD_THREADS", "1")
    art = backend.compile(HAND_WRITTEN, target="offload-host", out=tmp_path / "art")
    a = np.random.default_rng(15).standard_normal((100, 8)).astype(np.float32)
    _, rows, total = art.run(a, np.zeros(100, np.float32), np.zeros(1, np.float32))
    np.testing.assert_allclose(rows, a.sum(axis=1), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(total, [a[:, 0].sum()], rtol=RTOL, atol=ATOL)
    assert threads_reported(art.last_log) == [3], art.last_log


def test_each_parallel_nest_is_its_own_composite_kernel(tmp_path, reference, monkeypatch):
    """mlp (matmul, bias + relu, matmul): one omp.target per parallel loop
    nest in the composite teams/distribute/parallel/wsloop form, bounds
    through host_eval, the buffers mapped once by one omp.target_data; 1, 2
    and 3 threads give the same bits and match numpy."""
    temps = tmp_path / "temps"
    art = backend.compile(
        PROGRAMS / "mlp.mlir",
        target="offload-host",
        out=tmp_path / "art",
        save_temps=temps,
    )
    (kernels,) = temps.glob("*-outline-kernel.mlir")
    text = kernels.read_text()
    composite = text.count("omp.target host_eval(")
    assert composite >= 3, text
    assert text.count("omp.target_data ") == 1
    for op in ("omp.teams {", "omp.distribute {"):
        assert text.count(op) == composite, op
    assert text.count("{omp.composite}") == 3 * composite
    (device,) = temps.glob("*-translate-device.ll")
    assert len(kernel_names(device.read_text())) == text.count("omp.target ")

    inputs, expected = reference("mlp", seed=16)
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setenv("OMP_NUM_THREADS", str(threads))
        monkeypatch.setenv("MLIRBOOT_OFFLOAD_THREADS", "1")
        got = art.run(*inputs)
        assert threads_reported(art.last_log) == [threads], art.last_log
        np.testing.assert_allclose(got[0], expected[0], rtol=RTOL, atol=ATOL)
        results.append(got[0])
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
