"""--target host runs parallel loops (the matmul schedule's row blocks, the
parallel dims of other linalg ops) on the toolchain's libomp threads, in the
process runner and in-process alike. The thread count: `threads=` /
`run --threads`, else $OMP_NUM_THREADS, else one per core. Proof that the
threads ran: a program whose loop body asks libomp which thread it is."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend import inprocess
from mlirboot.backend.artifact import Artifact
from mlirboot.backend.driver import compile_program
from mlirboot.backend.toolbox import Toolbox

PROGRAMS = Path(__file__).parent / "programs"
# Over artifact.SMALL_PROGRAM_ELEMENTS in all (x and out): the default is one thread per core.
ROWS = 4096

# Each element of the result: the number (omp_get_thread_num) of the thread
# that ran that iteration of a parallel loop. (A hand-written scf.parallel: a
# linalg op's loop with a call in it is not parallelized, the call's effects
# being unknown; see test_linalg_and_matmul_loops_fork_threads for those.)
WHO = f"""
func.func private @omp_get_thread_num() -> i32
func.func @who(%x: memref<{ROWS}xf32>, %out: memref<{ROWS}xi32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant {ROWS} : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {{
    %t = func.call @omp_get_thread_num() : () -> i32
    memref.store %t, %out[%i] : memref<{ROWS}xi32>
  }}
  return
}}
"""

# Odd sizes (remainder tiles everywhere), f64, and a batch matmul.
MATMUL = """
func.func @mm(%a: tensor<{m}x{k}x{t}>, %b: tensor<{k}x{n}x{t}>) -> tensor<{m}x{n}x{t}> {{
  %z = arith.constant 0.0 : {t}
  %e = tensor.empty() : tensor<{m}x{n}x{t}>
  %f = linalg.fill ins(%z : {t}) outs(%e : tensor<{m}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
  %r = linalg.matmul ins(%a, %b : tensor<{m}x{k}x{t}>, tensor<{k}x{n}x{t}>)
         outs(%f : tensor<{m}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
  return %r : tensor<{m}x{n}x{t}>
}}
"""


@pytest.fixture(scope="module", params=["host", "offload-host"])
def who(request, tmp_path_factory) -> Artifact:
    """WHO for host, and for offload-host (its kernels on the host plugin,
    in process through its libprog.so as well)."""
    out = tmp_path_factory.mktemp("who") / "art"
    return compile_program(WHO, target=request.param, out=out)


def _threads_seen(art: Artifact, **kw) -> set[int]:
    _, rows = art.run(np.zeros(ROWS, np.float32), np.zeros(ROWS, np.int32), **kw)
    return set(rows.tolist())


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_setting_is_the_threads_that_ran(who, threads, isolated):
    assert _threads_seen(who, threads=threads, isolated=isolated) == set(range(threads))


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
def test_omp_num_threads_then_the_cores(who, monkeypatch, isolated):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _threads_seen(who, isolated=isolated) == {0, 1, 2}
    monkeypatch.delenv("OMP_NUM_THREADS")
    cores = len(os.sched_getaffinity(0))
    assert _threads_seen(who, isolated=isolated) == set(range(min(cores, ROWS)))


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
def test_a_small_program_runs_on_one_thread_unless_told(tmp_path, monkeypatch, isolated):
    rows = 8
    small = compile_program(WHO.replace(f"{ROWS}", f"{rows}"), target="host", out=tmp_path / "a")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    def seen(**kw) -> set[int]:
        _, ids = small.run(np.zeros(rows, np.float32), np.zeros(rows, np.int32), **kw)
        return set(ids.tolist())

    assert seen(isolated=isolated) == {0}
    assert seen(isolated=isolated, threads=2) == {0, 1}
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert seen(isolated=isolated) == {0, 1}


def test_libprog_loads_the_toolchains_libomp_through_an_rpath(who):
    omp = Toolbox().manifest.library("omp")
    readelf = Toolbox().tool("llvm-readelf")
    for product in ("shared_library", "executable"):
        dynamic = subprocess.run(
            [readelf, "-d", who.files[product]], capture_output=True, text=True, check=True
        ).stdout
        assert "[libomp.so" in dynamic, dynamic
        assert f"[{omp.parent}]" in dynamic, dynamic  # RUNPATH


@pytest.mark.parametrize(
    ("m", "k", "n", "dtype"),
    [
        (197, 131, 75, "f32"),
        (64, 1024, 40, "f32"),
        (101, 67, 53, "f64"),
        # Few rows: column chunks on threads (whole column tiles), and not.
        (1, 256, 1280, "f32"),
        (5, 300, 1024, "f64"),
        (2, 64, 1000, "f32"),
    ],
)
def test_scheduled_matmul_same_result_on_1_2_3_threads(tmp_path, m, k, n, dtype):
    text = MATMUL.format(m=m, k=k, n=n, t=dtype)
    art = compile_program(text, target="host", out=tmp_path / "art")
    assert art.meta["info"]["schedule"]["library"].startswith("matmul_"), art.meta["info"]
    np_dtype = np.float32 if dtype == "f32" else np.float64
    rng = np.random.default_rng(21)
    a = rng.standard_normal((m, k)).astype(np_dtype)
    b = rng.standard_normal((k, n)).astype(np_dtype)
    rtol, atol = (1e-4, 1e-3) if dtype == "f32" else (1e-12, 1e-10)
    results = []
    for threads in (1, 2, 3):
        for isolated in (False, True):
            (c,) = art.run(a, b, threads=threads, isolated=isolated)
            np.testing.assert_allclose(c, a @ b, rtol=rtol, atol=atol)
            results.append(c)
    # Each thread runs whole row blocks (or column chunks) with the same
    # code: bit-identical.
    for c in results[1:]:
        np.testing.assert_array_equal(c, results[0])


@pytest.mark.parametrize("program", ["batch_generic", "conv2d", "mlp", "loop_matmul_f64"])
def test_sample_programs_on_three_threads_match_numpy(compiled, reference, program):
    art = compiled(program, "host")
    inputs, expected = reference(program, seed=23)
    for isolated in (False, True):
        got = art.run(*inputs, threads=3, isolated=isolated)
        for g, e in zip(got[-len(expected) :], expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-4)


def test_two_artifacts_in_one_process_share_libomp(who, compiled, reference):
    """Repeated in-process calls alternating between two libraries (one libomp
    loaded for both), each call with its own thread count."""
    mm = compiled("matmul", "host")
    inputs, expected = reference("matmul", seed=24)
    for threads in (2, 1, 3, 2):
        (got,) = mm.run(*inputs, threads=threads)
        np.testing.assert_allclose(got, expected[0], rtol=1e-4, atol=1e-3)
        assert _threads_seen(who, threads=threads) == set(range(threads))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_threads_must_be_a_positive_integer(who, bad):
    from mlirboot.bootstrap.errors import UsageError

    with pytest.raises(UsageError, match="threads must be a positive integer"):
        who.run(np.zeros(ROWS, np.float32), np.zeros(ROWS, np.int32), threads=bad)


def test_cli_run_threads(who, cli, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(ROWS, np.float32))
    np.save(tmp_path / "o.npy", np.zeros(ROWS, np.int32))
    out = tmp_path / "rows.npy"
    result = cli(
        "run", who.path, "-i", "x.npy", "-i", "o.npy", "--output", f"1={out}", "--threads", "3"
    )
    assert result.returncode == 0, result.stderr
    assert set(np.load(out).tolist()) == {0, 1, 2}
    bad = cli("run", who.path, "-i", "x.npy", "-i", "o.npy", "--threads", "0")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "--threads" in bad.stderr, bad.stderr


def test_staticlib_is_sequential_so_its_users_need_no_libomp(tmp_path):
    """--emit staticlib: a C/Rust caller links the archive with -lm only (the
    same program's shared library does fork threads: its kernel loop is over
    -O2's serial threshold, mlirboot-serialize-small-parallel)."""
    text = MATMUL.format(m=197, k=131, n=75, t="f32")
    static = compile_program(text, target="host", out=tmp_path / "static", emit="staticlib")
    threaded = compile_program(text, target="host", out=tmp_path / "threaded")
    readelf = Toolbox().tool("llvm-readelf")

    def symbols(art: Artifact, product: str) -> str:
        return subprocess.run(
            [readelf, "--syms", art.files[product]], capture_output=True, text=True, check=True
        ).stdout

    assert "__kmpc" not in symbols(static, "static_library")
    assert "__kmpc_fork_call" in symbols(threaded, "shared_library")


def test_blas_takes_the_thread_count_too(compiled, reference):
    """--blas: the count goes to OpenBLAS (openblas_set_num_threads through
    libprog.so's handle in-process, OPENBLAS_NUM_THREADS isolated)."""
    art = compiled("matmul", "host", blas=True)
    inputs, expected = reference("matmul", seed=25)
    for threads in (1, 2):
        for isolated in (False, True):
            (got,) = art.run(*inputs, threads=threads, isolated=isolated)
            np.testing.assert_allclose(got, expected[0], rtol=1e-4, atol=1e-3)
        library = inprocess._load(art.files["shared_library"])
        assert library.openblas_get_num_threads() == threads


ELEMENTWISE = """
#id = affine_map<(i, j) -> (i, j)>
func.func @ew(%a: tensor<1200x256xf32>, %b: tensor<1200x256xf32>) -> tensor<1200x256xf32> {
  %e = tensor.empty() : tensor<1200x256xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<1200x256xf32>, tensor<1200x256xf32>) outs(%e : tensor<1200x256xf32>) {
    ^bb0(%x: f32, %y: f32, %o: f32):
      %m = arith.mulf %x, %y : f32
      %s = arith.addf %m, %x : f32
      linalg.yield %s : f32
  } -> tensor<1200x256xf32>
  return %r : tensor<1200x256xf32>
}
"""

# In a fresh process: how many threads one in-process call on 3 threads starts
# (libomp starts its team's other threads at the first parallel region).
COUNT_THREADS = """
import os, sys
import numpy as np
from mlirboot.backend.artifact import Artifact
art = Artifact.load(sys.argv[1])
inputs = [np.ones(a.shape, a.dtype) for a in art.signature.args]
before = len(os.listdir("/proc/self/task"))
art.run(*inputs, threads=3)
print(len(os.listdir("/proc/self/task")) - before)
"""


@pytest.mark.parametrize("program", ["elementwise", "matmul"])
def test_linalg_and_matmul_loops_fork_threads(tmp_path, program):
    """The parallel dim of an elementwise linalg op and the matmul schedule's
    row blocks (f32 197x131x75: several row blocks) each fork a team (both
    over -O2's threshold for running a loop serially)."""
    text = ELEMENTWISE if program == "elementwise" else MATMUL.format(m=197, k=131, n=75, t="f32")
    art = compile_program(text, target="host", out=tmp_path / "art")
    import sys

    started = subprocess.run(
        [sys.executable, "-c", COUNT_THREADS, art.path],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    ).stdout
    assert int(started) == 2, started
