"""Build the MlirbootPasses MLIR pass plugin and describe how to run its passes.

The plugin is a CMake project next to this file (CMakeLists.txt + *.cpp). It is
built against an installed MLIR 22 (Debian's libmlir-22-dev, or a toolchain
prefix) and loaded by that toolchain's `mlir-opt --load-pass-plugin=<so>`.

Pipelines here are plain strings so a backend can splice them into its own
`--pass-pipeline` (the passes are registered as ordinary MLIR passes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ...bootstrap import proc
from ...bootstrap.engine.hostinfo import find_tool
from ...bootstrap.errors import BuildError, UsageError
from ...bootstrap.passes import sources
from ...bootstrap.passes.sources import RESIDENT_NAME

PLUGIN_NAME = "MlirbootPasses.so"
#: Beside a cached build: the MLIRConfig.cmake dir it was built against (the
#: plugin loads into any MLIR 22 mlir-opt; mlirboot-mlir is that MLIR).
BUILT_AGAINST = "mlir-dir"

RAISE_LOOPS = "mlirboot-raise-loops-to-linalg"
REASSOCIATE_CHAINS = "mlirboot-reassociate-matmul-chains"
FUSE_ELEMENTWISE = "mlirboot-fuse-elementwise-into-matmul"
#: Upstream's linalg-specialize-generic-ops, keeping only exact namings (LLVM 22
#: names a transposed-operand matmul generic a plain linalg.matmul).
SPECIALIZE_GENERICS = "mlirboot-specialize-generic-ops"
#: The plugin's own passes (all run on any op, typically func.func).
PLUGIN_PASSES: tuple[str, ...] = (
    RAISE_LOOPS,
    SPECIALIZE_GENERICS,
    REASSOCIATE_CHAINS,
    FUSE_ELEMENTWISE,
)

#: The -O2 sequence, as passes nested under func.func, in order:
#: raise loop nests (memref) to linalg; name any remaining matmul/conv-shaped
#: linalg.generic (upstream's specialization, checked); reorder matmul chains (tensors); clean up;
#: then tile elementwise epilogues and fuse their matmul into the tile loop.
#: Fusion goes last: it turns whole-tensor matmuls into tiled loops, which the
#: chain pass would no longer see.
FUNC_PASSES: tuple[str, ...] = (
    RAISE_LOOPS,
    SPECIALIZE_GENERICS,
    REASSOCIATE_CHAINS,
    "canonicalize",
    "cse",
    FUSE_ELEMENTWISE,
    "canonicalize",
    "cse",
)


def func_passes(*, tile_sizes: Sequence[int] | None = None) -> str:
    """FUNC_PASSES as one comma-separated string (to nest in func.func(...))."""
    passes = list(FUNC_PASSES)
    if tile_sizes:
        sizes = ",".join(str(int(s)) for s in tile_sizes)
        passes[passes.index(FUSE_ELEMENTWISE)] = f"{FUSE_ELEMENTWISE}{{tile-sizes={sizes}}}"
    return ",".join(passes)


def pass_pipeline(*, tile_sizes: Sequence[int] | None = None) -> str:
    """A complete `--pass-pipeline` value for a module of func.func ops."""
    return f"builtin.module(func.func({func_passes(tile_sizes=tile_sizes)}))"


#: The default optimizing pipeline (tile sizes 32 for the two innermost loops).
PASS_PIPELINE = pass_pipeline()


def mlir_opt_args(plugin: Path, *, pipeline: str = PASS_PIPELINE) -> list[str]:
    """mlir-opt arguments that load the plugin and run `pipeline`.

    `--mlir-print-op-on-diagnostic=false` keeps the optimization remarks to
    one `<file>:<line>:<col>: remark: ...` line each (plus source excerpt).
    """
    return [
        f"--load-pass-plugin={plugin}",
        f"--pass-pipeline={pipeline}",
        "--mlir-print-op-on-diagnostic=false",
    ]


def source_dir() -> Path:
    """The plugin's CMake source directory (this package's folder)."""
    return Path(__file__).resolve().parent


def source_files() -> list[Path]:
    return sources.source_files(source_dir())


def source_hash() -> str:
    """A short hash of everything that goes into the build (cache key); the
    same function keys the toolchain's `passes` component (bootstrap)."""
    return sources.source_hash(source_dir())


def _cxx_for(mlir_dir: Path) -> Path | None:
    """The clang++ of the toolchain that holds `mlir_dir`, if it has one.

    Building with the same compiler as the MLIR it links keeps the C++ ABI of
    inline code identical; <prefix>/lib/cmake/mlir -> <prefix>/bin/clang++.
    """
    candidate = mlir_dir.resolve().parents[2] / "bin" / "clang++"
    return candidate if candidate.exists() else None


def build_plugin(
    build_dir: Path,
    mlir_dir: Path,
    *,
    run: Callable[..., proc.Result] = proc.run,
    cxx: Path | None = None,
    jobs: int | None = None,
) -> Path:
    """Configure and build the plugin with cmake + ninja; return the .so path.

    `mlir_dir` is the folder holding MLIRConfig.cmake (e.g.
    /usr/lib/llvm-22/lib/cmake/mlir). `run` is the subprocess layer
    (`mlirboot.bootstrap.proc.run` or a wrapper with the same signature).
    Re-running on the same build dir is an incremental ninja build.
    """
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    mlir_dir = Path(mlir_dir)
    if not (mlir_dir / "MLIRConfig.cmake").exists():
        raise UsageError(
            f"no MLIRConfig.cmake in {mlir_dir}",
            where="passes/configure",
            hint="install libmlir-22-dev or point at <prefix>/lib/cmake/mlir",
        )
    # The environment's own cmake/ninja (pip dependencies): its bin/ need not be on PATH.
    cmake, ninja = find_tool("cmake"), find_tool("ninja")
    configure = [
        cmake,
        "-G",
        "Ninja",
        "-S",
        source_dir(),
        "-B",
        build_dir,
        f"-DMLIR_DIR={mlir_dir}",
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DCMAKE_MAKE_PROGRAM={ninja}",
    ]
    compiler = cxx or _cxx_for(mlir_dir)
    if compiler is not None:
        configure.append(f"-DCMAKE_CXX_COMPILER={compiler}")
    run(configure, stage="passes/configure", log_path=build_dir / "configure.log")
    build = [ninja, "-C", build_dir]
    if jobs:
        build += ["-j", str(jobs)]
    run(build, stage="passes/build", log_path=build_dir / "build.log")
    plugin = build_dir / PLUGIN_NAME
    if not plugin.exists():
        raise BuildError(
            f"{PLUGIN_NAME} was not produced",
            where="passes/build",
            hint=f"see {build_dir / 'build.log'}",
        )
    return plugin


def default_cache_root() -> Path:
    env = os.environ.get("MLIRBOOT_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "mlirboot"


def cached_plugin(
    mlir_dir: Path,
    *,
    cache_root: Path | None = None,
    run: Callable[..., proc.Result] = proc.run,
) -> Path:
    """The plugin for the current sources, built once per source hash.

    Lives in <cache_root>/passes-<hash>/MlirbootPasses.so; a build happens in a
    scratch dir beside it and is moved into place, so a half-built plugin is
    never picked up.
    """
    final = _cache_dir(cache_root)
    plugin = final / PLUGIN_NAME
    if plugin.exists():
        return plugin
    scratch = final.parent / f".{final.name}.{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    built = build_plugin(scratch / "build", mlir_dir, run=run)
    final.mkdir(parents=True, exist_ok=True)
    # The plugin last: its presence says the rest is there.
    (scratch / BUILT_AGAINST).write_text(str(Path(mlir_dir).resolve()) + "\n")
    for src, name in (
        (built.parent / RESIDENT_NAME, RESIDENT_NAME),
        (scratch / BUILT_AGAINST, BUILT_AGAINST),
        (built, PLUGIN_NAME),
    ):
        tmp = final / f".{name}.{os.getpid()}"
        shutil.copy2(src, tmp)
        os.replace(tmp, final / name)
    shutil.rmtree(scratch, ignore_errors=True)
    return plugin


def _cache_dir(cache_root: Path | None) -> Path:
    return (cache_root or default_cache_root()) / f"passes-{source_hash()}"


def cached_resident(mlir_dir: Path, *, cache_root: Path | None = None) -> Path | None:
    """The cached build's mlirboot-mlir, if the plugin was built (nothing is
    built here) and against `mlir_dir`: it runs the MLIR it was linked with."""
    final = _cache_dir(cache_root)
    exe = final / RESIDENT_NAME
    try:
        built_against = (final / BUILT_AGAINST).read_text().strip()
    except OSError:
        return None
    if not (final / PLUGIN_NAME).exists() or not exe.exists():
        return None
    return exe if built_against == str(Path(mlir_dir).resolve()) else None
