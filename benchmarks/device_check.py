"""Run the nvidia-target test programs on a real NVIDIA GPU, from artifacts
compiled on a CPU machine (issue 12).

On the CPU machine (has mlirboot, LLVM 22, ptxas; no GPU):

    python benchmarks/device_check.py --prepare build/device-bundle --toolchain PREFIX

(PREFIX: a toolchain with the nvidia device runtimes, from `mlirboot configure
--target nvidia && mlirboot build devicertl-nvptx64-nvidia-cuda`) compiles
tests/backend/gpu_programs/{softmax,layernorm,mlp_relu}.mlir, three
smaller matmuls checked against numpy (f32 and f64 on the GPU schedule's
tiles, odd sizes off them), 4096^3 f32 and f64 matmuls and a 4096x4096
softmax (elementwise + reductions) for
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
threads (the code between nests runs in Generic-mode kernels). A static
matmul whose sizes are multiples of the block tile gets the GPU schedule
(mlirboot-gpu-matmul: 128x128 team tiles staged in team-shared memory, 8x8
register tiles per thread); the rest runs one element per loop iteration.
Artifacts placed beside matmul4096 as matmul4096-NAME (the same program
compiled with other tile sizes) are timed too. `call s` is the launcher's
best call after the first (MLIRBOOT_REPEAT; host<->device copies included);
`kernels s` the sum of the kernels' GPU times read by Nsight Compute (ncu,
where it can read the counters), compared with torch's kernel time
(torch.matmul with TF32 off: cuBLAS). The `empty` row (a 1-element program)
measures the runtime's start-up.
"""

from __future__ import annotations

import argparse
import csv
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
#: An odd size for the GPU schedule's edge tiles (off the 128 x 128 x 32 tile).
ODD_N = 4000
BIG_SOFTMAX = (4096, 4096)

MATMUL = """// C = A @ B, {t} {m}x{k}x{n}.
func.func @matmul(%a: tensor<{m}x{k}x{t}>, %b: tensor<{k}x{n}x{t}>) -> tensor<{m}x{n}x{t}> {{
  %zero = arith.constant 0.0 : {t}
  %e = tensor.empty() : tensor<{m}x{n}x{t}>
  %f = linalg.fill ins(%zero : {t}) outs(%e : tensor<{m}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
  %c = linalg.matmul ins(%a, %b : tensor<{m}x{k}x{t}>, tensor<{k}x{n}x{t}>)
                     outs(%f : tensor<{m}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
  return %c : tensor<{m}x{n}x{t}>
}}
"""
BATCH_MATMUL = """// C[i] = A[i] @ B[i], f32 {b}x{m}x{k}x{n}.
func.func @bmm(%a: tensor<{b}x{m}x{k}xf32>,
               %b: tensor<{b}x{k}x{n}xf32>) -> tensor<{b}x{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{b}x{m}x{n}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{b}x{m}x{n}xf32>) -> tensor<{b}x{m}x{n}xf32>
  %c = linalg.batch_matmul ins(%a, %b : tensor<{b}x{m}x{k}xf32>, tensor<{b}x{k}x{n}xf32>)
                           outs(%f : tensor<{b}x{m}x{n}xf32>) -> tensor<{b}x{m}x{n}xf32>
  return %c : tensor<{b}x{m}x{n}xf32>
}}
"""
#: Batch matmuls: one checked against numpy (on the schedule's tiles), one
#: timed against torch.bmm.
BMM_CHECK = (3, 256, 128, 384)
BMM_TIMED = (16, 1024, 1024, 1024)

CONV = """// out = conv_2d_nhwc_hwcf(x, f), f32, strides {s}, dilations {d}.
func.func @conv(%x: tensor<{n}x{h}x{w}x{c}xf32>,
                %f: tensor<{kh}x{kw}x{c}x{fo}xf32>) -> tensor<{n}x{oh}x{ow}x{fo}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{n}x{oh}x{ow}x{fo}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{n}x{oh}x{ow}x{fo}xf32>)
      -> tensor<{n}x{oh}x{ow}x{fo}xf32>
  %r = linalg.conv_2d_nhwc_hwcf {{dilations = dense<{d}> : tensor<2xi64>,
                                  strides = dense<{s}> : tensor<2xi64>}}
      ins(%x, %f : tensor<{n}x{h}x{w}x{c}xf32>, tensor<{kh}x{kw}x{c}x{fo}xf32>)
      outs(%z : tensor<{n}x{oh}x{ow}x{fo}xf32>) -> tensor<{n}x{oh}x{ow}x{fo}xf32>
  return %r : tensor<{n}x{oh}x{ow}x{fo}xf32>
}}
"""
#: Convolutions (N, H, W, C, KH, KW, F, stride, dilation): two checked against
#: numpy (one with 3 channels: gathered element by element), one timed
#: against torch's conv2d (cuDNN, TF32 off).
CONV_CHECKS = {
    "conv_odd": (2, 17, 19, 8, 3, 3, 16, 2, 1),
    "conv_dilated": (1, 9, 9, 3, 2, 2, 5, 1, 2),
}
CONV_TIMED = (32, 56, 56, 64, 3, 3, 128, 1, 1)


def conv_source(n, h, w, c, kh, kw, fo, s, d) -> str:
    oh, ow = (h - d * (kh - 1) - 1) // s + 1, (w - d * (kw - 1) - 1) // s + 1
    return CONV.format(n=n, h=h, w=w, c=c, kh=kh, kw=kw, fo=fo, s=s, d=d, oh=oh, ow=ow)


def conv_reference(x: np.ndarray, f: np.ndarray, s: int, d: int) -> np.ndarray:
    """NHWC x HWCF, in float64: one (C x F) product per filter tap."""
    n, h, w, _ = x.shape
    kh, kw, _, fo = f.shape
    oh, ow = (h - d * (kh - 1) - 1) // s + 1, (w - d * (kw - 1) - 1) // s + 1
    out = np.zeros((n, oh, ow, fo))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i * d : i * d + s * (oh - 1) + 1 : s, j * d : j * d + s * (ow - 1) + 1 : s]
            out += patch.astype(np.float64) @ f[i, j].astype(np.float64)
    return out


#: A matmul with a bias + relu epilogue (the epilogue its own kernel after
#: the GPU schedule's). An artifact beside it, mlp4096-NAME, is timed too.
MLP = """// relu(A @ B + bias), f32 {n}x{n}x{n}.
func.func @mlp(%a: tensor<{n}x{n}xf32>, %b: tensor<{n}x{n}xf32>,
               %bias: tensor<{n}xf32>) -> tensor<{n}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{n}x{n}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  %c = linalg.matmul ins(%a, %b : tensor<{n}x{n}xf32>, tensor<{n}x{n}xf32>)
                     outs(%f : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}}
      ins(%c, %bias : tensor<{n}x{n}xf32>, tensor<{n}xf32>) outs(%e : tensor<{n}x{n}xf32>) {{
    ^bb0(%x: f32, %y: f32, %o: f32):
      %s = arith.addf %x, %y : f32
      %m = arith.maximumf %s, %zero : f32
      linalg.yield %m : f32
  }} -> tensor<{n}x{n}xf32>
  return %r : tensor<{n}x{n}xf32>
}}
"""
#: Checked against numpy (not timed): matmuls on the GPU schedule's tiles
#: (M, N multiples of 128, K of 32) and off them (edge tiles guarded).
MATMUL_CHECKS = {
    "matmul_rect": (384, 256, 640, "f32"),
    "matmul_rect_f64": (384, 256, 640, "f64"),
    "matmul_odd": (200, 300, 100, "f32"),
    "matmul_odd_f64": (130, 70, 257, "f64"),
}

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
        ("matmul4096", MATMUL.format(m=MATMUL_N, k=MATMUL_N, n=MATMUL_N, t="f32")),
        ("f64matmul4096", MATMUL.format(m=MATMUL_N, k=MATMUL_N, n=MATMUL_N, t="f64")),
        ("oddmatmul", MATMUL.format(m=ODD_N, k=ODD_N, n=ODD_N, t="f32")),
        ("mlp4096", MLP.format(n=MATMUL_N)),
        *((name, conv_source(*shape)) for name, shape in CONV_CHECKS.items()),
        ("conv_big", conv_source(*CONV_TIMED)),
        ("bmm_rect", BATCH_MATMUL.format(**dict(zip("bmkn", BMM_CHECK, strict=True)))),
        ("bmm1024", BATCH_MATMUL.format(**dict(zip("bmkn", BMM_TIMED, strict=True)))),
        *(
            (name, MATMUL.format(m=m, k=k, n=n, t=t))
            for name, (m, k, n, t) in MATMUL_CHECKS.items()
        ),
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


FUZZ_OPTS = ("O0", "O2")


def prepare_fuzz(
    out: Path, toolchain: Path | None, seed: int, count: int, opts: tuple[str, ...] = FUZZ_OPTS
) -> list[Path]:
    """Differential fuzz programs (tests/fuzz: generated, with a numpy model)
    compiled for nvidia at each of `opts` into DIR/fuzz/<seed>-<opt>/,
    their inputs and the model's outputs beside them (fuzz/<seed>/*.npy) and
    what happened in fuzz/manifest.json. A program the nvidia target refuses
    (one-line compile error) is recorded, not run."""
    sys.path.insert(0, str(REPO / "tests"))
    from fuzz.generate import generate

    from mlirboot.backend.driver import compile_program
    from mlirboot.bootstrap.errors import MlirbootError

    fuzz = out / "fuzz"
    shutil.rmtree(fuzz, ignore_errors=True)
    fuzz.mkdir()
    entries, executables = [], []
    for s in range(seed, seed + count):
        program = generate(s)
        inputs = program.inputs()
        data = fuzz / str(s)
        data.mkdir()
        for i, x in enumerate(inputs):
            np.save(data / f"in{i}.npy", x)
        for i, x in enumerate(program.reference(inputs)):
            np.save(data / f"expected{i}.npy", x)
        for opt in opts:
            entry = {"seed": s, "opt": opt, "dtype": program.dtype, "family": program.family}
            entry["art"] = f"{s}-{opt}"
            try:
                art = compile_program(
                    program.text(),
                    target="nvidia",
                    opt=opt,
                    out=fuzz / entry["art"],
                    toolchain=toolchain,
                    use_cache=False,
                )
            except MlirbootError as err:
                entry["compile"] = str(err).splitlines()[0]
            else:
                entry["compile"] = "ok"
                for extra in ("kernel.ptx", "kernel.cubin"):  # embedded in prog
                    (art.path / extra).unlink(missing_ok=True)
                executables.append(art.path / "prog")
            entries.append(entry)
    (fuzz / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")
    compiled = sum(e["compile"] == "ok" for e in entries)
    print(
        f"fuzz: {count} programs (seeds {seed}..{seed + count - 1}), {compiled} of "
        f"{len(entries)} compiles for nvidia at {', '.join(opts)}"
    )
    return executables


def prepare(
    out: Path,
    toolchain: Path | None,
    fuzz_seed: int = 0,
    fuzz_count: int = 0,
    fuzz_opts: tuple[str, ...] = FUZZ_OPTS,
) -> int:
    from mlirboot.backend.driver import compile_program

    out.mkdir(parents=True, exist_ok=True)
    arts = out / "artifacts"
    shutil.rmtree(arts, ignore_errors=True)
    arts.mkdir()
    executables = []
    for name, src in _sources(out / "src").items():
        t0 = time.perf_counter()
        art = compile_program(src, target="nvidia", out=arts / name, toolchain=toolchain)
        for extra in ("kernel.ptx", "kernel.cubin"):  # embedded in prog
            (art.path / extra).unlink(missing_ok=True)
        executables.append(art.path / "prog")
        print(f"compiled {name:12s} for nvidia in {time.perf_counter() - t0:5.1f} s -> {art.path}")
    shutil.copy2(GPU_PROGRAMS / "models.py", out / "models.py")
    if fuzz_count:
        executables += prepare_fuzz(out, toolchain, fuzz_seed, fuzz_count, fuzz_opts)

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
    art: Path,
    lib: Path,
    inputs: list[np.ndarray],
    timeout: float,
    repeat: int = 1,
    wrap: list[str] | None = None,
    all_buffers: bool = False,
) -> tuple[list[np.ndarray] | None, float, str, list[float]]:
    """Run the artifact's prog once (its entry called `repeat` times, each
    call timed by the launcher: MLIRBOOT_REPEAT), optionally under `wrap`
    (the profiler). Returns outputs, process wall time, status, call times."""
    sig = _signature(art)
    buffers = sig["args"] + sig["results"]
    env = dict(
        os.environ,
        OMP_TARGET_OFFLOAD="MANDATORY",
        LD_LIBRARY_PATH=f"{lib}:{os.environ.get('LD_LIBRARY_PATH', '')}".rstrip(":"),
    )
    if repeat > 1:
        env["MLIRBOOT_REPEAT"] = str(repeat)
    with tempfile.TemporaryDirectory(prefix="device-check-") as tmp:
        io = Path(tmp)
        for i, arr in enumerate(inputs):
            dtype = sig["args"][i]["dtype"]
            (io / f"arg{i}.bin").write_bytes(np.ascontiguousarray(arr, dtype).tobytes())
        t0 = time.perf_counter()
        try:
            res = subprocess.run(
                [*(wrap or []), str(art / "prog"), str(io)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None, time.perf_counter() - t0, f"timed out after {timeout:.0f} s", []
        wall = time.perf_counter() - t0
        calls = [
            float(line.rsplit(":", 1)[1].split()[0])
            for line in res.stderr.splitlines()
            if line.startswith("launcher: call ")
        ]
        if res.returncode != 0:
            tail = (res.stdout + res.stderr).strip().splitlines()[-3:]
            return None, wall, f"exit {res.returncode}: {' | '.join(tail)}", calls
        outs = []
        for i, buf in enumerate(buffers):
            data = (io / f"out{i}.bin").read_bytes()
            outs.append(np.frombuffer(data, dtype=buf["dtype"]).reshape(buf["shape"]).copy())
    return (outs if all_buffers else outs[len(sig["args"]) :]), wall, "ok", calls


def _torch_time(fn, repeats: int = 10) -> float | None:
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


def kernel_times(
    art: Path, lib: Path, inputs: list[np.ndarray], timeout: float
) -> tuple[list[tuple[str, float]], str]:
    """Each kernel launch's GPU time, read by Nsight Compute (one metric,
    gpu__time_duration, clocks left alone); ([], why) where ncu is absent or
    fails (it needs the GPU's performance counters: not under gVisor)."""
    ncu = shutil.which("ncu")
    if ncu is None:
        return [], "ncu not on PATH"
    with tempfile.TemporaryDirectory(prefix="device-check-ncu-") as tmp:
        log = Path(tmp) / "ncu.csv"
        wrap = [ncu, "--clock-control", "none", "--metrics", "gpu__time_duration.sum"]
        wrap += ["--csv", "--print-units", "base", "--log-file", str(log)]
        _, _, status, _ = run_prog(art, lib, inputs, timeout, wrap=wrap)
        if status != "ok" or not log.exists():
            return [], f"ncu run: {status}"
        rows = [r for r in log.read_text().splitlines() if r.startswith('"')]
    scale = {"nsecond": 1e-9, "usecond": 1e-6, "msecond": 1e-3, "second": 1.0}
    out = []
    for rec in csv.DictReader(rows):
        if rec.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = scale.get(rec.get("Metric Unit", "nsecond"), 1e-9)
        value = float(rec["Metric Value"].replace(",", ""))
        out.append((rec.get("Kernel Name", "?"), value * unit))
    return out, "ok" if out else "ncu reported no kernel"


def _best(calls: list[float]) -> float | None:
    """The fastest call after the first (which loads the image and warms up)."""
    rest = calls[1:] or calls
    return min(rest) if rest else None


def check(bundle: Path, timeout: float, skip_matmul: bool, repeat: int, use_ncu: bool) -> int:
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
        got, wall, status, calls = run_prog(arts / name, lib, inputs, timeout, repeat)
        rows.append(_row(name, got, expected, wall, status, calls))
    for name, (m, k, n, t) in MATMUL_CHECKS.items():
        dtype = np.float32 if t == "f32" else np.float64
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        ref = (a.astype(np.float64) @ b.astype(np.float64)).astype(dtype)
        tol = (1e-4, 1e-3) if t == "f32" else (1e-12, 1e-11)
        got, wall, status, calls = run_prog(arts / name, lib, [a, b], timeout, repeat)
        rows.append(_row(name, got, [ref], wall, status, calls, tol))
    nb, m, k, n = BMM_CHECK
    a = rng.standard_normal((nb, m, k)).astype(np.float32)
    b = rng.standard_normal((nb, k, n)).astype(np.float32)
    ref = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    got, wall, status, calls = run_prog(arts / "bmm_rect", lib, [a, b], timeout, repeat)
    rows.append(_row("bmm_rect", got, [ref], wall, status, calls, (1e-4, 1e-3)))
    for name, (nn, h, w, c, kh, kw, fo, st, dl) in CONV_CHECKS.items():
        x = rng.standard_normal((nn, h, w, c)).astype(np.float32)
        f = rng.standard_normal((kh, kw, c, fo)).astype(np.float32)
        ref = conv_reference(x, f, st, dl).astype(np.float32)
        got, wall, status, calls = run_prog(arts / name, lib, [x, f], timeout, repeat)
        rows.append(_row(name, got, [ref], wall, status, calls, (1e-4, 1e-3)))
    print(f"small programs done ({sum(r['status'] == 'ok' for r in rows)}/{len(rows)} ok)")

    timed: list[
        tuple[str, str, list[np.ndarray], list[np.ndarray], float | None, float, tuple]
    ] = []
    rows_big, cols_big = BIG_SOFTMAX
    x = (rng.standard_normal(BIG_SOFTMAX) * 4).astype(np.float32)
    ref = [models.softmax(x.astype(np.float64)).astype(np.float32)]
    timed.append(
        (
            "softmax_big",
            f"softmax {rows_big}x{cols_big}",
            [x],
            ref,
            _torch_softmax(x),
            0.0,
            (2e-5, 2e-5),
        )
    )
    if not skip_matmul:
        n = MATMUL_N
        for prefix, dtype, tol, size in (
            ("matmul4096", np.float32, (1e-3, 1e-2), n),
            ("f64matmul4096", np.float64, (1e-9, 1e-9), n),
            ("oddmatmul", np.float32, (1e-3, 1e-2), ODD_N),
        ):
            a = rng.standard_normal((size, size)).astype(dtype)
            b = rng.standard_normal((size, size)).astype(dtype)
            torch_s, mm = _torch_matmul(a, b)
            ref = [mm if mm is not None else a @ b]
            # The artifact and any variant placed beside it (PREFIX-NAME).
            for art in sorted(arts.glob(f"{prefix}*")):
                label = f"{np.dtype(dtype).name} {size}^3" + art.name[len(prefix) :]
                timed.append((art.name, label, [a, b], ref, torch_s, 2.0 * size**3, tol))
        if (arts / "mlp4096").is_dir():
            a = rng.standard_normal((n, n)).astype(np.float32)
            b = rng.standard_normal((n, n)).astype(np.float32)
            bias = rng.standard_normal(n).astype(np.float32)
            torch_s, ref_mlp = _torch_mlp(a, b, bias)
            if ref_mlp is None:
                ref_mlp = np.maximum(a @ b + bias, 0)
            for art in sorted(arts.glob("mlp4096*")):
                label = f"mlp {n}^3" + art.name[len("mlp4096") :]
                timed.append(
                    (art.name, label, [a, b, bias], [ref_mlp], torch_s, 2.0 * n**3, (1e-3, 1e-2))
                )
        nb, m, k, n2 = BMM_TIMED
        a = rng.standard_normal((nb, m, k)).astype(np.float32)
        b = rng.standard_normal((nb, k, n2)).astype(np.float32)
        torch_s, mm = _torch_matmul(a, b)
        ref = [mm if mm is not None else a @ b]
        label = f"bmm {nb}x{m}x{k}x{n2}"
        timed.append(("bmm1024", label, [a, b], ref, torch_s, 2.0 * nb * m * k * n2, (1e-3, 1e-2)))
        nn, h, w, c, kh, kw, fo, st, dl = CONV_TIMED
        x = rng.standard_normal((nn, h, w, c)).astype(np.float32)
        f = (rng.standard_normal((kh, kw, c, fo)) / 8).astype(np.float32)
        torch_s, ref_conv = _torch_conv(x, f, st, dl)
        if ref_conv is None:
            ref_conv = conv_reference(x, f, st, dl).astype(np.float32)
        ref_out = ref_conv
        oh, ow = ref_out.shape[1:3]
        label = f"conv {nn}x{h}x{w}x{c} * {kh}x{kw}x{fo}"
        flops = 2.0 * nn * oh * ow * kh * kw * c * fo
        timed.append(("conv_big", label, [x, f], [ref_out], torch_s, flops, (1e-3, 1e-2)))
    for art_name, label, inputs, ref, torch_s, flops, tol in timed:
        got, wall, status, calls = run_prog(arts / art_name, lib, inputs, timeout, repeat)
        row = _row(label, got, ref, wall, status, calls, tol)
        row["torch_s"] = torch_s
        if use_ncu and status == "ok":
            kernels, why = kernel_times(arts / art_name, lib, inputs, timeout)
            row["kernels"] = [{"name": k, "s": t} for k, t in kernels]
            row["kernel_s"] = sum(t for _, t in kernels) if kernels else None
            row["kernel_note"] = why
        if flops and row.get("kernel_s"):
            row["kernel_gflops"] = flops / row["kernel_s"] / 1e9
        if flops and torch_s:
            row["torch_gflops"] = flops / torch_s / 1e9
        if torch_s and row.get("kernel_s"):
            row["vs_torch"] = torch_s / row["kernel_s"]
        rows.append(row)
        print(f"{label} done: {row['status']}")

    fuzz_rows = check_fuzz(bundle, lib, timeout) if (bundle / "fuzz").is_dir() else []

    head = f"{'program':18s} {'status':9s} {'max |err|':>9s} {'prog s':>7s} {'call s':>9s}"
    print(f"{head} {'kernels s':>10s} {'torch s':>9s} {'vs torch':>10s}")
    for r in rows:
        err = "-" if r["max_abs_err"] is None else f"{r['max_abs_err']:.1e}"
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        print(
            f"{r['program']:18s} {r['status']:9s} {err:>9s} {r['wall_s']:7.2f} "
            f"{fmt(r['call_s'], '9.5f')} {fmt(r.get('kernel_s'), '10.5f')} "
            f"{fmt(r.get('torch_s'), '9.5f')} {fmt(r.get('vs_torch'), '10.3f')}"
        )
    for r in rows:
        if r.get("kernel_gflops"):
            print(
                f"{r['program']}: {r['kernel_gflops']:.0f} GFLOP/s in its kernels, "
                f"torch {r.get('torch_gflops') or 0:.0f} GFLOP/s"
            )
    (bundle / "results.json").write_text(json.dumps(rows + fuzz_rows, indent=2) + "\n")
    fuzz_ok = all(r["status"] in ("ok", "not compiled") for r in fuzz_rows)
    return 0 if all(r["status"] == "ok" for r in rows) and fuzz_ok else 1


def check_fuzz(bundle: Path, lib: Path, timeout: float) -> list[dict]:
    """Run the fuzz programs --prepare compiled; compare with their models."""
    sys.path.insert(0, str(REPO / "tests"))
    from fuzz.compare import compare

    fuzz = bundle / "fuzz"
    rows = []
    for entry in json.loads((fuzz / "manifest.json").read_text()):
        row = {"program": f"fuzz {entry['art']}", **entry}
        if entry["compile"] != "ok":
            rows.append({**row, "status": "not compiled", "detail": entry["compile"]})
            continue
        data = fuzz / str(entry["seed"])
        inputs = [np.load(f) for f in sorted(data.glob("in*.npy"), key=_index)]
        expected = [np.load(f) for f in sorted(data.glob("expected*.npy"), key=_index)]
        outs, _, status, _ = run_prog(fuzz / entry["art"], lib, inputs, timeout, all_buffers=True)
        if outs is not None:
            got = outs[len(inputs) :] if entry["family"] == "tensor" else outs[: len(inputs)]
            diff = compare(got, expected, entry["dtype"])
            status = f"mismatch: {diff}" if diff else "ok"
        rows.append({**row, "status": status.split(":")[0], "detail": status})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print("fuzz on the GPU: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for r in rows:
        if r["status"] not in ("ok", "not compiled"):
            print(f"  {r['program']}: {r['detail'][:300]}")
    return rows


def _index(path: Path) -> int:
    return int("".join(ch for ch in path.stem if ch.isdigit()))


def _row(name, got, expected, wall, status, calls, tol=(2e-5, 2e-5)) -> dict:
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
        "calls_s": calls,
        "call_s": _best(calls),
        "torch_s": None,
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


def _torch_mlp(a: np.ndarray, b: np.ndarray, bias: np.ndarray):
    try:
        import torch
    except ImportError:
        return None, None
    torch.backends.cuda.matmul.allow_tf32 = False
    ta, tb, tbias = (torch.from_numpy(x).cuda() for x in (a, b, bias))
    seconds = _torch_time(lambda: torch.relu(torch.matmul(ta, tb) + tbias))
    return seconds, torch.relu(torch.matmul(ta, tb) + tbias).cpu().numpy()


def _torch_conv(x: np.ndarray, f: np.ndarray, stride: int, dilation: int):
    """cuDNN's conv2d (TF32 off) on the NHWC input (channels_last): time and result."""
    try:
        import torch
    except ImportError:
        return None, None
    torch.backends.cudnn.allow_tf32 = False
    tx = torch.from_numpy(x).cuda().permute(0, 3, 1, 2)  # NCHW view of NHWC memory
    tf = torch.from_numpy(f).cuda().permute(3, 2, 0, 1).contiguous()  # F, C, KH, KW

    def run():
        return torch.nn.functional.conv2d(tx, tf, stride=stride, dilation=dilation)

    seconds = _torch_time(run)
    return seconds, run().permute(0, 2, 3, 1).contiguous().cpu().numpy()


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
    parser.add_argument(
        "--fuzz",
        type=int,
        default=0,
        metavar="N",
        help="with --prepare: also N differential fuzz programs (tests/fuzz), run on the GPU "
        "against their numpy models",
    )
    parser.add_argument("--fuzz-seed", type=int, default=0, help="seed of the first fuzz program")
    parser.add_argument(
        "--fuzz-opts",
        default=",".join(FUZZ_OPTS),
        help="-O levels the fuzz programs are compiled at (comma-separated)",
    )
    parser.add_argument("--skip-matmul", action="store_true", help="leave out the 4096^3 matmul")
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="calls per run (MLIRBOOT_REPEAT); the best after the first is reported",
    )
    parser.add_argument(
        "--no-ncu", action="store_true", help="do not read kernel times with Nsight Compute"
    )
    args = parser.parse_args(argv)
    if args.prepare:
        opts = tuple(o.strip() for o in args.fuzz_opts.split(",") if o.strip())
        return prepare(args.prepare.resolve(), args.toolchain, args.fuzz_seed, args.fuzz, opts)
    return check(
        args.bundle.resolve(), args.timeout, args.skip_matmul, args.repeat, not args.no_ncu
    )


if __name__ == "__main__":
    raise SystemExit(main())
