"""Fast linalg.matmul / linalg.batch_matmul for the x86-64 host, from upstream MLIR 22 only.

The schedule is a transform-dialect script (matmul.mlir.in, rendered with a `Tiling`)
applied by `mlir-opt`'s transform interpreter; the rest is upstream passes. Two ways in:

- standalone: `lower_to_object(text, out, run=proc.run)` takes a module whose
  matmuls are on tensors (functions with `llvm.emit_c_interface` get a
  `_mlir_ciface_<name>` entry) and writes an x86-64 object file;
- inside a backend pipeline: `pipeline_stages(schedule_path)` gives the three
  mlir-opt pass-pipeline pieces (tensor stage before bufferization, memref stage
  after it, LLVM lowering), see the module README in the report / `PLUG_IN` below.

Every tool runs through `mlirboot.bootstrap.proc.run`.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ...bootstrap import proc

SCHEDULE_TEMPLATE = Path(__file__).with_name("matmul.mlir.in")

#: Entry points of the rendered schedule.
TENSOR_ENTRY = "matmul_tile_and_vectorize"
MEMREF_ENTRY = "matmul_lower_vectors"
BUFFERIZE_ENTRY = "matmul_bufferize"
MAIN_ENTRY = "__transform_main"

#: tensors -> memrefs (the pass form, for pipelines that link
#: libmlir_c_runner_utils; lower_to_object uses the schedule's @matmul_bufferize,
#: which emits linalg.copy instead of memref.copy). Function boundaries get
#: identity layouts so a C caller passes plain row-major descriptors.
BUFFERIZE = (
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map}"
)

#: memrefs + vectors -> LLVM dialect. convert-linalg-to-loops handles what the
#: schedule leaves as plain linalg (the pack/unpack transposes, fills, copies).
#: The default (descriptor) memref calling convention keeps `_mlir_ciface_*` usable.
TO_LLVM: tuple[str, ...] = (
    "convert-vector-to-scf{full-unroll=true}",
    "func.func(convert-linalg-to-loops)",
    "lower-affine",
    "convert-scf-to-cf",
    "canonicalize",
    "cse",
    "convert-vector-to-llvm",
    "expand-strided-metadata",
    "lower-affine",
    "convert-math-to-llvm",
    "convert-arith-to-llvm",
    "finalize-memref-to-llvm",
    "convert-func-to-llvm",
    "convert-cf-to-llvm",
    "convert-ub-to-llvm",
    "reconcile-unrealized-casts",
)

#: llc flags. -fp-contract=fast lets the backend fuse the kernel's mulf+addf into
#: FMA (MLIR emits them without `contract` flags; without this the kernel runs at
#: about half speed). Same rounding freedom as clang's -ffp-contract=fast.
LLC_FLAGS: tuple[str, ...] = (
    "-O3",
    "-mcpu=native",
    "-fp-contract=fast",
    "-filetype=obj",
    "-relocation-model=pic",
)

Runner = Callable[..., proc.Result]


def host_has_avx512(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the host CPU reports avx512f (32 zmm registers, 16 f32 lanes)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return False
    return bool(re.search(r"^flags\s*:.*\bavx512f\b", text, re.MULTILINE))


CACHE_DIR = Path("/sys/devices/system/cpu/cpu0/cache")
_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?)B?\s*$", re.IGNORECASE)


def cache_sizes(cache_dir: Path = CACHE_DIR) -> dict[int, int]:
    """Data cache size in bytes per level (L1d, L2, ...) of cpu0, from sysfs
    (index*/level, type, size: "32K", "1024K", "32M"); {} where sysfs has none."""
    sizes: dict[int, int] = {}
    for index in sorted(cache_dir.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            found = _SIZE.match((index / "size").read_text())
        except (OSError, ValueError):
            continue
        if kind == "Instruction" or not found:
            continue
        sizes[level] = (
            int(found[1]) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[found[2].upper()]
        )
    return sizes


@dataclass(frozen=True)
class HostCpu:
    """What the schedule's tile sizes come from: the vector width (cpu flags)
    and the per-core data caches (sysfs), None where the machine does not say."""

    avx512: bool
    l1d: int | None
    l2: int | None

    @staticmethod
    def read(cpuinfo: Path = Path("/proc/cpuinfo"), cache_dir: Path = CACHE_DIR) -> HostCpu:
        sizes = cache_sizes(cache_dir)
        return HostCpu(host_has_avx512(cpuinfo), sizes.get(1), sizes.get(2))


#: Without sysfs cache sizes: the common x86-64 L1d (32 KiB) and a small L2.
DEFAULT_L1D = 32 << 10
DEFAULT_L2 = 256 << 10
#: Row blocks are also the threads' unit of work (the matmul-threads library
#: runs them on an scf.forall): at most this many micro panels per block keeps
#: several blocks per thread for M in the hundreds.
MAX_MB = 8


def _power_of_two_at_most(x: float) -> int:
    return 1 << max(int(x), 1).bit_length() - 1


@dataclass(frozen=True)
class Tiling:
    """Tile sizes of the schedule.

    mr x nr is the register tile (accumulators: mr*nr/lanes vector registers);
    kc is the k block of the packed path (an mb*mr x kc block of A and a
    kc x nr panel of B stay in L2); mb is how many mr-row micro panels of A
    form one such block; kc_few is the k block of the few-rows path (a
    kc_few x nr panel of B in half of L1d).
    """

    mr: int
    nr: int
    kc: int = 256
    mb: int = 8
    kc_few: int = 256
    threads: bool = False  # row blocks as an scf.forall (parallel), not an scf.for

    @property
    def few_rows_below(self) -> int:
        """Matmuls with fewer rows than this are computed one row at a time
        against B in place: packing B costs about as much as such a product.
        2 * mr: measured on 1..32 x 1024 x 1024 f32, the packed schedule wins
        from 32 rows, ties at 16 (AVX-512, mr = 8)."""
        return 2 * self.mr

    @property
    def nr_few(self) -> int:
        """Columns per tile on the few-rows path: 8 vector registers of
        accumulators (nr is 2 vectors), enough FMAs in flight to hide latency."""
        return 4 * self.nr

    @property
    def cols_few(self) -> int:
        """Columns per thread's chunk on the few-rows path with threads: 4
        column tiles, so 1024 columns make 2-4 chunks to share out."""
        return 4 * self.nr_few

    @property
    def pack_k(self) -> int:
        """k steps per packing copy: an mr x 16 block of A is read, transposed in
        registers and written as 16 micro-panel rows (B: 16 x nr rows). The
        transpose strategy made no difference (64^3 f32, 1024^3 f64)."""
        return 16

    @staticmethod
    def for_host(
        dtype: str = "f32", avx512: bool | None = None, cpu: HostCpu | None = None
    ) -> Tiling:
        """Tile sizes from the host (`cpu`, default: read from this machine).

        Register tile: 6 rows x 2 vectors (12 accumulators, the BLIS Haswell
        shape) on AVX2's 16 ymm; 8 rows x 2 vectors (16 of 32 zmm) on AVX-512.
        kc: every k block loads and stores each mr x nr tile of C once, from
        L3 or memory for large C, so the larger kc the better, up to what L2
        holds: an MAX_MB*mr x kc block of A plus a kc x nr panel of B in half
        of L2, rounded down to a power of two. (The L1 model of Low et al.,
        "Analytical Modeling Is Enough for High-Performance BLIS", 2016: a
        kc x nr panel of B in half of L1d, gave kc 128 on AVX-512 with a
        32 KiB L1d; against numpy, 2048^3 ran at 0.87x (f32) and 0.88x (f64)
        with it, 1.02x and 0.97x with the L2 rule's 1024 and 512; 1024^3 f64
        0.96x vs 0.97x: benchmarks/bench_matmul_kc.py.) Never below the L1
        rule, which is also the few-rows path's kc_few (B read in place).
        mb: the mb*mr x kc block of A takes at most half of L2, and at most
        MAX_MB micro panels (thread granularity)."""
        cpu = cpu or HostCpu.read()
        wide = cpu.avx512 if avx512 is None else avx512
        elem = 4 if dtype == "f32" else 8
        lanes = (64 if wide else 32) // elem
        mr, nr = (8 if wide else 6), 2 * lanes
        half_l1, half_l2 = (cpu.l1d or DEFAULT_L1D) / 2, (cpu.l2 or DEFAULT_L2) / 2
        kc_few = _power_of_two_at_most(half_l1 / (nr * elem))
        kc = max(kc_few, _power_of_two_at_most(half_l2 / ((MAX_MB * mr + nr) * elem)))
        mb = max(1, min(MAX_MB, int(half_l2) // (mr * kc * elem)))
        return Tiling(mr=mr, nr=nr, kc=kc, mb=mb, kc_few=kc_few)

    def key(self) -> str:
        threads = "_threads" if self.threads else ""
        return f"mr{self.mr}_nr{self.nr}_kc{self.kc}_mb{self.mb}_kf{self.kc_few}{threads}"


def render_schedule(tiling: Tiling) -> str:
    """The transform script with `tiling`'s sizes filled in."""
    return string.Template(SCHEDULE_TEMPLATE.read_text()).substitute(
        MR=tiling.mr,
        NR=tiling.nr,
        KC=tiling.kc,
        KC_FEW=tiling.kc_few,
        MB=tiling.mb,
        ROW_BLOCKS="tile_using_forall" if tiling.threads else "tile_using_for",
        FEW_ROWS=tiling.few_rows_below,
        PACK_K=tiling.pack_k,
        NR_FEW=tiling.nr_few,
        HALF_NR_FEW=tiling.nr_few // 2,
        COLS_FEW=tiling.cols_few,
        TWO_COLS_FEW=2 * tiling.cols_few,
        FEW_ROWS_TILING="threads" if tiling.threads else "one_thread",
    )


def schedule_file(tiling: Tiling, directory: Path) -> Path:
    """Write the rendered schedule into `directory` (content-addressed name) and return it."""
    text = render_schedule(tiling)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = directory / f"matmul_{tiling.key()}_{digest}.mlir"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def preload(schedule: Path) -> str:
    """Loads the schedule's named sequences (once per mlir-opt run: a second load
    of the same library is a "doubly defined symbol" error)."""
    return f"transform-preload-library{{transform-library-paths={schedule}}}"


def interpreter(entry: str) -> str:
    return f"transform-interpreter{{entry-point={entry}}}"


@dataclass(frozen=True)
class Stages:
    """The schedule as three pass-pipeline pieces (each a tuple of elements of
    `builtin.module(...)`, each meant for its own mlir-opt run), in pipeline order."""

    tensor: tuple[str, ...]  # before bufferization: pack, tile, vectorize, hoist
    memref: tuple[str, ...]  # after bufferization: vector transfers to loads/splats
    to_llvm: tuple[str, ...]


def pipeline_stages(schedule: Path) -> Stages:
    return Stages(
        tensor=(preload(schedule), interpreter(TENSOR_ENTRY), "canonicalize", "cse"),
        memref=(preload(schedule), interpreter(MEMREF_ENTRY), "canonicalize", "cse"),
        to_llvm=TO_LLVM,
    )


def pass_pipeline(elements: tuple[str, ...] | list[str]) -> str:
    return f"builtin.module({','.join(elements)})"


@dataclass(frozen=True)
class Tools:
    """The LLVM 22 tools used here (from a toolchain manifest or the system install)."""

    mlir_opt: Path
    mlir_translate: Path
    opt: Path
    llc: Path
    clang: Path

    @staticmethod
    def find(toolchain: str | None = None) -> Tools:
        from ..toolbox import Toolbox

        box = Toolbox(toolchain)
        return Tools(*(box.tool(n) for n in ("mlir-opt", "mlir-translate", "opt", "llc", "clang")))


def lower_to_object(
    mlir_text: str,
    out: Path,
    *,
    run: Runner = proc.run,
    tools: Tools | None = None,
    tiling: Tiling | None = None,
    blas: bool = False,
    workdir: Path | None = None,
) -> Path:
    """Compile a tensor-form module with the matmul schedule into the object file `out`.

    `blas`: instead of the schedule, matmuls (f32/f64, after bufferization) become
    calls to the BLAS shim (see blas.py); link the result with `blas.link_args()`.
    Intermediate files (and one log per tool) land in `workdir` (default: beside `out`).
    """
    tools = tools or Tools.find()
    work = workdir or out.parent / f"{out.stem}.work"
    work.mkdir(parents=True, exist_ok=True)
    src = work / "input.mlir"
    src.write_text(mlir_text)
    dtype = "f64" if re.search(r"linalg\.(batch_)?matmul[^\n]*xf64>", mlir_text) else "f32"
    schedule = schedule_file(tiling or Tiling.for_host(dtype), work)
    if blas:
        from . import blas as blas_mod

        memref = work / "bufferized.mlir"
        elements: tuple[str, ...] = (
            preload(schedule),
            interpreter(BUFFERIZE_ENTRY),
            "canonicalize",
        )
        _mlir_opt(run, tools, src, memref, elements, work, "bufferize")
        rewritten = work / "blas.mlir"
        rewritten.write_text(blas_mod.replace_matmuls(memref.read_text()))
        llvm_dialect = work / "llvm.mlir"
        _mlir_opt(run, tools, rewritten, llvm_dialect, TO_LLVM, work, "to-llvm")
    else:
        llvm_dialect = work / "llvm.mlir"
        elements = (
            preload(schedule),
            interpreter(TENSOR_ENTRY),
            "canonicalize",
            "cse",
            interpreter(BUFFERIZE_ENTRY),
            interpreter(MEMREF_ENTRY),
            "canonicalize",
            "cse",
            *TO_LLVM,
        )
        _mlir_opt(run, tools, src, llvm_dialect, elements, work, "schedule")
    return llvm_to_object(llvm_dialect, out, run=run, tools=tools, workdir=work)


def llvm_to_object(
    llvm_dialect: Path, out: Path, *, run: Runner = proc.run, tools: Tools, workdir: Path
) -> Path:
    """LLVM-dialect MLIR -> LLVM IR -> opt -O3 -> llc (host CPU) -> object."""
    ll = workdir / "module.ll"
    run(
        [tools.mlir_translate, "--mlir-to-llvmir", llvm_dialect, "-o", ll],
        stage="matmul: mlir-translate",
        log_path=workdir / "mlir-translate.log",
    )
    bc = workdir / "module.opt.bc"
    run([tools.opt, "-O3", ll, "-o", bc], stage="matmul: opt -O3", log_path=workdir / "opt.log")
    run([tools.llc, *LLC_FLAGS, bc, "-o", out], stage="matmul: llc", log_path=workdir / "llc.log")
    return out


def _mlir_opt(
    run: Runner,
    tools: Tools,
    src: Path,
    dst: Path,
    elements: tuple[str, ...],
    work: Path,
    name: str,
) -> None:
    run(
        [tools.mlir_opt, src, f"--pass-pipeline={pass_pipeline(elements)}", "-o", dst],
        stage=f"matmul: mlir-opt {name}",
        log_path=work / f"mlir-opt-{name}.log",
    )
