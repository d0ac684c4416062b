#!/usr/bin/env python3
"""A parallel reduction convert-scf-to-openmp has no OpenMP form for
(`arith.maximumf`), on host -O2: chunks on 1 and 2 threads against numpy's
`a.max()`, timed in turn in one run (not a test).

usage: python benchmarks/bench_unsupported_reduction.py [--rows N] [--cols N] [--calls N]

The entry is called through libprog.so's C ABI (the bare pointers the launcher
passes), so only the kernel is timed: Artifact.run would also return a copy
of every argument of an entry without results. Every result is checked
against numpy. Compare the columns of one run; a loaded machine slows all.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mlirboot.backend.driver import compile_program
from mlirboot.bootstrap.toolset import system_manifest

PROGRAM = """
func.func @reduce(%a: memref<RxCxf32>, %out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant R : index
  %n = arith.constant C : index
  %init = arith.constant 0xFF800000 : f32
  %r = scf.parallel (%i, %j) = (%c0, %c0) to (%m, %n) step (%c1, %c1) init (%init) -> f32 {
    %x = memref.load %a[%i, %j] : memref<RxCxf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %rr: f32):
      %v = arith.maximumf %l, %rr : f32
      scf.reduce.return %v : f32
    }
  }
  memref.store %r, %out[%c0] : memref<1xf32>
  return
}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--cols", type=int, default=4000)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    text = PROGRAM.replace("R", str(args.rows)).replace("C", str(args.cols))
    with tempfile.TemporaryDirectory(prefix="bench-reduction-") as tmp:
        art = compile_program(text, target="host", opt="O2", out=Path(tmp) / "a")
        said = [r["what"] for r in art.meta["remarks"] if "convert-scf-to-openmp" in r["what"]]
        lib = ctypes.CDLL(str(Path(tmp) / "a" / "libprog.so"))
        omp = ctypes.CDLL(str(system_manifest().library("omp")))
        entry = lib.reduce
        entry.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        a = np.random.default_rng(0).standard_normal((args.rows, args.cols)).astype(np.float32)
        a[args.rows // 2, 7] = 1e30  # the maximum, inside a middle chunk
        out = np.zeros(1, np.float32)

        def chunks(threads: int):
            def call() -> float:
                omp.omp_set_num_threads(threads)
                entry(a.ctypes.data, out.ctypes.data)
                return float(out[0])

            return call

        contestants = {"numpy a.max()": lambda: float(a.max()), "1 thread": chunks(1)}
        contestants["2 threads"] = chunks(2)
        times: dict[str, list[float]] = {name: [] for name in contestants}
        for _ in range(args.calls):
            for name, fn in contestants.items():
                start = time.perf_counter()
                value = fn()
                times[name].append(time.perf_counter() - start)
                if value != 1e30 and not np.isclose(value, 1e30):
                    raise SystemExit(f"{name}: wrong maximum {value}")
        print(f"{args.rows}x{args.cols} f32 maximumf, host -O2 ({'; '.join(said)})")
        base = statistics.median(times["numpy a.max()"])
        for name, ts in times.items():
            median = statistics.median(ts)
            ms, fastest, ratio = median * 1e3, min(ts) * 1e3, base / median
            print(f"  {name:<14} {ms:7.3f} ms (min {fastest:.3f})  {ratio:.2f}x numpy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
