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


@dataclass(frozen=True)
class Tiling:
    """Tile sizes of the schedule.

    mr x nr is the register tile (accumulators: mr*nr/lanes vector registers);
    kc is the k block (a kc x nr panel of packed B is what stays in L1);
    mb is how many mr-row micro panels of A form one L2 block.
    """

    mr: int
    nr: int
    kc: int = 256
    mb: int = 8
    threads: bool = False  # row blocks as an scf.forall (parallel), not an scf.for

    @staticmethod
    def for_host(dtype: str = "f32", avx512: bool | None = None) -> Tiling:
        """Register tile for the host: 6 rows x 2 vectors (12 accumulators, the BLIS
        Haswell shape) on AVX2's 16 ymm; 8 rows x 2 vectors (16 of 32 zmm) on AVX-512."""
        wide = host_has_avx512() if avx512 is None else avx512
        lanes = (64 if wide else 32) // (4 if dtype == "f32" else 8)
        return Tiling(mr=8 if wide else 6, nr=2 * lanes)

    def key(self) -> str:
        threads = "_threads" if self.threads else ""
        return f"mr{self.mr}_nr{self.nr}_kc{self.kc}_mb{self.mb}{threads}"


def render_schedule(tiling: Tiling) -> str:
    """The transform script with `tiling`'s sizes filled in."""
    return string.Template(SCHEDULE_TEMPLATE.read_text()).substitute(
        MR=tiling.mr,
        NR=tiling.nr,
        KC=tiling.kc,
        MB=tiling.mb,
        ROW_BLOCKS="tile_using_forall" if tiling.threads else "tile_using_for",
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
