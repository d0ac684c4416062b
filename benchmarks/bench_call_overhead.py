#!/usr/bin/env python3
"""Per-call overhead and compile latency, side by side in one run (not a test).

usage: python benchmarks/bench_call_overhead.py [--calls N] [--json FILE]

For a 4x4 elementwise program and the 64x64 matmul of tests/backend/programs,
for host and offload-host (its kernels through the host plugin):
- `Artifact.run` in-process (libprog.so through ctypes) vs the process-isolated
  runner (`isolated=True`, what the CLI uses) vs `jax.jit` when jax is
  installed; every result is checked against numpy;
- compile cold (no cache) vs from the compile cache.
Then, for the 4x4 add, a 2048x2048 add (the copies dominate) and a 1024x1024
matmul: in-process calls with the inputs passed as they are (the artifact's
`readonly_args`) vs copied first (as before), timed alternately, one thread.
Goals (issue 13): a 4x4 call <= 50 us; a 5-line compile <= 0.3 s cold, <= 10 ms cached.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlirboot.backend.driver import compile_program

ROOT = Path(__file__).resolve().parent.parent
SMALL = """func.func @add(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %e = tensor.empty() : tensor<4x4xf32>
  %c = linalg.add ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>)
         outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %c : tensor<4x4xf32>
}
"""


def per_call(fn, calls: int) -> float:
    """Median seconds per call after a warm-up call."""
    fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def call_times(fns: dict[str, Callable[[], object]], calls: int) -> dict[str, list[float]]:
    """Seconds of each call of each of `fns`, called in turn (so a change in
    the machine's load hits them all alike) after a warm-up call each."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(calls):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def side_by_side(fns: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    """Median seconds per call of each of `fns` (`call_times`)."""
    return {name: statistics.median(t) for name, t in call_times(fns, calls).items()}


def add_program(n: int) -> str:
    return SMALL.replace("4x4", f"{n}x{n}")


MATMUL_1024 = """func.func @mm(%a: tensor<1024x1024xf32>, %b: tensor<1024x1024xf32>)
    -> tensor<1024x1024xf32> {
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<1024x1024xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1024x1024xf32>) -> tensor<1024x1024xf32>
  %c = linalg.matmul ins(%a, %b : tensor<1024x1024xf32>, tensor<1024x1024xf32>)
                     outs(%acc : tensor<1024x1024xf32>) -> tensor<1024x1024xf32>
  return %c : tensor<1024x1024xf32>
}
"""


def zero_copy_rows(calls: int) -> dict[str, dict[str, float]]:
    """Per-call seconds with the inputs passed as they are vs copied first."""
    rows = {}
    programs = {
        "add 4x4": (add_program(4), calls, np.add),
        "add 2048x2048": (add_program(2048), max(calls // 10, 10), np.add),
        "matmul 1024": (MATMUL_1024, max(calls // 20, 5), np.matmul),
    }
    for name, (program, n, ref) in programs.items():
        art = compile_program(program)
        assert art.meta.get("readonly_args") == [0, 1], art.meta.get("readonly_args")
        copying = dataclasses.replace(art, meta={**art.meta, "readonly_args": []})
        rng = np.random.default_rng(0)
        inputs = [rng.standard_normal(a.shape).astype(a.dtype) for a in art.signature.args]
        want = ref(*inputs)
        for a in (art, copying):
            np.testing.assert_allclose(a.run(*inputs, threads=1)[0], want, rtol=1e-4, atol=1e-3)
        times = side_by_side(
            {
                "no_copy_s": lambda a=art, x=inputs: a.run(*x, threads=1),
                "copy_s": lambda a=copying, x=inputs: a.run(*x, threads=1),
            },
            n,
        )
        rows[name] = {**times, "input_bytes": float(sum(x.nbytes for x in inputs))}
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    os.environ["MLIRBOOT_COMPILE_CACHE"] = "on"
    nonce = f"// bench_call_overhead {time.time_ns()}\n"  # a cold cache entry per run
    programs = {
        "add 4x4": nonce + SMALL,
        "matmul": nonce + (ROOT / "tests/backend/programs/matmul.mlir").read_text(),
    }
    for (name, program), target in itertools.product(programs.items(), ("host", "offload-host")):
        start = time.perf_counter()
        compile_program(program, target=target, use_cache=False)
        cold = time.perf_counter() - start
        compile_program(program, target=target)  # fills the cache
        cached = per_call(lambda p=program, t=target: compile_program(p, target=t), 5)
        art = compile_program(program, target=target)
        rng = np.random.default_rng(0)
        inputs = [rng.standard_normal(a.shape).astype(a.dtype) for a in art.signature.args]
        want = inputs[0] + inputs[1] if name == "add 4x4" else inputs[0] @ inputs[1]
        for mode in (False, True):
            (got,) = art.run(*inputs, isolated=mode)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
        row = {
            "compile_cold_s": cold,
            "compile_cached_s": cached,
            "run_in_process_s": per_call(lambda a=art, x=inputs: a.run(*x), args.calls),
            "run_isolated_s": per_call(lambda a=art, x=inputs: a.run(*x, isolated=True), 20),
        }
        try:
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_platforms", "cpu")
            f = jax.jit(jnp.add if name == "add 4x4" else jnp.matmul)
            xs = [jnp.asarray(x) for x in inputs]
            np.testing.assert_allclose(np.asarray(f(*xs)), want, rtol=1e-4, atol=1e-5)
            row["jax_jit_s"] = per_call(lambda f=f, xs=xs: f(*xs).block_until_ready(), args.calls)
        except ImportError:
            pass
        rows[f"{name} {target}"] = row
    print(
        f"{'program':<22} {'cold':>9} {'cached':>9} {'in-proc':>9} {'isolated':>9} "
        f"{'jax.jit':>9}  in-proc/jax"
    )
    for name, r in rows.items():
        jit = r.get("jax_jit_s")
        print(
            f"{name:<22} {r['compile_cold_s'] * 1e3:7.0f}ms {r['compile_cached_s'] * 1e3:7.1f}ms "
            f"{r['run_in_process_s'] * 1e6:7.1f}us {r['run_isolated_s'] * 1e3:7.2f}ms "
            + (f"{jit * 1e6:7.1f}us  {r['run_in_process_s'] / jit:5.1f}x" if jit else "      n/a")
        )
    copies = zero_copy_rows(args.calls)
    print(
        f"\n{'in-process, 1 thread':<16} {'inputs':>8} {'no copy':>10} {'copy':>10}  copy/no-copy"
    )
    for name, r in copies.items():
        print(
            f"{name:<20} {r['input_bytes'] / 2**20:6.1f}MB {r['no_copy_s'] * 1e3:8.3f}ms "
            f"{r['copy_s'] * 1e3:8.3f}ms  {r['copy_s'] / r['no_copy_s']:5.2f}x"
        )
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    if args.json:
        out = {**rows, "zero_copy": copies}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
