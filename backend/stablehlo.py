"""linalg-on-tensors -> StableHLO, for the tpu target (XLA has no linalg input).

A small, explicit translator over the ops programs like the examples use:
arith.constant, tensor.empty, linalg.fill, linalg.matmul, linalg.batch_matmul
and all-parallel linalg.generic whose inputs are identities or broadcasts of
the output's iteration space, with an elementwise arith/math body. Anything
else is rejected with its location (exit 2), never approximated.

The input is mlir-opt's generic op form; jaxlib's MLIR bindings parse it
(linalg/tensor are unregistered there, their structure is still walkable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..bootstrap.errors import UsageError
from .program import Signature

ELEMENTWISE = {
    "arith.addf": "add", "arith.subf": "subtract", "arith.mulf": "multiply",
    "arith.divf": "divide", "arith.maximumf": "maximum", "arith.maxnumf": "maximum",
    "arith.minimumf": "minimum", "arith.minnumf": "minimum", "arith.negf": "negate",
    "math.exp": "exponential", "math.tanh": "tanh", "math.sqrt": "sqrt", "math.log": "log",
    "math.absf": "abs", "arith.addi": "add", "arith.subi": "subtract", "arith.muli": "multiply",
    "arith.maxsi": "maximum", "arith.minsi": "minimum",
}
_MAP = re.compile(r"affine_map<\(([^)]*)\)\s*->\s*\(([^)]*)\)>")
_LOC = re.compile(r'loc\("([^"]+)":(\d+):(\d+)\)')


@dataclass
class _Scalar:
    text: str  # e.g. "0.000000e+00"
    element: str  # e.g. "f32"


class _Translator:
    def __init__(self, sig: Signature, where: str):
        self.sig = sig
        self.where = where
        self.lines: list[str] = []
        self.names: dict[str, str] = {}  # MLIR value name -> StableHLO SSA name / scalar
        self.scalars: dict[str, _Scalar] = {}
        self.empty: set[str] = set()
        self.types: dict[str, str] = {}
        self.counter = 0

    # -- helpers --
    def fresh(self) -> str:
        self.counter += 1
        return f"%v{self.counter}"

    def emit(self, text: str) -> str:
        name = self.fresh()
        self.lines.append(f"    {name} = {text}")
        return name

    def unsupported(self, op, why: str) -> UsageError:
        loc = str(op.location)
        found = _LOC.search(loc)
        place = f"{found.group(1)}:{found.group(2)}" if found else self.where
        return UsageError(f"{op.name}: {why}", where=f"{place} (tpu: to-stablehlo)",
                          hint="the tpu target translates linalg.matmul/batch_matmul/fill and "
                          "elementwise linalg.generic; rewrite the op or pick another target")

    def value(self, v) -> str:
        return v.get_name()

    def tensor(self, v, type_text: str, op) -> str:
        """StableHLO SSA name holding value `v` as a tensor of `type_text`."""
        name = self.value(v)
        if name in self.names:
            return self.names[name]
        if name in self.empty:
            # tensor.empty has undefined contents; zeros are a valid choice.
            return self.splat("0", type_text)
        raise self.unsupported(op, f"operand {name} is not a translated tensor")

    def splat(self, scalar: str, type_text: str) -> str:
        element = type_text.rsplit("x", 1)[-1].rstrip(">") if "x" in type_text else \
            type_text[len("tensor<"):-1]
        if element.startswith(("f", "bf")) and re.fullmatch(r"-?\d+", scalar):
            scalar += ".0"  # a float literal, as MLIR wants
        const = self.emit(f"stablehlo.constant dense<{scalar}> : tensor<{element}>")
        return self.emit(f"stablehlo.broadcast_in_dim {const}, dims = [] : "
                         f"(tensor<{element}>) -> {type_text}")

    # -- ops --
    def run(self, module_text: str) -> str:
        from jaxlib.mlir import ir

        ctx = ir.Context()
        ctx.allow_unregistered_dialects = True
        try:
            module = ir.Module.parse(module_text, ctx)
        except Exception as err:
            raise UsageError(f"cannot read the program: {str(err).splitlines()[0]}",
                             where=self.where) from None
        func = None
        for op in module.body.operations:
            if op.operation.name == "func.func" and \
                    op.attributes["sym_name"].value == self.sig.entry:
                func = op
        if func is None:
            raise UsageError(f"no @{self.sig.entry} in the program", where=self.where)
        block = func.regions[0].blocks[0]
        params = []
        for i, arg in enumerate(block.arguments):
            name = f"%arg{i}"
            self.names[arg.get_name()] = name
            params.append(f"{name}: {arg.type}")
        results: list[str] = []
        for op in block.operations:
            self.op(op.operation, results)
        result_types = ", ".join(str(t) for t in self.sig.results)
        body = "\n".join(self.lines)
        return (f"module @{self.sig.entry} {{\n"
                f"  func.func public @main({', '.join(params)}) -> ({result_types}) {{\n"
                f"{body}\n"
                f"    return {', '.join(results)} : {result_types}\n"
                f"  }}\n}}\n")

    def op(self, op, results: list[str]) -> None:
        name = op.name
        if name == "arith.constant":
            text = str(op.attributes["value"])
            res = op.results[0]
            if str(res.type).startswith("tensor<"):
                self.names[res.get_name()] = self.emit(
                    f"stablehlo.constant {text.split(' : ')[0]} : {res.type}")
            else:
                value, _, element = text.partition(" : ")
                self.scalars[res.get_name()] = _Scalar(value, element)
        elif name == "tensor.empty":
            self.empty.add(op.results[0].get_name())
        elif name == "linalg.fill":
            scalar = self.scalars.get(op.operands[0].get_name())
            if scalar is None:
                raise self.unsupported(op, "fill value must be a constant")
            self.names[op.results[0].get_name()] = self.splat(scalar.text, str(op.results[0].type))
        elif name in ("linalg.matmul", "linalg.batch_matmul"):
            self.matmul(op)
        elif name == "linalg.generic":
            self.generic(op)
        elif name == "func.return":
            results.extend(self.tensor(v, str(v.type), op) for v in op.operands)
        else:
            raise self.unsupported(op, "no StableHLO translation for this op")

    def matmul(self, op) -> None:
        text = str(op).split("({")[0]
        if "indexing_maps" in text and "linalg.matmul" in op.name:
            maps = _MAP.findall(str(op))
            default = [("d0, d1, d2", "d0, d2"), ("d0, d1, d2", "d2, d1"), ("d0, d1, d2", "d0, d1")]
            if maps and [(a.strip(), b.strip()) for a, b in maps[:3]] != default:
                raise self.unsupported(op, "transposed/broadcast matmul maps are not supported")
        a, b, c = op.operands
        out_type = str(op.results[0].type)
        if str(a.type).rsplit("x", 1)[-1] != str(b.type).rsplit("x", 1)[-1]:
            raise self.unsupported(op, "mixed element types are not supported")
        dims = ("contracting_dims = [1] x [0]" if op.name == "linalg.matmul"
                else "batching_dims = [0] x [0], contracting_dims = [2] x [1]")
        product = self.emit(
            f"stablehlo.dot_general {self.tensor(a, str(a.type), op)}, "
            f"{self.tensor(b, str(b.type), op)}, {dims} : ({a.type}, {b.type}) -> {out_type}")
        acc_name = c.get_name()
        if acc_name in self.empty:
            self.names[op.results[0].get_name()] = product
            return
        acc = self.tensor(c, str(c.type), op)
        self.names[op.results[0].get_name()] = self.emit(
            f"stablehlo.add {acc}, {product} : {out_type}")

    def generic(self, op) -> None:
        text = str(op)
        if "reduction" in text.split("({")[0] or "reduction" in text.split("}>")[0]:
            raise self.unsupported(op, "reductions in linalg.generic are not supported")
        maps = _MAP.findall(text.split("({")[0]) or _MAP.findall(text)
        n_in = len(op.operands) - len(op.results)
        if len(maps) < len(op.operands):
            raise self.unsupported(op, "cannot read its indexing maps")
        out_dims = [d.strip() for d in maps[n_in][0].split(",")]
        for _dims_text, res_text in maps[n_in:len(op.operands)]:
            if [r.strip() for r in res_text.split(",")] != out_dims:
                raise self.unsupported(op, "outputs must use the identity map")
        out_type = str(op.results[0].type)
        block = op.regions[0].blocks[0]
        env: dict[str, str] = {}
        for i, (arg, operand) in enumerate(zip(block.arguments, op.operands, strict=True)):
            operand_type = str(operand.type)
            res = [r.strip() for r in maps[i][1].split(",") if r.strip()]
            if any(r not in out_dims for r in res):
                raise self.unsupported(op, f"indexing map {maps[i][1]!r} is not a broadcast")
            src = self.tensor(operand, operand_type, op)
            if res == out_dims:
                env[arg.get_name()] = src
            else:
                positions = ", ".join(str(out_dims.index(r)) for r in res)
                env[arg.get_name()] = self.emit(
                    f"stablehlo.broadcast_in_dim {src}, dims = [{positions}] : "
                    f"({operand_type}) -> {out_type}")
        yielded: list[str] = []
        for inner in block.operations:
            inner = inner.operation
            if inner.name == "linalg.yield":
                yielded = [self.body_value(v, env, out_type, inner) for v in inner.operands]
            elif inner.name == "arith.constant":
                value, _, _ = str(inner.attributes["value"]).partition(" : ")
                env[inner.results[0].get_name()] = self.splat(value, out_type)
            elif inner.name in ELEMENTWISE:
                args = ", ".join(self.body_value(v, env, out_type, inner) for v in inner.operands)
                env[inner.results[0].get_name()] = self.emit(
                    f"stablehlo.{ELEMENTWISE[inner.name]} {args} : {out_type}")
            else:
                raise self.unsupported(inner, "no elementwise StableHLO translation")
        for result, value in zip(op.results, yielded, strict=True):
            self.names[result.get_name()] = value

    def body_value(self, v, env: dict[str, str], out_type: str, op) -> str:
        name = v.get_name()
        if name in env:
            return env[name]
        if name in self.scalars:  # a scalar captured from the function body
            env[name] = self.splat(self.scalars[name].text, out_type)
            return env[name]
        raise self.unsupported(op, f"operand {name} is not elementwise-translatable")


def translate(generic_text: str, sig: Signature, where: str) -> str:
    if any(a.kind != "tensor" for a in sig.args):
        raise UsageError("the tpu target takes tensor programs only (memref arguments given)",
                         where=where, hint="use host/offload-host for memref loop nests")
    return _Translator(sig, where).run(generic_text)
