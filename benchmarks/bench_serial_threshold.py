#!/usr/bin/env python3
"""Where a parallel loop stops paying for its thread team (not a test).

usage: python benchmarks/bench_serial_threshold.py [--threads 2] [--calls 200]

For copy loops like the matmul schedule's packing copies (an scf.parallel over
rows, an scf.for over columns: B[i, j] = A[i, j] * s, and the transposed read
A[j, i]), compiled for --target host at -O2 twice:
  parallel  mlirboot-serialize-small-parallel left out (one libomp fork/join per call)
  serial    the same pass with a min-work above every loop here (no fork)
both called in-process on --threads threads, in turn (so a change in the
machine's load hits both alike). Prints the pass's work estimate of each loop
(from its remark), microseconds per call (median) and serial/parallel time:
below 1 the serial loop is faster. The crossover is the pipeline's min-work
(backend/pipelines/_common.yaml, to-openmp-llvm). The machine is shared: the
load averages before and after are printed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_call_overhead  # beside this file: calls timed side by side
import numpy as np

from mlirboot.backend import inprocess
from mlirboot.backend.driver import compile_program
from mlirboot.backend.pipeline import load as load_pipeline

PASS = "mlirboot-serialize-small-parallel"
LOOP = """func.func @copy(%a: memref<{r}x{c}xf32>, %b: memref<{r}x{c}xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = arith.constant {r} : index
  %cols = arith.constant {c} : index
  %s = arith.constant 2.0 : f32
  scf.parallel (%i) = (%c0) to (%rows) step (%c1) {{
    scf.for %j = %c0 to %cols step %c1 {{
      %x = memref.load %a[{index}] : memref<{r}x{c}xf32>
      %y = arith.mulf %x, %s : f32
      memref.store %y, %b[%i, %j] : memref<{r}x{c}xf32>
    }}
  }}
  return
}}
"""
# (rows, cols): square, so the transposed read stays in bounds.
SHAPES = tuple((s, s) for s in (16, 32, 64, 128, 192, 256, 384, 512, 768))


def compile_both(text: str, out: Path) -> tuple[dict[str, Path], int, str, Any]:
    """libprog.so of the parallel and the serial build, the pass's work
    estimate, the entry and its buffers."""
    (stage,) = (
        s for s in load_pipeline("host").stages if any(PASS in p for p in s.passes_for("O2"))
    )
    serial = [re.sub(r"min-work=\d+", f"min-work={1 << 62}", p) for p in stage.passes_for("O2")]
    libs: dict[str, Path] = {}
    work = -1
    out.mkdir(parents=True, exist_ok=True)
    for name, options in (
        ("parallel", {"disable_passes": [PASS]}),
        ("serial", {"stage_passes": {stage.name: serial}}),
    ):
        art = compile_program(text, target="host", opt="O2", out=out / name, options=options)
        libs[name] = art.files["shared_library"]
        for remark in art.meta["remarks"]:
            found = re.search(r"work (\d+) ops", remark["what"])
            if found:
                work = int(found[1])
        entry = art.signature.entry
        buffers = art.signature.buffers
    return libs, work, entry, buffers


def side_by_side(
    fns: dict[str, Callable[[], object]], calls: int
) -> dict[str, tuple[float, float]]:
    """(fastest, median) seconds per call of each of `fns`, called in turn."""
    times = bench_call_overhead.call_times(fns, calls)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    load_before = os.getloadavg()
    print("microseconds per call, fastest/median; serial/parallel time from the same statistic")
    print(
        f"{'loop':<22} {'work (ops)':>11} {'parallel us':>14} {'serial us':>14} {'serial/par':>11}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-serial-") as tmp:
        for read in ("%i, %j", "%j, %i"):
            for r, c in SHAPES:
                text = LOOP.format(r=r, c=c, index=read)
                libs, work, entry, buffers = compile_both(text, Path(tmp) / f"{r}x{c}{len(read)}")
                fns = {}
                for name, lib in libs.items():
                    run, arrays = inprocess.bind(lib, entry, buffers, args.threads)
                    arrays[0][...] = np.arange(r * c, dtype=np.float32).reshape(r, c)
                    fns[name] = run
                t = side_by_side(fns, args.calls)
                kind = "copy" if read == "%i, %j" else "transposed copy"
                (pf, pm), (sf, sm) = t["parallel"], t["serial"]
                print(
                    f"{kind + f' {r}x{c}':<22} {work:>11} {pf * 1e6:>7.1f}/{pm * 1e6:<6.1f} "
                    f"{sf * 1e6:>7.1f}/{sm * 1e6:<6.1f} {sf / pf:>5.2f}/{sm / pm:<5.2f}"
                )
    load_after = os.getloadavg()
    print(
        f"{args.threads} threads, {os.cpu_count()} CPUs; 1-minute load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )


if __name__ == "__main__":
    main()
