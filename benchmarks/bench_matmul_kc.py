"""The schedule's k block (kc), side by side in one run, one thread, against numpy:

  l1-rule  kc from L1d: a kc x nr panel of packed B in half of L1d (the rule
           before; now only the few-rows path's kc_few)
  default  Tiling.for_host: kc from L2 (8 micro panels of A plus a panel of B
           in half of L2), never below the L1 rule
  numpy    a @ b (its OpenBLAS), one thread (threadpoolctl)

The program is the loop-written matmul through the host pipeline (-O2,
called in process). Each contestant's result is checked against float64 numpy first. The calls
alternate in rounds with a pause before each turn; the table gives the
fastest call per contestant and its ratio to numpy's fastest (median ratios
in the JSON). Writes benchmarks/out/matmul_kc.json.

    python benchmarks/bench_matmul_kc.py [--quick] [--rounds 5]
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy loads its OpenBLAS

import argparse
import dataclasses
import functools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import bench_matmul  # beside this file: the loop-written program
import numpy as np

from mlirboot.backend.schedules import matmul

OUT = Path(__file__).resolve().parent / "out" / "matmul_kc.json"
SHAPES = ((1024, 1024, 1024), (1000, 1000, 1000), (256, 4096, 256), (2048, 2048, 2048))
QUICK = SHAPES[:2]


def tilings(dtype: str) -> dict[str, matmul.Tiling]:
    default = matmul.Tiling.for_host(dtype)
    return {"l1-rule": dataclasses.replace(default, kc=default.kc_few), "default": default}


def compile_with(
    tiling: matmul.Tiling,
    work: Path,
    m: int,
    k: int,
    n: int,
    dtype: str,
    a: np.ndarray,
    b: np.ndarray,
    want: np.ndarray,
) -> Callable[[], object]:
    """The loop-written matmul through the host pipeline (what users get, called
    in process on bound buffers) with `tiling` in place of Tiling.for_host's
    choice (patched for this compile only; the compile cache is off), its
    result checked against float64 numpy."""
    from mlirboot import backend
    from mlirboot.backend import inprocess

    text = bench_matmul.loop_matmul(n, m=m, k=k, dtype=dtype, c_interface=False)
    out = work / f"{m}x{k}x{n}-{dtype}-kc{tiling.kc}"
    with mock.patch.object(matmul.Tiling, "for_host", lambda *_, **__: tiling):
        art = backend.compile(text, target="host", out=out, use_cache=False)
    schedule = art.meta["info"]["schedule"]
    assert schedule["tiling"]["kc"] == tiling.kc, schedule
    run, buffers = inprocess.bind(
        art.files["shared_library"], art.signature.entry, art.signature.buffers, 1
    )
    np.copyto(buffers[0], a)
    np.copyto(buffers[1], b)
    run()
    err = float(np.abs(buffers[2] - want).max() / np.abs(want).max())
    tol = 1e-4 if dtype == "f32" else 1e-12
    assert err < tol, f"kc {tiling.kc} {m}x{k}x{n} {dtype}: relative error {err}"
    return run


def rounds(fns: dict[str, Callable[[], object]], count: int, seconds: float) -> dict[str, list]:
    """Fastest call per turn of each of `fns`, `count` turns each, in turn; a
    0.3 s pause before each turn lets the previous one's cache and clock settle."""
    best: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(count):
        for name, fn in fns.items():
            time.sleep(0.3)
            times: list[float] = []
            while len(times) < 3 or sum(times) < seconds:
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            best[name].append(min(times))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1024^3 and 1000^3 only")
    parser.add_argument("--rounds", type=int, default=5, help="turns per contestant")
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per turn")
    parser.add_argument("--dtypes", default="f32,f64")
    args = parser.parse_args()
    import threadpoolctl

    threadpoolctl.threadpool_limits(1)
    cpu = matmul.HostCpu.read()
    load_before = os.getloadavg()
    rows = []
    print(f"host: {cpu}; one thread; GFLOP/s of the fastest call (ratio to numpy)")
    with tempfile.TemporaryDirectory(prefix="bench_matmul_kc_") as tmp:
        for m, k, n in QUICK if args.quick else SHAPES:
            for dtype in args.dtypes.split(","):
                np_type = np.float32 if dtype == "f32" else np.float64
                rng = np.random.default_rng(0)
                a = rng.standard_normal((m, k)).astype(np_type)
                b = rng.standard_normal((k, n)).astype(np_type)
                want = a.astype(np.float64) @ b.astype(np.float64)
                fns: dict[str, Callable[[], object]] = {}
                kcs = {}
                for name, tiling in tilings(dtype).items():
                    fns[name] = compile_with(tiling, Path(tmp), m, k, n, dtype, a, b, want)
                    kcs[name] = tiling.kc
                fns["numpy"] = functools.partial(np.matmul, a, b)
                best = rounds(fns, args.rounds, args.seconds)
                flops = 2.0 * m * n * k
                fastest = {name: min(t) for name, t in best.items()}
                median = {name: statistics.median(t) for name, t in best.items()}
                row = {
                    "shape": [m, k, n],
                    "dtype": dtype,
                    "kc": kcs,
                    "gflops": {name: flops / t / 1e9 for name, t in fastest.items()},
                    "vs_numpy": {name: fastest["numpy"] / t for name, t in fastest.items()},
                    "vs_numpy_median": {name: median["numpy"] / t for name, t in median.items()},
                }
                rows.append(row)
                print(
                    f"{m}x{k}x{n} {dtype}: numpy {row['gflops']['numpy']:.1f}; "
                    + "; ".join(
                        f"{name} (kc {kcs[name]}) {row['gflops'][name]:.1f} "
                        f"({row['vs_numpy'][name]:.2f}x)"
                        for name in kcs
                    ),
                    flush=True,
                )
    load = (load_before[0], os.getloadavg()[0])
    print(f"1-minute load average {load[0]:.2f} before, {load[1]:.2f} after")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"cpu": dataclasses.asdict(cpu), "load": load, "rows": rows}))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
