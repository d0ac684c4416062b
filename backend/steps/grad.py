"""Gradients through Enzyme (`when: grad` stages; see backend/grad.py):
Enzyme-MLIR on StableHLO, Enzyme's LLVM plugin on host code."""

from __future__ import annotations

import re
from pathlib import Path

from ...bootstrap.errors import BuildError, UsageError
from ..context import SIGNATURE, Context
from ..grad import (
    GradRequest,
    enzyme_plugin,
    enzyme_wrapper,
    grad_info,
    grad_signature,
    unique_name,
)
from ..grad import enzyme_stablehlo as differentiate
from ..grad import resolve as resolve_wrt
from .registry import step


def _grad_setup(ctx: Context) -> tuple[GradRequest, tuple[int, ...]]:
    assert ctx.grad is not None and ctx.signature is not None
    return ctx.grad, resolve_wrt(ctx.grad, ctx.signature, ctx.where())


@step(
    "enzyme-stablehlo",
    needs=(SIGNATURE, "stablehlo"),
    makes=(SIGNATURE, "stablehlo", "primal_stablehlo"),
)
def enzyme_stablehlo(ctx: Context) -> Path:
    """Enzyme-MLIR differentiates the StableHLO program; the gradient program
    replaces it as what the portable artifact carries."""
    request, wrt = _grad_setup(ctx)
    primal = ctx.signature
    assert primal is not None
    primal_file = ctx.file("stablehlo")
    text, passes = differentiate(primal_file.read_text(), primal, wrt, ctx.where())
    out = ctx.product("grad.stablehlo.mlir")
    out.write_text(text)
    ctx.temp(".mlir").write_text(text)
    ctx.make("primal_stablehlo", primal_file)
    ctx.signature = grad_signature(primal, wrt, f"{primal.entry}_grad")
    ctx.grad_info = grad_info(request, primal, wrt, "Enzyme-MLIR (enzyme-ad)", enzyme_passes=passes)
    return ctx.make("stablehlo", out)


@step("enzyme-llvm", needs=(SIGNATURE,), makes=(SIGNATURE,))
def enzyme_llvm(ctx: Context) -> Path:
    """The entry's LLVM IR + a wrapper calling __enzyme_autodiff on it, through
    `opt -load-pass-plugin=LLVMEnzyme-22.so -passes=enzyme`."""
    request, wrt = _grad_setup(ctx)  # bad requests are reported before the toolchain
    plugin = enzyme_plugin(ctx.tools.manifest, ctx.where())
    primal = ctx.signature
    assert primal is not None and ctx.current is not None
    name = unique_name(f"{primal.entry}_grad", ctx.current.read_text())
    wrapper = ctx.temp(".ll", "wrapper")
    wrapper.write_text(enzyme_wrapper(primal, wrt, name, ctx.where()))
    linked = ctx.temp(".bc", "linked")
    ctx.run([ctx.tools.tool("llvm-link"), ctx.current, wrapper, "-o", linked])
    out = ctx.temp(".ll")
    ctx.run(
        [
            ctx.tools.tool("opt"),
            f"-load-pass-plugin={plugin}",
            "-passes=enzyme",
            linked,
            "-S",
            "-o",
            out,
        ],
        tag="opt-enzyme",
    )
    if re.search(r"call .*@__enzyme_autodiff", out.read_text()):
        raise BuildError(
            "Enzyme left a __enzyme_autodiff call undifferentiated",
            where=ctx.where(),
            hint=f"plugin {plugin}; rerun with --save-temps",
        )
    ctx.signature = grad_signature(primal, wrt, name)
    ctx.grad_info = grad_info(
        request, primal, wrt, f"Enzyme LLVM plugin ({plugin.name})", plugin=str(plugin)
    )
    return out


@step("enzyme-split", needs=(SIGNATURE,))
def enzyme_split(ctx: Context) -> None:
    """Split host/device targets: not differentiated yet, said plainly before
    anything else (building Enzyme would not help)."""
    _grad_setup(ctx)
    raise UsageError(
        f"--grad is not implemented for the split target {ctx.target}: Enzyme would have "
        "to differentiate the outlined device kernel and the offload runtime calls "
        "around it, which mlirboot does not do yet",
        where=ctx.where(),
        hint="differentiate the same program on --target host (LLVMEnzyme-22) or "
        "--target tpu (Enzyme-MLIR)",
    )
