"""offload-host on 1 vs 2 threads, measured side by side in one run:

  matmul N x N x N f32 (linalg.matmul through the matmul schedule, -O2), and
  an elementwise program on an E x E f32 tensor: exp(a) * b + a (linalg.generic).

Each program is compiled once for `--target offload-host`; its executable runs
with OMP_NUM_THREADS=1 and =2 in alternation (ROUNDS times each), each run
calling the entry REPEAT times (the launcher's MLIRBOOT_REPEAT). A call's time
is the entry's wall time: the offload runtime maps the buffers (the host
plugin copies them to and from its device memory) and runs the kernel, whose
parallel loops run on libomp's threads. The first call of each run (device
and image initialization) is left out. Prints min and median per thread
count and the speedup (1-thread time / 2-thread time, from the minima and
from the medians), and the same for a control: a loop parallelized by clang's
own OpenMP, which shows what 2 threads can give on the machine at that time.
Writes benchmarks/out/offload_threads.json.

    python benchmarks/bench_offload_threads.py [--n 1024] [--e 2048] [--rounds 3] [--repeat 6]

The speedup of a machine with two cores that other work shares is lower than
that of a quiet one: say how loaded the machine was with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlirboot import backend
from mlirboot.backend.toolbox import Toolbox
from mlirboot.bootstrap import proc

OUT = Path(__file__).resolve().parent / "out"
THREADS = (1, 2)


def matmul(n: int) -> str:
    t = f"tensor<{n}x{n}xf32>"
    return (
        f"func.func @matmul(%a: {t}, %b: {t}) -> {t} {{\n"
        "  %zero = arith.constant 0.0 : f32\n"
        f"  %init = tensor.empty() : {t}\n"
        f"  %acc = linalg.fill ins(%zero : f32) outs(%init : {t}) -> {t}\n"
        f"  %c = linalg.matmul ins(%a, %b : {t}, {t}) outs(%acc : {t}) -> {t}\n"
        f"  return %c : {t}\n}}\n"
    )


def elementwise(e: int) -> str:
    t = f"tensor<{e}x{e}xf32>"
    return (
        "#id = affine_map<(i, j) -> (i, j)>\n"
        f"func.func @ew(%a: {t}, %b: {t}) -> {t} {{\n"
        f"  %init = tensor.empty() : {t}\n"
        "  %r = linalg.generic {indexing_maps = [#id, #id, #id],"
        ' iterator_types = ["parallel", "parallel"]}'
        f" ins(%a, %b : {t}, {t}) outs(%init : {t}) {{\n"
        "  ^bb0(%x: f32, %y: f32, %o: f32):\n"
        "    %ex = math.exp %x : f32\n"
        "    %m = arith.mulf %ex, %y : f32\n"
        "    %s = arith.addf %m, %x : f32\n"
        "    linalg.yield %s : f32\n"
        f"  }} -> {t}\n"
        f"  return %r : {t}\n}}\n"
    )


_CALL = re.compile(r"^launcher: call (\d+): ([0-9.]+) s$", re.M)

# The control: the speedup 2 threads give on this machine right now, for a loop
# that clang's own OpenMP parallelizes (no mlirboot code, no offload). It
# prints its times the way the launcher does with MLIRBOOT_REPEAT.
CONTROL_C = r"""
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
static float out[1 << 21];
int main(void) {
  int repeat = atoi(getenv("MLIRBOOT_REPEAT"));
  for (int r = 0; r < repeat; ++r) {
    double t = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (int i = 0; i < (1 << 21); ++i) {
      float x = i * 1e-6f;
      for (int k = 0; k < 16; ++k) x = x * 0.999f + sinf(x);
      out[i] = x;
    }
    fprintf(stderr, "launcher: call %d: %.6f s\n", r, omp_get_wtime() - t);
  }
  return out[12345] == 42.0f;
}
"""


def run_calls(exe: Path, io: Path, threads: int, repeat: int) -> list[float]:
    """One run of the executable: the times of calls 1..repeat-1 (call 0 warms up)."""
    env = {
        "OMP_NUM_THREADS": str(threads),
        "OMP_TARGET_OFFLOAD": "MANDATORY",
        "MLIRBOOT_REPEAT": str(repeat),
    }
    result = proc.run([exe, io], stage="bench/offload-threads", env=env, log_path=io / "run.log")
    times = [float(t) for i, t in _CALL.findall(result.output) if int(i) > 0]
    if len(times) != repeat - 1:
        raise RuntimeError(f"expected {repeat - 1} timed calls, log: {io / 'run.log'}")
    return times


def interleaved(exe: Path, io: Path, args: argparse.Namespace) -> dict[int, list[float]]:
    """Alternate the thread counts so both see the same machine load."""
    times: dict[int, list[float]] = {t: [] for t in THREADS}
    for _ in range(args.rounds):
        for t in THREADS:
            times[t] += run_calls(exe, io, t, args.repeat)
    return times


def summarize(name: str, times: dict[int, list[float]], flops: float = 0.0) -> dict[str, Any]:
    row: dict[str, Any] = {"program": name}
    for t in THREADS:
        row[f"min_{t}"] = min(times[t])
        row[f"median_{t}"] = statistics.median(times[t])
        row[f"calls_{t}"] = len(times[t])
        row[f"gflops_min_{t}"] = flops / row[f"min_{t}"] / 1e9 if flops else None
    row["speedup_min"] = row["min_1"] / row["min_2"]
    row["speedup_median"] = row["median_1"] / row["median_2"]
    return row


def measure(
    name: str,
    text: str,
    inputs: list[np.ndarray],
    expected: np.ndarray,
    work: Path,
    args: argparse.Namespace,
    flops: float = 0.0,
) -> dict[str, Any]:
    # (A path with a space breaks mlir-opt's transform-library-paths option.)
    slug = re.sub(r"\W+", "-", name)
    start = time.perf_counter()
    art = backend.compile(text, target="offload-host", out=work / slug)
    compile_s = time.perf_counter() - start
    got = art.run(*inputs)[0]  # correct first: checked against numpy
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    io = work / f"{slug}-io"
    io.mkdir()
    for i, arr in enumerate(inputs):
        (io / f"arg{i}.bin").write_bytes(np.ascontiguousarray(arr).tobytes())
    row = summarize(name, interleaved(art.path / "prog", io, args), flops)
    row["compile_s"] = round(compile_s, 2)
    return row


def control(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    box = Toolbox()
    src, exe = work / "control.c", work / "control"
    src.write_text(CONTROL_C)
    lib = box.lib_dir
    cmd = [box.tool("clang"), "-O2", "-fopenmp", src, f"-L{lib}", f"-Wl,-rpath,{lib}", "-lm"]
    proc.run([*cmd, "-o", exe], stage="bench/control", log_path=work / "control.log")
    return summarize("control: clang -fopenmp loop", interleaved(exe, work, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="matmul size (N x N x N)")
    parser.add_argument("--e", type=int, default=2048, help="elementwise tensor size (E x E)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per thread count")
    parser.add_argument("--repeat", type=int, default=6, help="calls per run (first left out)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-offload-threads-") as tmp:
        work = Path(tmp)
        a = rng.standard_normal((args.n, args.n)).astype(np.float32)
        b = rng.standard_normal((args.n, args.n)).astype(np.float32)
        mm = matmul(args.n)
        rows.append(measure(f"matmul {args.n}^3", mm, [a, b], a @ b, work, args, 2.0 * args.n**3))
        x = rng.standard_normal((args.e, args.e)).astype(np.float32)
        y = rng.standard_normal((args.e, args.e)).astype(np.float32)
        ew = elementwise(args.e)
        rows.append(measure(f"elementwise {args.e}^2", ew, [x, y], np.exp(x) * y + x, work, args))
        rows.append(control(work, args))
    after = os.getloadavg()
    print(
        f"offload-host, OMP_NUM_THREADS 1 vs 2, {os.cpu_count()} CPUs; 1-minute load average "
        f"{before[0]:.2f} before, {after[0]:.2f} after; times per call (ms), min / median"
    )
    print(f"{'program':<29} {'1 thread':>19} {'2 threads':>19} {'speedup min / med':>19}")
    for r in rows:
        print(
            f"{r['program']:<29} {r['min_1'] * 1e3:>8.2f} / {r['median_1'] * 1e3:>8.2f} "
            f"{r['min_2'] * 1e3:>8.2f} / {r['median_2'] * 1e3:>8.2f} "
            f"{r['speedup_min']:>9.2f} / {r['speedup_median']:.2f}"
        )
        if r["gflops_min_1"]:
            print(f"{'':<29} {r['gflops_min_1']:>8.1f} GFLOP/s {r['gflops_min_2']:>8.1f} GFLOP/s")
    OUT.mkdir(exist_ok=True)
    (OUT / "offload_threads.json").write_text(
        json.dumps({"args": vars(args), "loadavg": [before, after], "rows": rows}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
