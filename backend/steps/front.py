"""Front end: parse and check the program; memref entries as tensor programs
(backend/tensorize.py)."""

from __future__ import annotations

from pathlib import Path

from ...bootstrap import proc
from ...bootstrap.errors import UsageError
from ..context import SIGNATURE, Context
from ..entry_effects import require_outputs
from ..program import parse_signature
from ..tensorize import memrefs_to_tensors
from .registry import step


@step("parse", makes=(SIGNATURE,))
def parse(ctx: Context) -> Path:
    """Verify the program with mlir-opt (bad MLIR is bad input: exit 2) and
    read the entry's signature."""
    out = ctx.temp(".mlir")
    result = ctx.run(
        [ctx.tools.tool("mlir-opt"), ctx.source, "-o", out, "--mlir-print-debuginfo"],
        check=False,
    )
    if result.returncode != 0:
        first = proc.first_diagnostic(result.output.splitlines()) or "mlir-opt rejected it"
        raise UsageError(
            f"invalid MLIR: {first}",
            where=ctx.where(),
            hint="fix the program; mlir-opt's full output: " + str(result.log_path),
        )
    text = out.read_text()
    ctx.signature = parse_signature(text, ctx.entry, str(ctx.source))
    require_outputs(text, ctx.signature, str(ctx.source))
    return out


@step("memref-to-tensor", needs=(SIGNATURE,))
def memref_to_tensor(ctx: Context) -> Path | None:
    """A raised memref entry becomes value-semantic (same signature): the
    tensor-only consumers (matmul schedule, StableHLO) then see its ops."""
    return _memref_to_tensor(ctx, raise_nests=False)


@step("memref-to-tensor-nests", needs=(SIGNATURE,))
def memref_to_tensor_nests(ctx: Context) -> Path | None:
    """memref-to-tensor that first rewrites the function's elementwise loop
    nests (fills, relu, copies) as linalg.generic: for pipelines that take
    whole-tensor linalg only (StableHLO has no loops over buffers). The CPU
    pipelines keep those nests for their plain lowering."""
    return _memref_to_tensor(ctx, raise_nests=True)


def _memref_to_tensor(ctx: Context, raise_nests: bool) -> Path | None:
    assert ctx.signature is not None and ctx.current is not None
    if not any(a.kind == "memref" for a in ctx.signature.args):
        return None
    generic = ctx.temp(".mlir", "generic")
    ctx.run(
        [
            ctx.tools.tool("mlir-opt"),
            ctx.current,
            "--mlir-print-op-generic",
            "--mlir-print-debuginfo",
            "-o",
            generic,
        ],
        tag="mlir-opt-generic",
    )
    converted = memrefs_to_tensors(generic.read_text(), raise_nests)
    if ctx.signature.entry not in converted.writes:
        return None  # not straight-line linalg (e.g. -O0): the plain lowering takes it
    raw = ctx.temp(".mlir", "converted")
    raw.write_text(converted.text)
    out = ctx.temp(".mlir")
    # mlir-opt verifies the rewrite (a bad one is our bug: exit 1, not the user's).
    ctx.run(
        [ctx.tools.tool("mlir-opt"), raw, "--mlir-print-debuginfo", "-o", out],
        tag="mlir-opt-verify",
    )
    ctx.info.writes = converted.writes[ctx.signature.entry]
    for location, what in converted.remarks:
        ctx.remark(location or str(ctx.source), what)
    return out
