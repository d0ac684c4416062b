"""The optimizations (recognition, reassociation, fusion, BLAS) through the
real backend (`mlirboot.backend.compile`, host target), measured in one run,
one thread:

  matmul N x N x N written as a naive loop nest (examples/loop_matmul.mlir scaled):
    -O0 (no recognition, plain loops) | -O2 (raised, matmul schedule) | -O2 --blas | numpy
  skewed chain (A x B) x v, A,B: C x C, v: C x 2:
    -O2 without mlirboot-reassociate-matmul-chains | -O2 (reassociated)
  MLP relu(x W1 + b1) W2 + b2 (batch 256, 512 -> 1024 -> 256):
    -O2 as shipped (no fusion on CPUs: the schedule takes whole matmuls) |
    -O2 with mlirboot-fuse-elementwise-into-matmul added (the schedule runs on the
    fused tiles) | -O2 --blas

Each artifact's shared library (libprog.so) is loaded and its entry called
through ctypes (bare-pointer ABI), so the times are the compiled code's, not the
launcher's file I/O (OMP_NUM_THREADS=1: libomp's parallel loops on one thread).
Writes benchmarks/out/backend_opt.json and backend_opt.png.

    python benchmarks/bench_backend_opt.py [--n 512] [--chain 512] [--seconds 1.0]
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read at library load (Debian OpenBLAS, numpy's)
os.environ["OMP_NUM_THREADS"] = "1"  # libomp's, read at its load

import argparse
import ctypes
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_matmul  # beside this file: the shared naive loop nest
import numpy as np

from mlirboot import backend
from mlirboot.backend import inprocess
from mlirboot.backend.passes.plugin import REASSOCIATE_CHAINS, func_passes

OUT = Path(__file__).resolve().parent / "out"


def loop_matmul(n: int) -> str:
    # The same naive nest bench_matmul.py times, without its C interface.
    return bench_matmul.loop_matmul(n, c_interface=False)


def _mm(out: str, a: str, b: str, ta: str, tb: str, tc: str) -> str:
    return (
        f"  %{out}_e = tensor.empty() : {tc}\n"
        f"  %{out}_f = linalg.fill ins(%zero : f32) outs(%{out}_e : {tc}) -> {tc}\n"
        f"  %{out} = linalg.matmul ins({a}, {b} : {ta}, {tb}) outs(%{out}_f : {tc}) -> {tc}\n"
    )


def chain(c: int) -> str:
    sq, v = f"tensor<{c}x{c}xf32>", f"tensor<{c}x2xf32>"
    return (
        f"func.func @chain(%a: {sq}, %b: {sq}, %v: {v}) -> {v} {{\n"
        "  %zero = arith.constant 0.0 : f32\n"
        + _mm("ab", "%a", "%b", sq, sq, sq)
        + _mm("abv", "%ab", "%v", sq, v, v)
        + f"  return %abv : {v}\n}}\n"
    )


def mlp(batch: int, d_in: int, hidden: int, d_out: int) -> str:
    x, w1, w2 = (
        f"tensor<{batch}x{d_in}xf32>",
        f"tensor<{d_in}x{hidden}xf32>",
        f"tensor<{hidden}x{d_out}xf32>",
    )
    h, o = f"tensor<{batch}x{hidden}xf32>", f"tensor<{batch}x{d_out}xf32>"

    def bias(out: str, v: str, b: str, t: str, relu: bool) -> str:
        body = (
            "      %r = arith.maximumf %s, %zero : f32\n      linalg.yield %r : f32\n"
            if relu
            else "      linalg.yield %s : f32\n"
        )
        return (
            f"  {out} = linalg.generic {{indexing_maps = [#id, #bias, #id], "
            f'iterator_types = ["parallel", "parallel"]}} ins({v}, {b} : {t}, '
            f"tensor<{t.split('x')[1]}xf32>) outs({v}_e : {t}) {{\n"
            "    ^bb0(%p: f32, %q: f32, %o: f32):\n      %s = arith.addf %p, %q : f32\n"
            f"{body}  }} -> {t}\n"
        )

    return (
        "#id = affine_map<(i, j) -> (i, j)>\n#bias = affine_map<(i, j) -> (j)>\n"
        f"func.func @mlp(%x: {x}, %w1: {w1}, %b1: tensor<{hidden}xf32>, %w2: {w2}, "
        f"%b2: tensor<{d_out}xf32>) -> {o} {{\n  %zero = arith.constant 0.0 : f32\n"
        + _mm("h", "%x", "%w1", x, w1, h)
        + bias("%hb", "%h", "%b1", h, True)
        + _mm("y", "%hb", "%w2", h, w2, o)
        + bias("%yb", "%y", "%b2", o, False)
        + f"  return %yb : {o}\n}}\n"
    )


class Compiled:
    """An artifact's entry called in-process (its libprog.so), without the
    copies Artifact.run makes."""

    def __init__(self, text: str, work: Path, name: str, **kw: Any):
        art = backend.compile(text, target="host", out=work / name, **kw)
        self.artifact = art
        lib = art.files["shared_library"]
        self.fn = inprocess._entry(lib, art.signature.entry, len(art.signature.buffers))
        self.sig = art.signature

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        outs = [np.zeros(r.shape, r.dtype) for r in self.sig.results]
        self.fn(*(a.ctypes.data_as(ctypes.c_void_p) for a in (*arrays, *outs)))
        return outs


def timeit(fn: Callable[[], Any], seconds: float) -> float:
    fn()
    best, spent = float("inf"), 0.0
    while spent < seconds:
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        best, spent = min(best, took), spent + took
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--chain", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []

    def add(group: str, label: str, seconds: float, flops: float) -> None:
        rows.append(
            {"group": group, "label": label, "seconds": seconds, "gflops": flops / seconds / 1e9}
        )
        print(
            f"{group:<8} {label:<44} {seconds * 1e3:10.3f} ms {flops / seconds / 1e9:8.2f} GFLOP/s"
        )

    def close(got: np.ndarray, want: np.ndarray, what: str, tol: float = 1e-3) -> None:
        if not np.allclose(got, want, rtol=tol, atol=tol * float(np.abs(want).max())):
            raise SystemExit(f"{what}: result does not match numpy")

    with tempfile.TemporaryDirectory(prefix="mlirboot-bench-") as tmp:
        work = Path(tmp)
        n = args.n
        a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
        want = a @ b
        flops = 2.0 * n**3
        for label, kw in (
            ("naive loop nest -O0 (no recognition)", {"opt": "O0"}),
            ("-O2 (raised + matmul schedule)", {"opt": "O2"}),
            ("-O2 --blas (OpenBLAS)", {"opt": "O2", "blas": True}),
        ):
            fn = Compiled(loop_matmul(n), work, f"mm{len(rows)}", **kw)
            c = np.zeros((n, n), np.float32)
            fn(a, b, c)
            close(c, want, label)
            add("matmul", label, timeit(lambda fn=fn, c=c: fn(a, b, c), args.seconds), flops)
        add("matmul", "numpy @ (one thread)", timeit(lambda: a @ b, args.seconds), flops)

        m = args.chain
        ca, cb = (rng.standard_normal((m, m)).astype(np.float32) for _ in range(2))
        cv = rng.standard_normal((m, 2)).astype(np.float32)
        cwant = ca @ (cb @ cv)
        written = 2.0 * (m**3 + m * m * 2)
        for label, opts in (
            ("-O2 without chain reassociation", {"disable_passes": [REASSOCIATE_CHAINS]}),
            ("-O2 (reassociated)", {}),
        ):
            fn = Compiled(chain(m), work, f"chain{len(rows)}", options=opts)
            (got,) = fn(ca, cb, cv)
            close(got, cwant, label)
            add("chain", label, timeit(lambda fn=fn: fn(ca, cb, cv), args.seconds), written)

        shape = (256, 512, 1024, 256)
        x = rng.standard_normal(shape[:2]).astype(np.float32)
        w1 = (rng.standard_normal(shape[1:3]) / 20).astype(np.float32)
        b1 = rng.standard_normal(shape[2]).astype(np.float32)
        w2 = (rng.standard_normal(shape[2:]) / 20).astype(np.float32)
        b2 = rng.standard_normal(shape[3]).astype(np.float32)
        mwant = np.maximum(x @ w1 + b1, 0) @ w2 + b2
        mflops = 2.0 * shape[0] * (shape[1] * shape[2] + shape[2] * shape[3])
        # The CPU pipelines do not fuse (see optimize-unfused in _common.yaml); the
        # fused row runs the plugin's full -O2 sequence in the optimize stage.
        fused = {"stage_passes": {"optimize": [f"func.func({func_passes()})"]}}
        for label, kw in (
            ("-O2 unfused (schedule on whole matmuls)", {}),
            ("-O2 fused (epilogues in matmul tiles)", {"options": fused}),
            ("-O2 --blas", {"blas": True}),
        ):
            fn = Compiled(mlp(*shape), work, f"mlp{len(rows)}", **kw)
            (got,) = fn(x, w1, b1, w2, b2)
            close(got, mwant, label)
            add("mlp", label, timeit(lambda fn=fn: fn(x, w1, b1, w2, b2), args.seconds), mflops)
        add(
            "mlp",
            "numpy (one thread)",
            timeit(lambda: np.maximum(x @ w1 + b1, 0) @ w2 + b2, args.seconds),
            mflops,
        )

    by = {(r["group"], r["label"]): r["seconds"] for r in rows}
    ratios = {
        "O2 vs O0 (naive loop nest)": by[("matmul", "naive loop nest -O0 (no recognition)")]
        / by[("matmul", "-O2 (raised + matmul schedule)")],
        "blas vs O2": by[("matmul", "-O2 (raised + matmul schedule)")]
        / by[("matmul", "-O2 --blas (OpenBLAS)")],
        "chain reassociation speedup": by[("chain", "-O2 without chain reassociation")]
        / by[("chain", "-O2 (reassociated)")],
        "mlp fused vs unfused": by[("mlp", "-O2 unfused (schedule on whole matmuls)")]
        / by[("mlp", "-O2 fused (epilogues in matmul tiles)")],
    }
    for k, v in ratios.items():
        print(f"{k:<32} {v:8.2f}x")
    OUT.mkdir(exist_ok=True)
    (OUT / "backend_opt.json").write_text(
        json.dumps(
            {"n": args.n, "chain": args.chain, "mlp": shape, "rows": rows, "ratios": ratios},
            indent=2,
        )
        + "\n"
    )
    plot(rows, OUT / "backend_opt.png")
    print(f"wrote {OUT / 'backend_opt.json'} and {OUT / 'backend_opt.png'}")
    return 0


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(r["group"] for r in rows))
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 4))
    for ax, group in zip(axes, groups, strict=True):
        sel = [r for r in rows if r["group"] == group]
        ax.barh([r["label"] for r in sel], [r["seconds"] * 1e3 for r in sel])
        ax.set_xscale("log")
        ax.set_xlabel("ms (log, one thread)")
        ax.set_title(group)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    raise SystemExit(main())
