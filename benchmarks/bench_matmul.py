"""matmul 1024x1024x1024 f32, one thread, measured side by side in one run:

  (a) naive loop nest (examples/loop_matmul.mlir's form at 1024), plain scf->llvm, -O3
  (b) linalg.matmul through the transform-dialect schedule (backend/schedules)
  (c) linalg.matmul with the BLAS replacement (shim -> Debian OpenBLAS)
  (d) numpy @ (its bundled OpenBLAS), pinned to one thread with threadpoolctl
  (e) IREE llvm-cpu (PyPI iree-base-compiler/-runtime), local-sync driver (one thread)

plus a skewed matmul chain in both parenthesizations (written by hand, both through
the schedule). Prints a table with ratios, writes benchmarks/out/matmul.json and
matmul.png.

    python benchmarks/bench_matmul.py [--n 1024] [--seconds 1.5]

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed from this process's environment
before any BLAS loads (they slow a current OpenBLAS down); nothing else changes them.
"""

from __future__ import annotations

import os

# Before numpy (or any OpenBLAS) is loaded: these are read once, at library load.
for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_var, None)
os.environ["OPENBLAS_NUM_THREADS"] = "1"  # Debian OpenBLAS (the BLAS row) reads it at load

import argparse  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from mlirboot.backend.schedules import blas, cabi, matmul  # noqa: E402
from mlirboot.bootstrap import proc  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
#: iree.compiler.compile_str flags: llvm-cpu for this host's CPU.
IREE_FLAGS = (
    "--iree-hal-target-device=local",
    "--iree-hal-local-target-device-backends=llvm-cpu",
    "--iree-llvmcpu-target-cpu=host",
)


def loop_matmul(
    n: int,
    *,
    c_interface: bool = True,
    m: int | None = None,
    k: int | None = None,
    dtype: str = "f32",
    batch: int = 0,
) -> str:
    """examples/loop_matmul.mlir scaled: C = A B with A m x k, B k x n (m, k
    default to n), `dtype` f32 or f64, and with `batch` > 0 that many matmuls
    (3-D memrefs, the batch loop outermost); a C interface for ctypes."""
    m, k = m or n, k or n
    lead, at = (f"{batch}x", "%q, ") if batch else ("", "")
    ta, tb, tc = (f"memref<{lead}{r}x{c}x{dtype}>" for r, c in ((m, k), (k, n), (m, n)))
    attrs = " attributes {llvm.emit_c_interface}" if c_interface else ""
    nest = f"""  scf.for %i = %c0 to %m step %c1 {{
    scf.for %j = %c0 to %n step %c1 {{
      %sum = scf.for %p = %c0 to %k step %c1 iter_args(%acc = %zero) -> ({dtype}) {{
        %x = memref.load %A[{at}%i, %p] : {ta}
        %y = memref.load %B[{at}%p, %j] : {tb}
        %xy = arith.mulf %x, %y : {dtype}
        %acc2 = arith.addf %acc, %xy : {dtype}
        scf.yield %acc2 : {dtype}
      }}
      memref.store %sum, %C[{at}%i, %j] : {tc}
    }}
  }}
"""
    if batch:
        nest = (
            f"  %nb = arith.constant {batch} : index\n"
            "  scf.for %q = %c0 to %nb step %c1 {\n"
            + "".join(f"  {line}\n" for line in nest.splitlines())
            + "  }\n"
        )
    return f"""
func.func @mm(%A: {ta}, %B: {tb}, %C: {tc}){attrs} {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant {m} : index
  %n = arith.constant {n} : index
  %k = arith.constant {k} : index
  %zero = arith.constant 0.0 : {dtype}
{nest}  return
}}
"""


def tensor_matmul(
    m: int, n: int, k: int, *, c_interface: bool = True, dtype: str = "f32", batch: int = 0
) -> str:
    """linalg.matmul (linalg.batch_matmul with `batch` > 0) on tensors."""
    lead = f"{batch}x" if batch else ""
    ta, tb, tc = (f"tensor<{lead}{r}x{c}x{dtype}>" for r, c in ((m, k), (k, n), (m, n)))
    op = "linalg.batch_matmul" if batch else "linalg.matmul"
    attrs = " attributes {llvm.emit_c_interface}" if c_interface else ""
    return f"""
func.func @mm(%a: {ta}, %b: {tb}) -> {tc}{attrs} {{
  %zero = arith.constant 0.0 : {dtype}
  %init = tensor.empty() : {tc}
  %acc = linalg.fill ins(%zero : {dtype}) outs(%init : {tc}) -> {tc}
  %r = {op} ins(%a, %b : {ta}, {tb}) outs(%acc : {tc}) -> {tc}
  return %r : {tc}
}}
"""


def chain(m: int, k: int, n: int, p: int, *, left_first: bool) -> str:
    """A[m,k] B[k,n] C[n,p] as (A B) C (left_first) or A (B C): same result, the
    second needs ~(m*k*n)/(k*n*p) times fewer flops when p is small."""

    def t(r: int, c: int) -> str:
        return f"tensor<{r}x{c}xf32>"

    def mm(name: str, x: str, y: str, r: int, s: int, c: int) -> str:
        return (
            f"  %{name}_e = tensor.empty() : {t(r, c)}\n"
            f"  %{name}_z = linalg.fill ins(%zero : f32) outs(%{name}_e : {t(r, c)})"
            f" -> {t(r, c)}\n"
            f"  %{name} = linalg.matmul ins({x}, {y} : {t(r, s)}, {t(s, c)})"
            f" outs(%{name}_z : {t(r, c)}) -> {t(r, c)}\n"
        )

    body = (
        mm("ab", "%a", "%b", m, k, n) + mm("r", "%ab", "%c", m, n, p)
        if left_first
        else mm("bc", "%b", "%c", k, n, p) + mm("r", "%a", "%bc", m, k, p)
    )
    return (
        f"func.func @mm(%a: {t(m, k)}, %b: {t(k, n)}, %c: {t(n, p)}) -> {t(m, p)}"
        " attributes {llvm.emit_c_interface} {\n  %zero = arith.constant 0.0 : f32\n"
        f"{body}  return %r : {t(m, p)}\n}}\n"
    )


def timeit(fn: Callable[[], Any], seconds: float) -> float:
    """Best-of time per call after one warm-up call, over about `seconds`. A call
    slower than the whole budget (the naive loop nest: ~20 s) is timed once."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    if first >= seconds:
        return first
    reps = max(2, min(20, int(seconds / max(first, 1e-6))))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def compile_lib(
    text: str,
    work: Path,
    name: str,
    *,
    tools: matmul.Tools,
    use_blas: bool = False,
    plain: bool = False,
) -> ctypes.CDLL:
    obj = work / f"{name}.o"
    if plain:  # no schedule, no recognition: scf -> LLVM, then the same opt/llc -O3
        src = work / f"{name}.mlir"
        src.write_text(text)
        llvm = work / f"{name}.llvm.mlir"
        proc.run(
            [
                tools.mlir_opt,
                src,
                f"--pass-pipeline={matmul.pass_pipeline(matmul.TO_LLVM)}",
                "-o",
                llvm,
            ],
            stage="bench: plain lowering",
            log_path=work / f"{name}.log",
        )
        wdir = work / f"{name}.work"
        wdir.mkdir(exist_ok=True)
        matmul.llvm_to_object(llvm, obj, tools=tools, workdir=wdir)
    else:
        matmul.lower_to_object(text, obj, tools=tools, blas=use_blas)
    objects, libs = [obj], []
    if use_blas:
        objects.append(blas.build_shim(work / "shim.o", clang=tools.clang))
        libs = blas.link_args()
    return ctypes.CDLL(
        str(cabi.link_shared(objects, work / f"{name}.so", clang=tools.clang, libs=libs))
    )


def iree_time(
    n: int, a: np.ndarray, b: np.ndarray, want: np.ndarray, seconds: float
) -> tuple[float, str]:
    import iree.compiler as ic
    import iree.runtime as rt

    vmfb = ic.compile_str(
        tensor_matmul(n, n, n, c_interface=False),
        target_backends=["llvm-cpu"],
        extra_args=list(IREE_FLAGS),
    )
    module = rt.load_vm_flatbuffer(vmfb, driver="local-sync")  # local-sync: one thread
    got = module.mm(a, b).to_host()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2)
    from importlib.metadata import version

    note = f"iree-base-compiler {version('iree-base-compiler')}, target-cpu=host"
    return timeit(lambda: module.mm(a, b), seconds), note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=1.5, help="time budget per row")
    args = parser.parse_args()
    n = args.n
    flops = 2.0 * n * n * n
    tools = matmul.Tools.find()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    want = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    rows: list[dict[str, Any]] = []

    def add(key: str, label: str, seconds: float, note: str = "") -> None:
        rows.append(
            {
                "key": key,
                "label": label,
                "seconds": seconds,
                "gflops": flops / seconds / 1e9,
                "note": note,
            }
        )

    def check(got: np.ndarray | None, what: str) -> None:
        assert got is not None
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2, err_msg=what)

    with tempfile.TemporaryDirectory(prefix="bench_matmul_") as tmp:
        work = Path(tmp)
        naive = compile_lib(loop_matmul(n), work, "naive", tools=tools, plain=True)
        c = np.zeros((n, n), np.float32)
        add(
            "naive",
            "(a) naive loop nest, scf->llvm -O3",
            timeit(lambda: cabi.call(naive, "mm", [a, b, c]), args.seconds),
        )
        check(c, "naive")  # C = A B (stores, not accumulates): any call leaves it right

        sched = compile_lib(tensor_matmul(n, n, n), work, "sched", tools=tools)
        check(cabi.call(sched, "mm", [a, b], result=(2, np.float32)), "schedule")
        tiling = matmul.Tiling.for_host("f32")
        add(
            "schedule",
            "(b) linalg.matmul, transform schedule",
            timeit(lambda: cabi.call(sched, "mm", [a, b], result=(2, np.float32)), args.seconds),
            f"register tile {tiling.mr}x{tiling.nr}, kc {tiling.kc}",
        )

        blas_lib = compile_lib(tensor_matmul(n, n, n), work, "blas", tools=tools, use_blas=True)
        check(cabi.call(blas_lib, "mm", [a, b], result=(2, np.float32)), "blas")
        add(
            "blas",
            "(c) linalg.matmul -> BLAS replacement",
            timeit(lambda: cabi.call(blas_lib, "mm", [a, b], result=(2, np.float32)), args.seconds),
            "Debian libopenblas, OPENBLAS_NUM_THREADS=1",
        )

        import threadpoolctl

        with threadpoolctl.threadpool_limits(1):
            check(a @ b, "numpy")
            info = [
                f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                f"threads={i.get('num_threads')} ({Path(i.get('filepath', '')).name})"
                for i in threadpoolctl.threadpool_info()
            ]
            add(
                "numpy",
                "(d) numpy @ (OpenBLAS), 1 thread",
                timeit(lambda: a @ b, args.seconds),
                "; ".join(info),
            )

        try:
            seconds, note = iree_time(n, a, b, want, args.seconds)
            add("iree", "(e) IREE llvm-cpu, local-sync", seconds, note)
        except ImportError as exc:
            print(f"IREE row skipped: {exc} (pip install iree-base-compiler iree-base-runtime)")

        # A skewed chain: (A B) C vs A (B C), both through the schedule.
        m, k, nn, p = 512, 1024, 1024, 8
        x = rng.standard_normal((m, k), dtype=np.float32)
        y = rng.standard_normal((k, nn), dtype=np.float32)
        z = rng.standard_normal((nn, p), dtype=np.float32)
        chain_times = {}
        for left in (True, False):
            lib = compile_lib(
                chain(m, k, nn, p, left_first=left),
                work,
                "chain_l" if left else "chain_r",
                tools=tools,
            )
            got = cabi.call(lib, "mm", [x, y, z], result=(2, np.float32))
            np.testing.assert_allclose(got, (x.astype(np.float64) @ y) @ z, rtol=1e-3, atol=0.5)
            chain_times["(AB)C" if left else "A(BC)"] = timeit(
                lambda lib=lib: cabi.call(lib, "mm", [x, y, z], result=(2, np.float32)),
                args.seconds,
            )

    numpy_s = next(r["seconds"] for r in rows if r["key"] == "numpy")
    iree_s = next((r["seconds"] for r in rows if r["key"] == "iree"), None)
    print(f"matmul {n}x{n}x{n} f32, one thread")
    print(f"{'row':<42} {'ms':>9} {'GFLOP/s':>8} {'x numpy':>8} {'x IREE':>7}")
    for r in rows:
        r["x_numpy"] = numpy_s / r["seconds"]
        r["x_iree"] = iree_s / r["seconds"] if iree_s else None
        xi = f"{r['x_iree']:7.2f}" if r["x_iree"] else f"{'-':>7}"
        print(
            f"{r['label']:<42} {r['seconds'] * 1e3:9.1f} {r['gflops']:8.2f} "
            f"{r['x_numpy']:8.2f} {xi}"
        )
    for r in rows:
        if r["note"]:
            print(f"  {r['key']}: {r['note']}")
    speedup = chain_times["(AB)C"] / chain_times["A(BC)"]
    print(
        f"chain {m}x{k} . {k}x{nn} . {nn}x{p} (hand-written parenthesizations, schedule):"
        f" (AB)C {chain_times['(AB)C'] * 1e3:.1f} ms, A(BC) {chain_times['A(BC)'] * 1e3:.1f}"
        f" ms, reassociation speedup x{speedup:.1f}"
    )
    print(
        "fused vs unfused MLP: not measured here (needs backend/passes' fusion pass"
        " wired into a pipeline)"
    )

    OUT.mkdir(parents=True, exist_ok=True)
    result = {
        "n": n,
        "dtype": "f32",
        "threads": 1,
        "rows": rows,
        "chain": {"shapes": [m, k, nn, p], "seconds": chain_times, "speedup": speedup},
    }
    (OUT / "matmul.json").write_text(json.dumps(result, indent=2))
    plot(rows, OUT / "matmul.png", n)
    print(f"wrote {OUT / 'matmul.json'} and {OUT / 'matmul.png'}")
    return 0


def plot(rows: list[dict[str, Any]], path: Path, n: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [r["label"] for r in rows]
    values = [r["gflops"] for r in rows]
    bars = ax.barh(labels[::-1], values[::-1], color="tab:blue")
    for bar, v in zip(bars, values[::-1], strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.1f}", va="center")
    ax.set_xlabel("GFLOP/s (one thread)")
    ax.set_title(f"matmul {n}x{n}x{n} f32")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
