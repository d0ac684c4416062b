"""matmul shape sweep, f32 and f64, on 1 and 2 threads, side by side in one run:

  mlirboot -O2   a matmul written as a loop nest (bench_matmul.loop_matmul), raised
                 and scheduled, --target host, its libprog.so called in-process
                 (inprocess.bind: no copies; threads through libomp)
  mlirboot blas  the same program with --blas (OpenBLAS, its threads set alike)
  numpy          a @ b; threads pinned by threadpoolctl when installed, else in a
                 worker process started with OPENBLAS/OMP/MKL_NUM_THREADS
  jax jit        jax.jit(jnp.matmul) when jax is importable, in a worker process
                 pinned to N CPUs (and one intra-op thread for N = 1)
  iree           IREE llvm-cpu, local-sync driver (one thread only), when importable

Shapes: squares 64..2048, odd sizes (1000^3, 37x1024x53), skinny (2048x64x2048,
1x1024x1024) and a batch matmul (--quick: a small subset). For each shape and
dtype the contestants take turns (rounds x thread counts x contestants), so a
change in machine load hits them all; min and median GFLOP/s per contestant, and
the ratio to numpy at the same dtype and thread count (numpy time / its time,
from the minima and from the medians). Every contestant's result is checked
against a float64 numpy product. Writes --out (JSON) and, when matplotlib is
importable, the same path with .png.

    python benchmarks/bench_matmul_sweep.py [--quick] [--out FILE.json] [--rounds 3]
        [--seconds 0.4] [--threads 1,2]

These machines are shared: say how loaded the machine was (the load averages
printed) with the figures.
"""

from __future__ import annotations

import os

# Before numpy (or any OpenBLAS) is loaded: these are read once, at library load.
for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_var, None)

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import bench_matmul  # noqa: E402 (beside this file: loop nest, tensor program, IREE flags)
import numpy as np  # noqa: E402

OUT = bench_matmul.OUT / "matmul_sweep.json"
DTYPES = {"f32": np.float32, "f64": np.float64}
TOLERANCE = {"f32": 1e-3, "f64": 1e-9}  # relative to the result's largest magnitude


@dataclass(frozen=True)
class Shape:
    m: int
    k: int
    n: int
    batch: int = 0

    @property
    def label(self) -> str:
        core = f"{self.m}^3" if self.m == self.k == self.n else f"{self.m}x{self.k}x{self.n}"
        return f"{self.batch}x {core}" if self.batch else core

    @property
    def flops(self) -> float:
        return 2.0 * max(self.batch, 1) * self.m * self.k * self.n

    def operands(self, dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        lead = (self.batch,) if self.batch else ()
        a = rng.standard_normal((*lead, self.m, self.k)).astype(DTYPES[dtype])
        b = rng.standard_normal((*lead, self.k, self.n)).astype(DTYPES[dtype])
        return a, b


FULL = (
    *(Shape(s, s, s) for s in (64, 128, 256, 512, 1024, 2048)),
    Shape(1000, 1000, 1000),
    Shape(37, 1024, 53),
    Shape(2048, 64, 2048),
    Shape(1, 1024, 1024),
    Shape(256, 256, 256, batch=8),
)
QUICK = (
    Shape(64, 64, 64),
    Shape(512, 512, 512),
    Shape(37, 1024, 53),
    Shape(1, 1024, 1024),
    Shape(128, 128, 128, batch=4),
)


def reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a.astype(np.float64), b.astype(np.float64))


def mismatch(got: np.ndarray, want: np.ndarray, dtype: str) -> str | None:
    """None when `got` matches the float64 product, else what differs."""
    tol = TOLERANCE[dtype]
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    scale = float(np.abs(want).max()) or 1.0
    if not np.allclose(got, want, rtol=tol, atol=tol * scale):
        return f"max abs error {float(np.abs(got - want).max()):.3g} (scale {scale:.3g})"
    return None


# Before a turn on more than one thread: long enough for the previous
# contestant's idle workers to stop spinning (libomp's KMP_BLOCKTIME is 200 ms,
# OpenBLAS and XLA spin about as long). A turn of short calls (4 x 128^3: 30
# calls in 6 ms) otherwise shares the second core with them and measured 55
# GFLOP/s on 2 threads where the same calls alone run at 96-127.
QUIESCE = 0.25


def sample(fn: Callable[[], Any], seconds: float, most: int = 30) -> list[float]:
    """Seconds per call: at least two calls, more while within `seconds`."""
    times: list[float] = []
    while len(times) < 2 or (sum(times) < seconds and len(times) < most):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


# --- contestants --------------------------------------------------------------
# prepare(shape, dtype, a, b, want) -> a Timer (or a reason to skip the shape);
# Timer.times(threads, seconds) -> seconds per call, the result checked once per
# thread count first.


class Skip(Exception):
    """This contestant does not run this case (the reason is printed)."""


class Timer:
    def __init__(
        self,
        make: Callable[[int], tuple[Callable[[], Any], Callable[[], np.ndarray]]],
        turn: Callable[[int], Any] | None = None,
    ) -> None:
        self._make = make  # threads -> (call, result of the last call)
        self._turn = turn  # threads -> None: run before each turn (numpy's thread limit)
        self._ready: dict[int, Callable[[], Any]] = {}

    def times(self, threads: int, seconds: float, want: np.ndarray, dtype: str) -> list[float]:
        if self._turn is not None:
            self._turn(threads)
        if threads not in self._ready:
            call, result = self._make(threads)
            call()  # warm-up, and the result to check
            wrong = mismatch(np.asarray(result()), want, dtype)
            if wrong:
                raise AssertionError(wrong)
            self._ready[threads] = call
        return sample(self._ready[threads], seconds)


class Mlirboot:
    def __init__(self, work: Path, blas: bool) -> None:
        self.name = "mlirboot blas" if blas else "mlirboot -O2"
        self.blas = blas
        self.work = work

    def prepare(self, shape: Shape, dtype: str, a: np.ndarray, b: np.ndarray) -> Timer:
        from mlirboot import backend
        from mlirboot.backend import inprocess

        text = bench_matmul.loop_matmul(
            shape.n, m=shape.m, k=shape.k, dtype=dtype, batch=shape.batch, c_interface=False
        )
        slug = re.sub(r"\W+", "-", f"{self.name}-{shape.label}-{dtype}")
        art = backend.compile(text, target="host", out=self.work / slug, blas=self.blas)
        library = art.files["shared_library"]

        def make(threads: int) -> tuple[Callable[[], Any], Callable[[], np.ndarray]]:
            run, buffers = inprocess.bind(
                library, art.signature.entry, art.signature.buffers, threads
            )
            np.copyto(buffers[0], a)
            np.copyto(buffers[1], b)
            return run, lambda: buffers[2]  # C = A B (stored, not accumulated)

        return Timer(make)


class NumpyInProcess:
    name = "numpy"

    def __init__(self) -> None:
        import threadpoolctl

        self._limits = threadpoolctl.threadpool_limits
        self.note = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
            for i in threadpoolctl.threadpool_info()
        )

    def prepare(self, shape: Shape, dtype: str, a: np.ndarray, b: np.ndarray) -> Timer:
        def make(threads: int) -> tuple[Callable[[], Any], Callable[[], np.ndarray]]:
            out: list[np.ndarray] = []

            def call() -> None:
                out[:] = [a @ b]

            return call, lambda: out[0]

        # The thread limit is set once per turn, not per call: entering
        # threadpool_limits costs about 0.3 ms (it inspects every loaded
        # library), more than a 64^3 product.
        return Timer(make, turn=lambda threads: self._limits(threads))


class Worker:
    """A contestant in a process of its own per thread count (numpy without
    threadpoolctl, jax): started once, asked for one case at a time over its
    stdin/stdout (JSON lines); it checks its own result against float64 numpy."""

    def __init__(self, kind: str) -> None:
        self.name = {"numpy": "numpy", "jax": "jax jit"}[kind]
        self.kind = kind
        self.note = ""
        self._procs: dict[int, subprocess.Popen[str]] = {}

    def start(self, threads: int) -> subprocess.Popen[str]:
        if threads not in self._procs:
            env = dict(os.environ)
            if self.kind == "numpy":
                for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                    env[var] = str(threads)
            cmd = [sys.executable, __file__, "--worker", self.kind, "--threads", str(threads)]
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
            )
            self._procs[threads] = proc
            hello = self.read(proc)
            if "error" in hello:
                raise Skip(hello["error"])
            self.note = hello.get("note", "")
        return self._procs[threads]

    @staticmethod
    def read(proc: subprocess.Popen[str]) -> dict[str, Any]:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise Skip("the worker process exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def prepare(self, shape: Shape, dtype: str, a: np.ndarray, b: np.ndarray) -> RemoteTimer:
        return RemoteTimer(self, shape)

    def close(self) -> None:
        for proc in self._procs.values():
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=60)


class RemoteTimer:
    """Timer's interface for a Worker: the worker process times and checks."""

    def __init__(self, worker: Worker, shape: Shape) -> None:
        self.worker, self.shape = worker, shape

    def times(self, threads: int, seconds: float, want: np.ndarray, dtype: str) -> list[float]:
        proc = self.worker.start(threads)
        assert proc.stdin is not None
        request = {"shape": asdict(self.shape), "dtype": dtype, "seconds": seconds}
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        answer = self.worker.read(proc)
        if "error" in answer:
            raise AssertionError(answer["error"])
        times: list[float] = answer["times"]
        return times


class Iree:
    name = "iree"

    def __init__(self) -> None:
        from importlib.metadata import version

        import iree.compiler
        import iree.runtime

        del iree  # imported to skip this contestant (ImportError) when absent

        self.note = f"iree-base-compiler {version('iree-base-compiler')}, local-sync"

    def prepare(self, shape: Shape, dtype: str, a: np.ndarray, b: np.ndarray) -> Timer:
        import iree.compiler as ic
        import iree.runtime as rt

        text = bench_matmul.tensor_matmul(
            shape.m, shape.n, shape.k, dtype=dtype, batch=shape.batch, c_interface=False
        )
        vmfb = ic.compile_str(
            text, target_backends=["llvm-cpu"], extra_args=list(bench_matmul.IREE_FLAGS)
        )
        module = rt.load_vm_flatbuffer(vmfb, driver="local-sync")

        def make(threads: int) -> tuple[Callable[[], Any], Callable[[], np.ndarray]]:
            if threads != 1:
                raise Skip("IREE local-sync runs on one thread")
            out: list[Any] = []

            def call() -> None:
                out[:] = [module.mm(a, b)]

            return call, lambda: out[0].to_host()

        return Timer(make)


def contestants(work: Path) -> Iterator[Any]:
    yield Mlirboot(work, blas=False)
    yield Mlirboot(work, blas=True)
    try:
        yield NumpyInProcess()
    except ImportError:
        print("numpy: threadpoolctl is not installed; numpy runs in worker processes")
        yield Worker("numpy")
    try:
        import jax  # noqa: F401

        yield Worker("jax")
    except ImportError as exc:
        print(f"jax jit skipped: {exc} (pip install jax)")
    try:
        yield Iree()
    except ImportError as exc:
        print(f"iree skipped: {exc} (pip install iree-base-compiler iree-base-runtime)")


# --- the worker side ------------------------------------------------------------


def worker_main(kind: str, threads: int) -> int:
    call: Callable[[np.ndarray, np.ndarray], Any]
    note = ""
    try:
        if kind == "jax":
            cpus = sorted(os.sched_getaffinity(0))[:threads]
            os.sched_setaffinity(0, cpus)
            if threads == 1:
                os.environ["XLA_FLAGS"] = (
                    os.environ.get("XLA_FLAGS", "")
                    + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
                )
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_enable_x64", True)  # f64 cases
            jitted = jax.jit(jnp.matmul)
            note = f"jax {jax.__version__}, CPUs {cpus}"

            def call(x: Any, y: Any) -> Any:
                return jitted(x, y).block_until_ready()

            put = jax.device_put
        else:
            note = f"numpy {np.__version__}, *_NUM_THREADS={threads}"

            def call(x: Any, y: Any) -> Any:
                return x @ y

            def put(x: Any) -> Any:
                return x
    except Exception as exc:  # an unusable install: the parent skips this contestant
        print(json.dumps({"error": f"{kind}: {exc}"}), flush=True)
        return 0
    print(json.dumps({"ready": True, "note": note}), flush=True)
    cases: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        shape, dtype = Shape(**request["shape"]), request["dtype"]
        key = f"{shape}-{dtype}"
        if key not in cases:
            cases.clear()  # one case's arrays at a time
            a, b = shape.operands(dtype)
            x, y = put(a), put(b)
            wrong = mismatch(np.asarray(call(x, y)), reference(a, b), dtype)
            if wrong:
                print(json.dumps({"error": wrong}), flush=True)
                continue
            cases[key] = (x, y)
        x, y = cases[key]
        times = sample(lambda x=x, y=y: call(x, y), request["seconds"])
        print(json.dumps({"times": times}), flush=True)
    return 0


# --- the sweep ------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset of the shapes")
    parser.add_argument("--out", type=Path, default=OUT, help=f"JSON file (default {OUT})")
    parser.add_argument("--rounds", type=int, default=3, help="turns per contestant")
    parser.add_argument("--seconds", type=float, default=0.4, help="time budget per turn")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--dtypes", default="f32,f64")
    parser.add_argument("--worker", choices=("numpy", "jax"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if args.worker:
        return worker_main(args.worker, threads[0])
    dtypes = args.dtypes.split(",")
    shapes = QUICK if args.quick else FULL
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-matmul-sweep-") as tmp:
        racers = list(contestants(Path(tmp)))
        try:
            for shape in shapes:
                for dtype in dtypes:
                    rows += measure(shape, dtype, racers, threads, args, failures)
        finally:
            for racer in racers:
                if isinstance(racer, Worker):
                    racer.close()
    load_after = os.getloadavg()
    add_ratios(rows)
    report(rows, threads, dtypes, load_before, load_after)
    notes = {r.name: getattr(r, "note", "") for r in racers}
    for name, note in notes.items():
        if note:
            print(f"  {name}: {note}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "cpus": len(os.sched_getaffinity(0)),
                "loadavg": [load_before, load_after],
                "args": {k: str(v) for k, v in vars(args).items()},
                "notes": notes,
                "rows": rows,
                "failures": failures,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {args.out}")
    plot(rows, threads, dtypes, args.out.with_suffix(".png"))
    for failure in failures:
        print(f"MISMATCH {failure}")
    return 1 if failures else 0


def measure(
    shape: Shape,
    dtype: str,
    racers: list[Any],
    threads: list[int],
    args: argparse.Namespace,
    failures: list[str],
) -> list[dict[str, Any]]:
    a, b = shape.operands(dtype)
    want = reference(a, b)
    timers: dict[str, Timer | RemoteTimer] = {}
    for racer in racers:
        try:
            timers[racer.name] = racer.prepare(shape, dtype, a, b)
        except Skip as why:
            print(f"{racer.name} skipped on {shape.label} {dtype}: {why}")
    times: dict[tuple[str, int], list[float]] = {}
    skipped: set[tuple[str, int]] = set()
    for _ in range(args.rounds):  # interleaved: each round, every contestant in turn
        for t in threads:
            for name, timer in timers.items():
                if (name, t) in skipped:
                    continue
                if t > 1:
                    time.sleep(QUIESCE)
                try:
                    times.setdefault((name, t), []).extend(
                        timer.times(t, args.seconds, want, dtype)
                    )
                except Skip as why:
                    skipped.add((name, t))
                    print(f"{name} skipped on {shape.label} {dtype}, {t} threads: {why}")
                except AssertionError as wrong:
                    skipped.add((name, t))
                    failures.append(f"{name} {shape.label} {dtype} {t} threads: {wrong}")
    rows = []
    for (name, t), ts in times.items():
        if (name, t) in skipped and not ts:
            continue
        rows.append(
            {
                "shape": shape.label,
                "mkn": [shape.m, shape.k, shape.n],
                "batch": shape.batch,
                "dtype": dtype,
                "threads": t,
                "contestant": name,
                "calls": len(ts),
                "min_s": min(ts),
                "median_s": statistics.median(ts),
                "gflops_min": shape.flops / min(ts) / 1e9,  # from the fastest call
                "gflops_median": shape.flops / statistics.median(ts) / 1e9,
            }
        )
    return rows


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """x_numpy: numpy's time / the contestant's (same shape, dtype, threads)."""
    numpy = {(r["shape"], r["dtype"], r["threads"]): r for r in rows if r["contestant"] == "numpy"}
    for r in rows:
        base = numpy.get((r["shape"], r["dtype"], r["threads"]))
        r["x_numpy_min"] = base["min_s"] / r["min_s"] if base else None
        r["x_numpy_median"] = base["median_s"] / r["median_s"] if base else None


def report(
    rows: list[dict[str, Any]],
    threads: list[int],
    dtypes: list[str],
    before: tuple[float, float, float],
    after: tuple[float, float, float],
) -> None:
    print(
        f"\nmatmul sweep, {len(os.sched_getaffinity(0))} CPUs; 1-minute load average "
        f"{before[0]:.2f} before, {after[0]:.2f} after"
    )
    print("GFLOP/s from the fastest / the median call; (x numpy) from the same statistic")
    names = list(dict.fromkeys(r["contestant"] for r in rows))
    for dtype in dtypes:
        for t in threads:
            print(f"\n{dtype}, {t} thread{'s' if t > 1 else ''}")
            print(f"{'shape':<18}" + "".join(f"{n:>28}" for n in names))
            for shape in dict.fromkeys(r["shape"] for r in rows):
                cells = []
                for name in names:
                    r = next(
                        (
                            r
                            for r in rows
                            if (r["shape"], r["dtype"], r["threads"], r["contestant"])
                            == (shape, dtype, t, name)
                        ),
                        None,
                    )
                    if r is None:
                        cells.append(f"{'-':>28}")
                        continue
                    ratio = (
                        f" ({r['x_numpy_min']:.2f}/{r['x_numpy_median']:.2f}x)"
                        if r["x_numpy_min"] is not None and name != "numpy"
                        else ""
                    )
                    cells.append(f"{r['gflops_min']:>8.1f}/{r['gflops_median']:<6.1f}{ratio:>14}")
                print(f"{shape:<18}" + "".join(cells))


def plot(rows: list[dict[str, Any]], threads: list[int], dtypes: list[str], path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("no PNG: matplotlib is not installed")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    names = list(dict.fromkeys(r["contestant"] for r in rows))
    fig, axes = plt.subplots(
        len(dtypes), len(threads), figsize=(6 * len(threads), 3.5 * len(dtypes)), squeeze=False
    )
    width = 0.8 / max(len(names), 1)
    for i, dtype in enumerate(dtypes):
        for j, t in enumerate(threads):
            ax = axes[i][j]
            for c, name in enumerate(names):
                values = [
                    next(
                        (
                            r["gflops_min"]
                            for r in rows
                            if (r["shape"], r["dtype"], r["threads"], r["contestant"])
                            == (s, dtype, t, name)
                        ),
                        0.0,
                    )
                    for s in shapes
                ]
                ax.bar([x + c * width for x in range(len(shapes))], values, width, label=name)
            ax.set_xticks([x + 0.4 - width / 2 for x in range(len(shapes))])
            ax.set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
            ax.set_title(f"{dtype}, {t} thread{'s' if t > 1 else ''}")
            ax.set_ylabel("GFLOP/s (fastest call)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
