"""Plain host code: LLVM IR -> object, the launcher (main), the executable,
and the entry as a shared or static library."""

from __future__ import annotations

from pathlib import Path

from ...bootstrap.targets import Codegen
from .. import compile_cache
from ..context import SIGNATURE, Context
from ..launcher import launcher_source
from . import blas
from .registry import step


def cpu_object(ctx: Context, facts: Codegen, ir: Path) -> Path:
    """LLVM IR (text or bitcode) -> a PIC object for a CPU, with the target's
    extra clang flags at this -O level."""
    out = ctx.temp(".o")
    flags = facts.flags.get(ctx.opt, [])
    ctx.run(
        [
            ctx.tools.tool("clang"),
            "-c",
            ctx.opt_flag,
            *flags,
            "-fPIC",
            "-Wno-override-module",
            "-x",
            "ir",
            ir,
            "-o",
            out,
        ]
    )
    return out


def omp_link_args(ctx: Context) -> list[str]:
    """The toolchain's libomp (manifest library `omp`), found at run time
    through an rpath: the parallel loops fork its threads. As needed only: code
    without parallel loops (--grad, --emit staticlib) does not load it."""
    omp = ctx.tools.manifest.library("omp")
    return [
        f"-L{omp.parent}",
        f"-Wl,-rpath,{omp.parent}",
        "-Wl,--push-state,--as-needed",
        "-lomp",
        "-Wl,--pop-state",
    ]


@step("translate-llvmir")
def translate_llvmir(ctx: Context) -> Path:
    out = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("mlir-translate"), "--mlir-to-llvmir", ctx.current, "-o", out])
    return out


@step("host-object", makes=("host_object",))
def host_object(ctx: Context) -> Path:
    assert ctx.current is not None
    return ctx.make("host_object", cpu_object(ctx, ctx.host, ctx.current))


def cached_c_object(
    ctx: Context, src: Path, flags: list[str], *, suffix: str = ".o", tag: str = ""
) -> tuple[Path, str]:
    """`src` compiled by clang with `flags`, or reused from the compile cache's
    objects/ (keyed by its text, flags and toolchain; and the file's name,
    which the object records, so a hit is byte-identical). Returns the
    object (temps file `suffix`, `tag`) and "cached" or "compiled"."""
    obj = ctx.temp(suffix, tag)
    key = (
        compile_cache.object_key(src.read_text(), "clang", [*flags, src.name], ctx.tools.manifest)
        if compile_cache.enabled()
        else None
    )
    if key is not None and compile_cache.fetch_object(key, obj):
        return obj, "cached"
    ctx.run([ctx.tools.tool("clang"), *flags, src, "-o", obj], tag=tag)
    if key is not None:
        compile_cache.store_object(key, obj)
    return obj, "compiled"


@step("launcher", needs=(SIGNATURE,), makes=("launcher_object",), side=True)
def launcher(ctx: Context) -> Path:
    """main(): its C source depends only on the signature, so the object is
    mostly reused from the compile cache."""
    assert ctx.signature is not None
    src = ctx.temp(".c")
    src.write_text(launcher_source(ctx.signature))
    obj, ctx.info.launcher_object = cached_c_object(ctx, src, ["-c", "-O2", "-fPIC"])
    return ctx.make("launcher_object", obj)


SCRATCH_SOURCE = Path(__file__).parents[1] / "data" / "runtime" / "scratch.c"


@step("host-runtime", makes=("runtime_object",), side=True)
def host_runtime(ctx: Context) -> Path:
    """The allocator behind the program's temporaries (memref.alloc lowered to
    _mlir_memref_to_llvm_alloc/_free): it keeps large freed blocks per thread
    for the next call instead of handing them back to the kernel. The same
    for every program: reused from the compile cache's objects/."""
    obj, _ = cached_c_object(ctx, SCRATCH_SOURCE, ["-c", "-O2", "-fPIC", "-fvisibility=hidden"])
    return ctx.make("runtime_object", obj)


def runtime_link_args(ctx: Context) -> list[Path]:
    """(Steps calling this declare `reads=("runtime_object",)`.)"""
    runtime = ctx.maybe("runtime_object")
    return [runtime] if runtime else []


@step(
    "link-host",
    needs=("launcher_object", "host_object"),
    reads=("blas_objects", "runtime_object"),
    makes=("executable",),
    side=True,
)
def link_host(ctx: Context) -> Path:
    exe = ctx.product("prog")
    ctx.run(
        [
            ctx.tools.tool("clang"),
            ctx.file("launcher_object"),
            ctx.file("host_object"),
            *runtime_link_args(ctx),
            *blas.link_args(ctx),
            *omp_link_args(ctx),
            "-lm",
            "-o",
            exe,
        ]
    )
    return ctx.make("executable", exe)


@step(
    "link-shared",
    needs=("host_object",),
    reads=("blas_objects", "runtime_object"),
    makes=("shared_library",),
    side=True,
)
def link_shared(ctx: Context) -> Path:
    """The entry as a shared library: Artifact.run calls it inside the
    Python process (bare-pointer C ABI, as the launcher calls it)."""
    lib = ctx.product("libprog.so")
    ctx.run(
        [
            ctx.tools.tool("clang"),
            "-shared",
            ctx.file("host_object"),
            *runtime_link_args(ctx),
            *blas.link_args(ctx),
            *omp_link_args(ctx),
            "-lm",
            "-o",
            lib,
        ]
    )
    return ctx.make("shared_library", lib)


@step(
    "link-static",
    needs=("host_object",),
    reads=("blas_objects",),
    makes=("static_library",),
    side=True,
)
def link_static(ctx: Context) -> Path:
    """The entry as a static library (`--emit staticlib`): the host object and
    the BLAS shim objects, archived with llvm-ar. The caller links it with -lm
    (and, with --blas, OpenBLAS: artifact.json `info.blas.libs`)."""
    lib = ctx.product("libprog.a")
    lib.unlink(missing_ok=True)  # `ar rcs` would add to an old archive
    ctx.run(
        [ctx.tools.tool("llvm-ar"), "rcsD", lib, ctx.file("host_object"), *ctx.each("blas_objects")]
    )
    return ctx.make("static_library", lib)
