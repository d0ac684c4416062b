"""BLAS replacement (--blas; backend/schedules/blas.py): memref matmuls become
calls into OpenBLAS through a small C shim."""

from __future__ import annotations

import re
from pathlib import Path

from ..context import Context
from ..schedules import blas as blas_mod
from .registry import step

_LOC_SUFFIX = re.compile(r"^(?P<op>[ \t]*linalg\.matmul .*?)[ \t]+loc\([^()]*\)[ \t]*$", re.M)
_SHIM_CALL = re.compile(
    r"^(?P<ind>[ \t]*)func\.call @(?P<f>mlirboot_blas_(?P<t>[sd])gemm)\("
    r"(?P<ops>[^)]*)\) : .*$",
    re.M,
)
_SHIM_DECL = re.compile(r"^[ \t]*func\.func private @mlirboot_blas_[sd]gemm\(.*\n", re.M)
BLAS_RAW = Path(__file__).parents[1] / "data" / "blas" / "blas_raw.c"
HINT = "apt-get install libopenblas-dev (cblas.h, libopenblas.so)"


def _raw_blas_calls(text: str) -> str:
    """The shim takes memref descriptors (its C interface), which the bare-pointer
    calling convention of these pipelines cannot pass: call its scalar entry
    (data/blas/blas_raw.c) with each operand's pointer, offset, sizes, strides."""
    counter = 0
    used: set[str] = set()

    def call(m: re.Match[str]) -> str:
        nonlocal counter
        ind, element = m["ind"], "f32" if m["t"] == "s" else "f64"
        ty, args, lines = blas_mod.dynamic_memref(element), [], []
        for operand in (o.strip() for o in m["ops"].split(",")):
            v = f"%blasraw{counter}"
            counter += 1
            lines.append(
                f"{ind}{v}_base, {v}_off, {v}_sz:2, {v}_st:2 = "
                f"memref.extract_strided_metadata {operand} : {ty} -> "
                f"memref<{element}>, index, index, index, index, index"
            )
            lines.append(
                f"{ind}{v}_ptr = memref.extract_aligned_pointer_as_index {operand} : {ty} -> index"
            )
            args += [f"{v}_ptr", f"{v}_off", f"{v}_sz#0", f"{v}_sz#1", f"{v}_st#0", f"{v}_st#1"]
        used.add(m["f"])
        lines.append(
            f"{ind}func.call @{m['f']}_raw({', '.join(args)}) : "
            f"({', '.join(['index'] * len(args))}) -> ()"
        )
        return "\n".join(lines)

    out = _SHIM_DECL.sub("", _SHIM_CALL.sub(call, text))
    head = re.search(r"^module\b[^\n]*\{[ \t]*\n", out, re.M)
    assert head is not None  # replace_matmuls put its declarations there
    decls = "".join(
        f"  func.func private @{f}_raw({', '.join(['index'] * 18)})\n" for f in sorted(used)
    )
    return out[: head.end()] + decls + out[head.end() :]


@step("blas", makes=("blas_objects", "blas_device_ir"))
def blas(ctx: Context) -> Path:
    """memref linalg.matmul (f32/f64) -> the shim's cblas_?gemm call; the shim
    and -lopenblas join the link of whichever image runs the code (the host
    executable, or the offload device image: the shim is linked into its IR)."""
    assert ctx.current is not None
    # The rewrite matches mlir-opt's plain printed form: drop the matmuls' locs.
    text = _LOC_SUFFIX.sub(lambda m: m["op"], ctx.current.read_text())
    rewritten = blas_mod.replace_matmuls(text)
    calls = len(_SHIM_CALL.findall(rewritten))
    out = ctx.temp(".mlir")
    out.write_text(_raw_blas_calls(rewritten) if calls else rewritten)
    if not calls:
        return out
    clang = ctx.tools.tool("clang")
    for src in (blas_mod.SHIM_SOURCE, BLAS_RAW):
        # The executable needs the shim even when offloading: the host module
        # keeps a host-fallback copy of the target region.
        obj = ctx.temp(".o", src.stem)
        ctx.run([clang, "-O2", "-fPIC", "-c", src, "-o", obj], tag=src.stem, hint=HINT)
        ctx.make("blas_objects", obj)
        if ctx.offload:
            bc = ctx.temp(".bc", src.stem)
            ctx.run(
                [clang, "-O2", "-fPIC", "-c", "-emit-llvm", src, "-o", bc],
                tag=f"{src.stem}-bc",
                hint=HINT,
            )
            ctx.make("blas_device_ir", bc)
    ctx.info.blas = {"calls": calls, "libs": blas_mod.link_args()}
    ctx.remark(str(ctx.source), f"{calls} linalg.matmul -> OpenBLAS gemm calls (mlirboot shim)")
    return out


def link_args(ctx: Context) -> list[str | Path]:
    """Shim objects (host) and OpenBLAS. When offloading, the shim lives in the
    device image and its cblas_* references resolve at load time against the
    executable's global scope, so libopenblas must stay a needed library.
    (Steps calling this declare `reads=("blas_objects",)`.)"""
    if ctx.info.blas is None:
        return []
    return [
        *ctx.each("blas_objects"),
        "-Wl,--no-as-needed",
        *ctx.info.blas["libs"],
        "-Wl,--as-needed",
    ]
