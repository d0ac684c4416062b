#!/usr/bin/env python3
"""Compile time per target for mlp.mlir (not a test: prints a table).

usage: python benchmarks/bench_compile.py [PROGRAM.mlir] [--repeat N] [-O2]
Each target is compiled N times (default 3); the table shows the best and
median wall time, and the slowest stage of the best run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mlirboot.backend.driver import compile_program
from mlirboot.backend.pipeline import targets
from mlirboot.bootstrap.errors import MlirbootError

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "backend" / "programs" / "mlp.mlir"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("-O", dest="opt", default="O2")
    args = parser.parse_args()
    rows = []
    for target in targets():
        times, slowest = [], ""
        try:
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    start = time.perf_counter()
                    art = compile_program(
                        args.program,
                        target=target,
                        opt=args.opt,
                        out=Path(tmp) / "a",
                        use_cache=False,
                    )
                    times.append(time.perf_counter() - start)
                    if times[-1] == min(times):
                        stage = max(art.meta["stages"], key=lambda s: s["seconds"])
                        slowest = f"{stage['name']} {stage['seconds']:.2f}s"
        except MlirbootError as err:
            rows.append((target, "-", "-", f"failed: {err.line()}"))
            continue
        rows.append((target, f"{min(times):.2f}", f"{statistics.median(times):.2f}", slowest))
    print(f"compile time for {Path(args.program).name} (-{args.opt}, {args.repeat} runs)")
    print(f"{'target':<14} {'best s':>7} {'median s':>9}  slowest stage")
    for target, best, median, slow in rows:
        print(f"{target:<14} {best:>7} {median:>9}  {slow}")
    host = next((float(r[1]) for r in rows if r[0] == "host" and r[1] != "-"), None)
    if host:
        print(
            "ratio to host: "
            + ", ".join(f"{r[0]} {float(r[1]) / host:.1f}x" for r in rows if r[1] != "-")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
