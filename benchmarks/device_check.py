"""Run the nvidia-target test programs on a real NVIDIA GPU, from artifacts
compiled on a CPU machine (issue 12).

On the CPU machine (has mlirboot, LLVM 22, ptxas; no GPU):

    python benchmarks/device_check.py --prepare build/device-bundle --toolchain PREFIX

(PREFIX: a toolchain with the nvidia device runtimes, from `mlirboot configure
--target nvidia && mlirboot build devicertl-nvptx64-nvidia-cuda`) compiles
tests/backend/gpu_programs/{softmax,layernorm,mlp_relu}.mlir, a
4096^3 f32 matmul and a 4096x4096 softmax (elementwise + reductions) for
`--target nvidia` into DIR/artifacts/<name>/, and copies the shared libraries
the executables load (libomptarget, liboffload = libLLVMOffload, which holds
the CUDA plugin and is dlopened, libomp, libLLVM and their non-glibc
dependencies, found with ldd) into DIR/lib. libLLVM alone is ~143 MiB, so
when the libraries exceed 64 MiB they are packed as DIR/lib.tar.xz instead.
`build/` is git-ignored. The GPU machine needs only Python + numpy (torch for
the comparison) and the NVIDIA driver (libcuda.so.1): nothing is fetched.

On the GPU machine:

    python benchmarks/device_check.py [--bundle build/device-bundle] [--timeout 600]

checks that a GPU is visible (else one line, exit 3), unpacks the libraries,
runs each artifact's `prog` with OMP_TARGET_OFFLOAD=MANDATORY and
LD_LIBRARY_PATH=<bundle>/lib, compares the results with numpy, and times the
matmul and the big softmax against torch (TF32 off). Prints a table and writes
DIR/results.json.

What to expect: each parallel loop nest is an SPMD kernel over teams and
threads (the code between nests runs in Generic-mode kernels), but there is no
GPU matmul schedule yet (no shared-memory tiles), so the 4096^3 matmul is
expected to be well below cuBLAS; this script measures that, it does not hide it. The prog's wall
time includes the offload runtime's start-up and the host<->device copies;
the `empty` row (a 1-element program) measures that overhead.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GPU_PROGRAMS = REPO / "tests" / "backend" / "gpu_programs"
LLVM_LIB = Path("/usr/lib/llvm-22/lib")
LIMIT = 64 * 1024 * 1024
#: glibc and the driver: the GPU machine's own (never bundled).
SYSTEM_LIBS = (
    "libc.so",
    "libm.so",
    "libdl.so",
    "libpthread.so",
    "librt.so",
    "ld-linux",
    "linux-vdso",
    "libcuda.so",
    "libnvidia-",
)
MATMUL_N = 4096
BIG_SOFTMAX = (4096, 4096)

MATMUL = """// C = A @ B, f32 {n}x{n}x{n}.
func.func @matmul(%a: tensor<{n}x{n}xf32>, %b: tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{n}x{n}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  %c = linalg.matmul ins(%a, %b : tensor<{n}x{n}xf32>, tensor<{n}x{n}xf32>)
                     outs(%f : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  return %c : tensor<{n}x{n}xf32>
}}
"""

EMPTY = """// One element: the offload runtime's start-up + copies, no work.
func.func @empty(%x: tensor<1xf32>) -> tensor<1xf32> {
  return %x : tensor<1xf32>
}
"""


def fail(message: str, code: int = 3) -> None:
    print(f"device_check: error: {message}", file=sys.stderr)
    raise SystemExit(code)


# --------------------------------------------------------------- --prepare


def _sources(work: Path) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    sources = {name: GPU_PROGRAMS / f"{name}.mlir" for name in ("softmax", "layernorm", "mlp_relu")}
    rows, cols = BIG_SOFTMAX
    big = (GPU_PROGRAMS / "softmax.mlir").read_text()
    big = big.replace("64x256", f"{rows}x{cols}").replace("tensor<64xf32>", f"tensor<{rows}xf32>")
    big = big.replace("f32[64,256]", f"f32[{rows},{cols}]")
    for name, text in (
        ("softmax_big", big),
        ("matmul4096", MATMUL.format(n=MATMUL_N)),
        ("empty", EMPTY),
    ):
        path = work / f"{name}.mlir"
        path.write_text(text)
        sources[name] = path
    return sources


def _ldd(path: Path) -> list[Path]:
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split("=>")
        if len(parts) == 2 and parts[1].strip().startswith("/"):
            found.append(Path(parts[1].split("(")[0].strip()))
    return found


def _bundle_libs(executables: list[Path]) -> list[Path]:
    roots = list(executables)
    # dlopened by libomptarget: liboffload with the CUDA plugin.
    roots += sorted(LLVM_LIB.glob("libLLVMOffload.so*"))
    roots += sorted(LLVM_LIB.glob("libomptarget*.so*"))
    libs: dict[str, Path] = {}
    for root in roots:
        if root.suffix != "" and ".so" in root.name:
            libs.setdefault(root.name, root)
        for dep in _ldd(root):
            if not any(dep.name.startswith(s) for s in SYSTEM_LIBS):
                libs.setdefault(dep.name, dep)
    return [libs[k] for k in sorted(libs) if not any(k.startswith(s) for s in SYSTEM_LIBS)]


def prepare(out: Path, toolchain: Path | None) -> int:
    from mlirboot.backend.driver import compile_program

    out.mkdir(parents=True, exist_ok=True)
    arts = out / "artifacts"
    shutil.rmtree(arts, ignore_errors=True)
    arts.mkdir()
    executables = []
    for name, src in _sources(out / "src").items():
        t0 = time.perf_counter()
        art = compile_program(src, target="nvidia", out=arts / name, toolchain=toolchain)
        executables.append(art.path / "prog")
        print(f"compiled {name:12s} for nvidia in {time.perf_counter() - t0:5.1f} s -> {art.path}")
    shutil.copy2(GPU_PROGRAMS / "models.py", out / "models.py")

    lib = out / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    (out / "lib.tar.xz").unlink(missing_ok=True)
    lib.mkdir()
    total = 0
    for path in _bundle_libs(executables):
        shutil.copy2(path.resolve(), lib / path.name)
        total += (lib / path.name).stat().st_size
    names = sorted(p.name for p in lib.iterdir())
    packed = None
    if total > LIMIT:
        packed = out / "lib.tar.xz"
        t0 = time.perf_counter()
        if shutil.which("xz"):
            with open(packed, "wb") as fh:
                tar = subprocess.Popen(
                    ["tar", "-C", str(out), "-cf", "-", "lib"], stdout=subprocess.PIPE
                )
                subprocess.run(["xz", "-T0", "-6", "-c"], stdin=tar.stdout, stdout=fh, check=True)
                if tar.wait() != 0:
                    fail("tar failed while packing the libraries", 1)
        else:
            with tarfile.open(packed, "w:xz") as tf:
                tf.add(lib, arcname="lib")
        shutil.rmtree(lib)
        print(
            f"packed {total / 2**20:.1f} MiB of libraries into {packed.name} "
            f"({packed.stat().st_size / 2**20:.1f} MiB, {time.perf_counter() - t0:.0f} s)"
        )
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    meta = {
        "libraries": names,
        "libraries_bytes": total,
        "packed": bool(packed),
        "bundle_bytes": size,
        "artifacts": sorted(p.name for p in arts.iterdir()),
    }
    (out / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"bundle {out}: {len(names)} libraries, {size / 2**20:.1f} MiB in all "
        f"({'under' if size <= LIMIT else 'OVER'} 64 MiB)"
    )
    return 0


# --------------------------------------------------------------- run on a GPU


def gpu_count() -> tuple[int, str]:
    """NVIDIA devices the driver sees (cuInit + cuDeviceGetCount), and why 0."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as err:
        return 0, f"no NVIDIA driver (libcuda.so.1: {err})"
    rc = cuda.cuInit(0)
    if rc != 0:
        return 0, f"cuInit failed with CUDA error {rc} (no usable GPU or driver)"
    count = ctypes.c_int(0)
    rc = cuda.cuDeviceGetCount(ctypes.byref(count))
    if rc != 0 or count.value == 0:
        return 0, f"the CUDA driver sees no device (cuDeviceGetCount: rc {rc}, {count.value})"
    return count.value, ""


def _libs(bundle: Path) -> Path:
    lib = bundle / "lib"
    packed = bundle / "lib.tar.xz"
    if not lib.is_dir():
        if not packed.exists():
            fail(f"{bundle} has neither lib/ nor lib.tar.xz: run --prepare on the CPU machine", 2)
        with lzma.open(packed) as xz, tarfile.open(fileobj=xz, mode="r|") as tf:
            tf.extractall(bundle, filter="data")
    return lib


def _signature(art: Path) -> dict:
    return json.loads((art / "artifact.json").read_text())["signature"]


def run_prog(
    art: Path, lib: Path, inputs: list[np.ndarray], timeout: float
) -> tuple[list[np.ndarray] | None, float, str]:
    sig = _signature(art)
    buffers = sig["args"] + sig["results"]
    env = dict(
        os.environ,
        OMP_TARGET_OFFLOAD="MANDATORY",
        LD_LIBRARY_PATH=f"{lib}:{os.environ.get('LD_LIBRARY_PATH', '')}".rstrip(":"),
    )
    with tempfile.TemporaryDirectory(prefix="device-check-") as tmp:
        io = Path(tmp)
        for i, arr in enumerate(inputs):
            (io / f"arg{i}.bin").write_bytes(np.ascontiguousarray(arr, np.float32).tobytes())
        t0 = time.perf_counter()
        try:
            res = subprocess.run(
                [str(art / "prog"), str(io)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None, time.perf_counter() - t0, f"timed out after {timeout:.0f} s"
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            tail = (res.stdout + res.stderr).strip().splitlines()[-3:]
            return None, wall, f"exit {res.returncode}: {' | '.join(tail)}"
        outs = []
        for i, buf in enumerate(buffers):
            data = (io / f"out{i}.bin").read_bytes()
            outs.append(np.frombuffer(data, dtype=buf["dtype"]).reshape(buf["shape"]).copy())
    return outs[len(sig["args"]) :], wall, "ok"


def _torch_time(fn, repeats: int = 5) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def check(bundle: Path, timeout: float, skip_matmul: bool) -> int:
    count, why = gpu_count()
    if count == 0:
        fail(f"no NVIDIA GPU visible: {why}")
    sys.path.insert(0, str(bundle))
    import models  # the copy --prepare wrote next to the artifacts

    lib = _libs(bundle)
    arts = bundle / "artifacts"
    rows = []
    rng = np.random.default_rng(0)
    for name in ("empty", *models.PROGRAMS):
        if name == "empty":
            inputs, expected = [np.ones(1, np.float32)], [np.ones(1, np.float32)]
        else:
            inputs, expected = models.inputs_for(name, seed=1)
        got, wall, status = run_prog(arts / name, lib, inputs, timeout)
        rows.append(_row(name, got, expected, wall, status, None))

    rows_big, cols_big = BIG_SOFTMAX
    x = (rng.standard_normal(BIG_SOFTMAX) * 4).astype(np.float32)
    got, wall, status = run_prog(arts / "softmax_big", lib, [x], timeout)
    torch_s = _torch_softmax(x)
    rows.append(
        _row(
            f"softmax {rows_big}x{cols_big}",
            got,
            [models.softmax(x.astype(np.float64)).astype(np.float32)],
            wall,
            status,
            torch_s,
        )
    )

    if not skip_matmul:
        n = MATMUL_N
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        got, wall, status = run_prog(arts / "matmul4096", lib, [a, b], timeout)
        torch_s, ref = _torch_matmul(a, b)
        if ref is None:
            ref = a @ b
        rows.append(_row(f"matmul {n}^3", got, [ref], wall, status, torch_s, tol=(1e-3, 1e-2)))

    print(
        f"{'program':20s} {'status':10s} {'max |err|':>10s} {'prog wall s':>12s} {'torch s':>10s}"
    )
    for r in rows:
        err = "-" if r["max_abs_err"] is None else f"{r['max_abs_err']:.2e}"
        torch_s = "-" if r["torch_s"] is None else f"{r['torch_s']:.4f}"
        print(f"{r['program']:20s} {r['status']:10s} {err:>10s} {r['wall_s']:12.3f} {torch_s:>10s}")
    (bundle / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def _row(name, got, expected, wall, status, torch_s, tol=(2e-5, 2e-5)) -> dict:
    err = None
    if got is not None:
        err = float(np.max(np.abs(got[0].astype(np.float64) - expected[0])))
        if not np.allclose(got[0], expected[0], rtol=tol[0], atol=tol[1]):
            status = "MISMATCH"
    return {
        "program": name,
        "status": status.split(":")[0] if status != "ok" else "ok",
        "detail": status,
        "max_abs_err": err,
        "wall_s": wall,
        "torch_s": torch_s,
    }


def _torch_matmul(a: np.ndarray, b: np.ndarray):
    try:
        import torch
    except ImportError:
        return None, None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
    seconds = _torch_time(lambda: torch.matmul(ta, tb))
    return seconds, torch.matmul(ta, tb).cpu().numpy()


def _torch_softmax(x: np.ndarray) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    tx = torch.from_numpy(x).cuda()
    return _torch_time(lambda: torch.softmax(tx, dim=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--prepare",
        metavar="DIR",
        type=Path,
        help="CPU machine: compile the artifacts and bundle the libraries",
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        default=REPO / "build" / "device-bundle",
        help="GPU machine: the folder --prepare wrote",
    )
    parser.add_argument(
        "--toolchain",
        type=Path,
        help="with --prepare: the toolchain prefix holding the nvidia device runtimes",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="per program, seconds")
    parser.add_argument("--skip-matmul", action="store_true", help="leave out the 4096^3 matmul")
    args = parser.parse_args(argv)
    if args.prepare:
        return prepare(args.prepare.resolve(), args.toolchain)
    return check(args.bundle.resolve(), args.timeout, args.skip_matmul)


if __name__ == "__main__":
    raise SystemExit(main())
