"""Gradients through Enzyme (`--grad ENTRY [--wrt 1,3]`), never a hand-written
reverse pass.

What the gradient function is. The entry is read as a scalar loss:
  loss(args) = sum of every element of every result of ENTRY
so an entry returning a rank-0 or 1-element tensor *is* the loss, and one
returning bigger tensors is differentiated as the sum of its outputs. The
gradient function takes the same arguments as ENTRY and returns one array per
differentiated argument (all of them, or the `--wrt` indices, in that order),
each of that argument's shape and dtype: d loss / d arg.

Two engines, chosen by the target's pipeline (a `grad` stage in
backend/pipelines/*.yaml):
- tpu: Enzyme-MLIR (PyPI enzyme-ad) differentiates the StableHLO program; the
  result is plain StableHLO again, so it becomes the portable artifact and runs
  through the same PJRT path as any tpu program.
- host: Enzyme's LLVM plugin (LLVMEnzyme-22 from the toolchain manifest) on the
  entry's LLVM IR, called through `__enzyme_autodiff` from a generated wrapper.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bootstrap.errors import BuildError, UsageError
from .program import Signature, TensorType

FLOATS = ("f16", "bf16", "f32", "f64")
ENZYME_HINT = (
    "add it: `mlirboot configure --target host --set enzyme.enabled=true`, "
    "export MLIRBOOT_ENZYME_SOURCE=<Enzyme checkout>, `mlirboot build`; "
    "or differentiate on --target tpu (Enzyme-MLIR from PyPI enzyme-ad)"
)


@dataclass(frozen=True)
class GradRequest:
    entry: str
    wrt: tuple[int, ...] | None = None  # None: every argument

    def to_json(self) -> dict[str, Any]:
        return {"entry": self.entry, "wrt": list(self.wrt) if self.wrt is not None else None}


def parse_wrt(text: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """`--wrt 1,3` (or a sequence of ints from the Python API)."""
    if text is None:
        return None
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise UsageError(
                f"--wrt {text!r} is not a list of argument indices",
                where="--wrt",
                hint="e.g. --wrt 1,3 (0-based)",
            )
        return tuple(int(p) for p in parts)
    return tuple(int(i) for i in text)


def resolve(request: GradRequest, sig: Signature, where: str) -> tuple[int, ...]:
    """The argument indices to differentiate, checked against the entry."""
    if not sig.results:
        raise UsageError(
            f"@{sig.entry} returns nothing: there is no loss to differentiate",
            where=where,
            hint="--grad needs an entry that returns tensors",
        )
    bad = [r for r in sig.results if r.element not in FLOATS]
    if bad:
        raise UsageError(
            f"@{sig.entry} returns {bad[0]}: a loss must be floating point", where=where
        )
    wrt = (
        request.wrt
        if request.wrt is not None
        else tuple(i for i, a in enumerate(sig.args) if a.element in FLOATS)
    )
    if not wrt:
        raise UsageError(
            f"@{sig.entry} has no floating-point argument to differentiate", where=where
        )
    if len(set(wrt)) != len(wrt):
        raise UsageError(f"--wrt lists an argument twice: {list(wrt)}", where="--wrt")
    for i in wrt:
        if i >= len(sig.args):
            raise UsageError(
                f"--wrt {i}: @{sig.entry} has {len(sig.args)} arguments",
                where="--wrt",
                hint=f"indices 0..{len(sig.args) - 1}",
            )
        if sig.args[i].element not in FLOATS:
            raise UsageError(
                f"--wrt {i}: argument {i} is {sig.args[i]}, not floating point", where="--wrt"
            )
    return tuple(wrt)


def grad_signature(sig: Signature, wrt: tuple[int, ...], name: str) -> Signature:
    """The gradient function: ENTRY's arguments in, one gradient per wrt arg out."""
    grads = tuple(TensorType("tensor", sig.args[i].shape, sig.args[i].element) for i in wrt)
    return Signature(name, sig.args, grads)


def grad_info(
    request: GradRequest, sig: Signature, wrt: tuple[int, ...], engine: str, **extra: Any
) -> dict[str, Any]:
    one = all(_count(r) == 1 for r in sig.results) and len(sig.results) == 1
    return {
        "entry": request.entry,
        "wrt": list(wrt),
        "loss": "the entry's result" if one else "sum of every element of the entry's results",
        "primal_signature": sig.to_json(),
        "engine": engine,
        **extra,
    }


def _count(t: TensorType) -> int:
    n = 1
    for d in t.shape:
        n *= d
    return n


# --- tpu: Enzyme-MLIR on StableHLO ------------------------------------------

_RETURN = re.compile(r"^(\s*)return (.*?) : (.*)$", re.M)
_MAIN = re.compile(r"(func\.func public @main\(.*?\)) -> \((.*?)\) \{")


def loss_stablehlo(text: str, sig: Signature, where: str) -> str:
    """The StableHLO program with @main returning the scalar loss: the sum of
    its results, reduced inside the program so that Enzyme differentiates the
    whole loss (JAX only seeds the scalar cotangent 1.0)."""
    element = sig.results[0].element
    if any(r.element != element for r in sig.results):
        raise UsageError(
            "results of mixed element types cannot be summed into one loss",
            where=where,
            hint="return one dtype, or a rank-0 loss",
        )
    returns = list(_RETURN.finditer(text))
    main = _MAIN.search(text)
    if len(returns) != 1 or main is None:
        raise BuildError(
            "unexpected StableHLO layout (one @main with one return expected)", where=where
        )
    ret = returns[0]
    indent, values = ret.group(1), [v.strip() for v in ret.group(2).split(",")]
    scalar = f"tensor<{element}>"
    lines = [f"{indent}%loss_zero = stablehlo.constant dense<0.0> : {scalar}"]
    terms = []
    for k, (value, rtype) in enumerate(zip(values, sig.results, strict=True)):
        if not rtype.shape:
            terms.append(value)
            continue
        dims = ", ".join(str(d) for d in range(len(rtype.shape)))
        lines.append(
            f"{indent}%loss_part{k} = stablehlo.reduce({value} init: %loss_zero) "
            f"applies stablehlo.add across dimensions = [{dims}] : "
            f"({rtype}, {scalar}) -> {scalar}"
        )
        terms.append(f"%loss_part{k}")
    total = terms[0]
    for k, term in enumerate(terms[1:]):
        lines.append(f"{indent}%loss_sum{k} = stablehlo.add {total}, {term} : {scalar}")
        total = f"%loss_sum{k}"
    lines.append(f"{indent}return {total} : {scalar}")
    text = text[: ret.start()] + "\n".join(lines) + text[ret.end() :]
    return text.replace(main.group(0), f"{main.group(1)} -> ({scalar}) {{", 1)


def enzyme_stablehlo(
    text: str, sig: Signature, wrt: tuple[int, ...], where: str
) -> tuple[str, list[str]]:
    """(StableHLO of the gradient function, the Enzyme passes that made it).

    enzyme_ad.jax.hlo_call under jax.grad: JAX asks Enzyme for the
    derivative of the hlo_call primitive (Enzyme-MLIR's `enzyme-wrap` in
    reverse mode) and lowers it to plain StableHLO at trace time."""
    try:
        import jax
        import numpy as np
        from enzyme_ad.jax import hlo_call
    except ImportError as err:
        raise UsageError(
            f"Enzyme-MLIR is not installed ({err.name} missing)",
            where=where,
            hint="pip install 'enzyme-ad==0.0.16' 'jax==0.10.*' 'jaxlib==0.10.*'",
        ) from None
    # Without x64, jax would silently trace f64 programs in f32 (scoped: the
    # flag is process-wide state).
    wide = any(a.element == "f64" for a in sig.args + sig.results)
    x64 = jax.enable_x64(True) if wide else contextlib.nullcontext()
    source = loss_stablehlo(text, sig, where)

    def loss(*args: Any) -> Any:
        (value,) = hlo_call(*args, source=source)
        return value

    specs = [jax.ShapeDtypeStruct(a.shape, np.dtype(a.dtype)) for a in sig.args]
    grad = jax.grad(loss, argnums=wrt)
    try:
        with x64:
            jaxpr = jax.make_jaxpr(grad)(*specs)
            # keep_unused: the gradient function keeps every argument of ENTRY
            # (the launcher feeds them all), even those the gradient ignores.
            lowered = jax.jit(grad, keep_unused=True).lower(*specs).as_text()
    except Exception as err:  # Enzyme/JAX report MLIR diagnostics as plain exceptions
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BuildError(
            f"Enzyme-MLIR failed: {first}",
            where=where,
            hint="see the to-stablehlo output with --save-temps",
        ) from None
    passes = [
        m
        for eqn in jaxpr.eqns
        if "pipeline_options" in eqn.params
        for m in re.findall(r"enzyme-wrap\{[^}]*\}", eqn.params["pipeline_options"].pass_pipeline())
    ]
    if not any("ReverseMode" in p for p in passes):
        raise BuildError(
            "the gradient was not produced by Enzyme's reverse mode",
            where=where,
            hint="check the enzyme-ad version (0.0.16 expected)",
        )
    if "custom_call" in lowered:
        raise BuildError(
            "the gradient program still calls into Enzyme at run time "
            "(stablehlo.custom_call): not a portable artifact",
            where=where,
        )
    return lowered, passes


# --- host: LLVMEnzyme-22 on LLVM IR -----------------------------------------


def enzyme_plugin(manifest: Any, where: str) -> Path:
    """LLVMEnzyme-22.so from the toolchain manifest, or the one clear error."""
    found = manifest.libraries.get("LLVMEnzyme")
    if not found or not Path(found).exists():
        source = manifest.path or f"system LLVM {manifest.llvm_version} at {manifest.prefix}"
        raise UsageError(
            f"LLVMEnzyme-22 is not in the toolchain ({source})", where=where, hint=ENZYME_HINT
        )
    return Path(found)


_LLVM_TYPE = {"f32": "float", "f64": "double"}


def enzyme_wrapper(sig: Signature, wrt: tuple[int, ...], name: str, where: str) -> str:
    """LLVM IR of `void NAME(args..., grads...)`: calls __enzyme_autodiff on
    the lowered entry (bare-pointer ABI: arguments, then one out-param per
    result). Activities: a differentiated argument is `enzyme_dup` with its
    gradient buffer as shadow (zeroed first: Enzyme adds into shadows); other
    arguments are `enzyme_const`; each result buffer is `enzyme_dup` with a
    scratch primal and a shadow filled with 1 = d loss / d result element
    (loss = sum of the results)."""
    for t in sig.results + tuple(sig.args[i] for i in wrt):
        if t.element not in _LLVM_TYPE:
            raise UsageError(f"{t}: host gradients support f32/f64 only", where=where)
    n_args = len(sig.args)
    params = [f"ptr %a{i}" for i in range(n_args)] + [f"ptr %g{k}" for k in range(len(wrt))]
    body = ["entry:"]
    for k, i in enumerate(wrt):
        body.append(
            f"  call void @llvm.memset.p0.i64(ptr align 1 %g{k}, i8 0, "
            f"i64 {sig.args[i].nbytes}, i1 false)"
        )
    for j, res in enumerate(sig.results):
        size = max(64, (res.nbytes + 63) // 64 * 64)  # aligned_alloc: a multiple of 64
        body += [
            f"  %r{j} = call ptr @aligned_alloc(i64 64, i64 {size})",
            f"  %dr{j} = call ptr @aligned_alloc(i64 64, i64 {size})",
            f"  br label %fill{j}",
            f"fill{j}:",
            f"  %i{j} = phi i64 [ 0, %{'entry' if j == 0 else f'filled{j - 1}'} ], "
            f"[ %n{j}, %fill{j} ]",
            f"  %p{j} = getelementptr {_LLVM_TYPE[res.element]}, ptr %dr{j}, i64 %i{j}",
            f"  store {_LLVM_TYPE[res.element]} 1.0, ptr %p{j}",
            f"  %n{j} = add i64 %i{j}, 1",
            f"  %c{j} = icmp eq i64 %n{j}, {_count(res)}",
            f"  br i1 %c{j}, label %filled{j}, label %fill{j}",
            f"filled{j}:",
        ]
    # Activity markers as C code passes them (`extern int enzyme_dup;`): a
    # load of the marker global. (`metadata !"enzyme_dup"` operands do not
    # survive llvm-link 22: it rewrites them into unrelated symbols.)
    body += ["  %dup = load i32, ptr @enzyme_dup", "  %const = load i32, ptr @enzyme_const"]
    activity = []
    for i in range(n_args):
        if i in wrt:
            activity.append(f"i32 %dup, ptr %a{i}, ptr %g{wrt.index(i)}")
        else:
            activity.append(f"i32 %const, ptr %a{i}")
    activity += [f"i32 %dup, ptr %r{j}, ptr %dr{j}" for j in range(len(sig.results))]
    body.append(
        f"  call void (...) @__enzyme_autodiff(ptr @{sig.entry}, " + ", ".join(activity) + ")"
    )
    for j in range(len(sig.results)):
        body += [f"  call void @free(ptr %r{j})", f"  call void @free(ptr %dr{j})"]
    body.append("  ret void")
    return "\n".join(
        [
            f"; Generated by mlirboot: gradient of @{sig.entry} through Enzyme.",
            f"declare void @{sig.entry}({', '.join('ptr' for _ in sig.buffers)})",
            "declare void @__enzyme_autodiff(...)",
            "@enzyme_dup = weak global i32 0",
            "@enzyme_const = weak global i32 0",
            "declare ptr @aligned_alloc(i64, i64)",
            "declare void @free(ptr)",
            "declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)",
            "",
            f"define void @{name}({', '.join(params)}) {{",
            *body,
            "}",
            "",
        ]
    )


def unique_name(base: str, taken: str) -> str:
    """A symbol name for the gradient function not defined in `taken` (IR text)."""
    name, k = base, 1
    while re.search(rf"@{re.escape(name)}\b", taken):
        name, k = f"{base}{k}", k + 1
    return name
