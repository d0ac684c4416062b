"""linalg-on-tensors -> StableHLO, for the tpu target (XLA has no linalg input).

A small, explicit translator over the op set of the documented input
(README "TPU op set"): arith.constant, tensor.empty, linalg.fill, the
contractions (DOT_DIMS), convolutions (CONV_DIMS, conv_2d, depthwise),
pooling (POOLING), named elementwise ops, linalg.broadcast/transpose/copy,
tensor reshapes, linalg.generic whose inputs are identities, broadcasts or permutations of the
iteration space with an elementwise arith/math body, and reductions:
linalg.reduce and linalg.generic with reduction iterators whose body is
`combine(f(inputs), acc)` (combine: add/mul/max/min; f elementwise) ->
stablehlo.reduce. Anything else is rejected with its location
(file:line:col, exit 2), never approximated.

The input is mlir-opt's generic op form; jaxlib's MLIR bindings parse it
(linalg/tensor are unregistered there, their structure is still walkable).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..bootstrap.errors import UsageError
from .program import Signature

# Elementwise body ops with a one-op StableHLO translation.
UNARY = {
    "arith.negf": "negate",
    "math.exp": "exponential",
    "math.tanh": "tanh",
    "math.sqrt": "sqrt",
    "math.rsqrt": "rsqrt",
    "math.log": "log",
    "math.absf": "abs",
    "math.absi": "abs",
    "math.sin": "sine",
    "math.cos": "cosine",
    "math.log1p": "log_plus_one",
    "math.expm1": "exponential_minus_one",
    "math.floor": "floor",
    "math.ceil": "ceil",
    "math.round": "round_nearest_afz",
    "math.roundeven": "round_nearest_even",
}
BINARY = {
    "arith.addf": "add",
    "arith.subf": "subtract",
    "arith.mulf": "multiply",
    "arith.divf": "divide",
    "arith.remf": "remainder",
    "arith.maximumf": "maximum",
    "arith.maxnumf": "maximum",
    "arith.minimumf": "minimum",
    "arith.minnumf": "minimum",
    "arith.addi": "add",
    "arith.subi": "subtract",
    "arith.muli": "multiply",
    "arith.divsi": "divide",
    "arith.remsi": "remainder",
    "arith.maxsi": "maximum",
    "arith.minsi": "minimum",
    "arith.andi": "and",
    "arith.ori": "or",
    "arith.xori": "xor",
    "math.powf": "power",
    "math.atan2": "atan2",
}
# Element type conversions (stablehlo.convert: round to nearest, truncate
# toward zero float -> int, sign-extend int -> int, like arith's).
CONVERT = {
    "arith.extf",
    "arith.truncf",
    "arith.sitofp",
    "arith.fptosi",
    "arith.extsi",
    "arith.trunci",
}
# Ops written as a few StableHLO ops (see _Translator.composite).
COMPOSITE = {
    "math.tan",
    "math.exp2",
    "math.log2",
    "math.log10",
    "math.atan",
    "math.trunc",
    "math.copysign",
    "math.fma",
    "arith.select",
    "arith.cmpf",
    "arith.cmpi",
}
ELEMENTWISE = {**UNARY, **BINARY}
# arith.cmpf predicates (enum values) -> (direction, negate): u* = not o*.
_CMPF = {
    1: ("EQ", False),
    2: ("GT", False),
    3: ("GE", False),
    4: ("LT", False),
    5: ("LE", False),
    9: ("LE", True),
    10: ("LT", True),
    11: ("GE", True),
    12: ("GT", True),
    13: ("NE", False),
}
# arith.cmpi predicates -> (direction, compare type).
_CMPI = {
    0: ("EQ", "SIGNED"),
    1: ("NE", "SIGNED"),
    2: ("LT", "SIGNED"),
    3: ("LE", "SIGNED"),
    4: ("GT", "SIGNED"),
    5: ("GE", "SIGNED"),
    6: ("LT", "UNSIGNED"),
    7: ("LE", "UNSIGNED"),
    8: ("GT", "UNSIGNED"),
    9: ("GE", "UNSIGNED"),
}
_INT_BITS = {"f16": "i16", "bf16": "i16", "f32": "i32", "f64": "i64"}
# Reduction combiners: StableHLO op and the identity it starts from. The
# result is combine(init, reduce(f(inputs))), which equals linalg's
# sequential fold for these associative, commutative combiners.
COMBINERS = {
    "arith.addf": "add",
    "arith.mulf": "multiply",
    "arith.maximumf": "maximum",
    "arith.maxnumf": "maximum",
    "arith.minimumf": "minimum",
    "arith.minnumf": "minimum",
    "arith.addi": "add",
    "arith.muli": "multiply",
    "arith.maxsi": "maximum",
    "arith.minsi": "minimum",
}
_IDENTITY = {
    "add": {"f16": "0.0", "bf16": "0.0", "f32": "0.0", "f64": "0.0", "i32": "0", "i64": "0"},
    "multiply": {"f16": "1.0", "bf16": "1.0", "f32": "1.0", "f64": "1.0", "i32": "1", "i64": "1"},
    "maximum": {
        "f16": "0xFC00",
        "bf16": "0xFF80",
        "f32": "0xFF800000",
        "f64": "0xFFF0000000000000",
        "i32": "-2147483648",
        "i64": "-9223372036854775808",
    },
    "minimum": {
        "f16": "0x7C00",
        "bf16": "0x7F80",
        "f32": "0x7F800000",
        "f64": "0x7FF0000000000000",
        "i32": "2147483647",
        "i64": "9223372036854775807",
    },
}
HINT = (
    'the tpu target translates the ops listed under "TPU op set" in README.md '
    "(linalg named ops matmul/batch_matmul/conv_2d_nhwc_hwcf/conv_2d_nchw_fchw/fill/"
    "broadcast/transpose/copy/reduce, linalg.generic with an elementwise arith/math body "
    "or an add/mul/max/min reduction); rewrite the op that way or use host/offload-host"
)
# Contractions: stablehlo.dot_general dimension numbers.
DOT_DIMS = {
    "linalg.matmul": "contracting_dims = [1] x [0]",
    "linalg.batch_matmul": "batching_dims = [0] x [0], contracting_dims = [2] x [1]",
    "linalg.matvec": "contracting_dims = [1] x [0]",
    "linalg.vecmat": "contracting_dims = [0] x [0]",
    "linalg.dot": "contracting_dims = [0] x [0]",
    "linalg.batch_matvec": "batching_dims = [0] x [0], contracting_dims = [2] x [1]",
}
# Convolutions: StableHLO dimension numbers (input x kernel -> output).
CONV_DIMS = {
    "linalg.conv_1d_nwc_wcf": "[b, 0, f]x[0, i, o]->[b, 0, f]",
    "linalg.conv_2d_nhwc_hwcf": "[b, 0, 1, f]x[0, 1, i, o]->[b, 0, 1, f]",
    "linalg.conv_2d_nchw_fchw": "[b, f, 0, 1]x[o, i, 0, 1]->[b, f, 0, 1]",
    "linalg.conv_3d_ndhwc_dhwcf": "[b, 0, 1, 2, f]x[0, 1, 2, i, o]->[b, 0, 1, 2, f]",
}
# Pooling: the reduce_window combiner.
POOLING = {
    "linalg.pooling_nhwc_max": "maximum",
    "linalg.pooling_nhwc_sum": "add",
    "linalg.pooling_nhwc_min": "minimum",
    "linalg.pooling_nchw_max": "maximum",
    "linalg.pooling_nchw_sum": "add",
}
# Named elementwise linalg ops (their region holds the scalar body).
NAMED_ELEMENTWISE = {
    f"linalg.{n}"
    for n in (
        "add",
        "sub",
        "mul",
        "div",
        "max",
        "min",
        "powf",
        "exp",
        "log",
        "abs",
        "ceil",
        "floor",
        "negf",
        "reciprocal",
        "round",
        "sqrt",
        "rsqrt",
        "square",
        "tanh",
    )
}
_DENSE = r"{} = dense<(\[[^\]]*\]|-?\d+)>"
_ITER = re.compile(r"iterator_type<(parallel|reduction)>|\"(parallel|reduction)\"")
_MAP = re.compile(r"affine_map<\(([^)]*)\)\s*->\s*\(([^)]*)\)>")
_LOC = re.compile(r'loc\("([^"]+)":(\d+):(\d+)\)')


def _element(type_text: str) -> str:
    """The element type of `tensor<4x8xf32>` / `tensor<f32>` / `f32`."""
    inner = type_text[type_text.index("<") + 1 : -1] if "<" in type_text else type_text
    return inner.rsplit("x", 1)[-1]


def _shape(type_text: str) -> list[int]:
    inner = type_text[type_text.index("<") + 1 : -1]
    return [int(d) for d in inner.split("x")[:-1]]


def _with_element(type_text: str, element: str) -> str:
    """`tensor<4x8xf32>` with its element type replaced by `element`."""
    dims = "".join(f"{d}x" for d in _shape(type_text))
    return f"tensor<{dims}{element}>"


@dataclass
class _Scalar:
    text: str  # e.g. "0.000000e+00"
    element: str  # e.g. "f32"


class _Translator:
    def __init__(self, sig: Signature, where: str, writes: list[int] | None = None):
        self.sig = sig
        # A tensorized memref entry: the arguments it writes, whose final
        # values (bufferization.materialize_in_destination) are the results.
        self.writes = writes or []
        self.written: dict[int, str] = {}
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
        return UsageError(
            f"{op.name}: {why}", where=f"{self.place(op)} (tpu: to-stablehlo)", hint=HINT
        )

    def place(self, op) -> str:
        """file:line:col of `op` (the input file's), else the stage's."""
        found = _LOC.search(str(op.location))
        return f"{found.group(1)}:{found.group(2)}:{found.group(3)}" if found else self.where

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
        element = _element(type_text)
        if element.startswith(("f", "bf")) and re.fullmatch(r"-?\d+", scalar):
            scalar += ".0"  # a float literal, as MLIR wants
        const = self.emit(f"stablehlo.constant dense<{scalar}> : tensor<{element}>")
        return self.emit(
            f"stablehlo.broadcast_in_dim {const}, dims = [] : (tensor<{element}>) -> {type_text}"
        )

    # -- ops --
    def entry(self, module_text: str):
        """The entry func.func op of the module (parsed with jaxlib's MLIR)."""
        from jaxlib.mlir import ir

        self._ctx = ctx = ir.Context()
        ctx.allow_unregistered_dialects = True
        try:
            module = ir.Module.parse(module_text, ctx)
        except Exception as err:
            raise UsageError(
                f"cannot read the program: {str(err).splitlines()[0]}", where=self.where
            ) from None
        func = None
        for op in module.body.operations:
            if (
                op.operation.name == "func.func"
                and ir.StringAttr(op.attributes["sym_name"]).value == self.sig.entry
            ):
                func = op
        if func is None:
            raise UsageError(f"no @{self.sig.entry} in the program", where=self.where)
        self._module = module  # keeps the parsed IR alive
        return func

    def run(self, module_text: str) -> str:
        func = self.entry(module_text)
        block = func.regions[0].blocks[0]
        params = []
        self.arg_index = {}
        for i, arg in enumerate(block.arguments):
            name = f"%arg{i}"
            self.names[arg.get_name()] = name
            self.arg_index[arg.get_name()] = i
            params.append(f"{name}: {str(arg.type).replace('memref<', 'tensor<', 1)}")
        results: list[str] = []
        for op in block.operations:
            self.op(op.operation, results)
        result_types = ", ".join(str(t) for t in self.sig.results)
        if self.writes:
            missing = [i for i in self.writes if i not in self.written]
            if missing or results:
                raise UsageError(
                    f"@{self.sig.entry}: written arguments {missing} have no final value",
                    where=self.where,
                )
            results = [self.written[i] for i in self.writes]
            result_types = ", ".join(
                str(self.sig.args[i]).replace("memref<", "tensor<", 1) for i in self.writes
            )
        body = "\n".join(self.lines)
        return (
            f"module @{self.sig.entry} {{\n"
            f"  func.func public @main({', '.join(params)}) -> ({result_types}) {{\n"
            f"{body}\n"
            f"    return {', '.join(results)} : {result_types}\n"
            f"  }}\n}}\n"
        )

    def op(self, op, results: list[str]) -> None:
        name = op.name
        if name == "arith.constant":
            text = str(op.attributes["value"])
            res = op.results[0]
            if str(res.type).startswith("tensor<"):
                self.names[res.get_name()] = self.emit(
                    f"stablehlo.constant {text.split(' : ')[0]} : {res.type}"
                )
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
        elif name in DOT_DIMS:
            self.matmul(op)
        elif name in CONV_DIMS or name in ("linalg.conv_2d", "linalg.depthwise_conv_2d_nhwc_hwc"):
            self.conv(op)
        elif name in POOLING:
            self.pooling(op)
        elif name in NAMED_ELEMENTWISE:
            self.named_elementwise(op)
        elif name == "linalg.broadcast":
            self.broadcast(op)
        elif name == "linalg.transpose":
            self.transpose(op)
        elif name == "linalg.copy" and len(op.operands) == 2:
            self.names[op.results[0].get_name()] = self.tensor(
                op.operands[0], str(op.operands[0].type), op
            )
        elif (
            name in ("tensor.collapse_shape", "tensor.expand_shape", "tensor.reshape")
            and op.results
            and str(op.results[0].type).startswith("tensor<")
        ):
            src = op.operands[0]
            self.names[op.results[0].get_name()] = self.emit(
                f"stablehlo.reshape {self.tensor(src, str(src.type), op)} : "
                f"({src.type}) -> {op.results[0].type}"
            )
        elif name == "linalg.generic":
            self.generic(op)
        elif name == "linalg.reduce":
            self.reduce(op)
        elif name == "bufferization.to_tensor" and op.operands[0].get_name() in self.arg_index:
            # A tensorized memref entry reads its argument: the parameter itself.
            self.names[op.results[0].get_name()] = self.names[op.operands[0].get_name()]
        elif (
            name == "bufferization.materialize_in_destination"
            and op.operands[1].get_name() in self.arg_index
        ):
            value = op.operands[0]
            self.written[self.arg_index[op.operands[1].get_name()]] = self.tensor(
                value, str(value.type), op
            )
        elif name == "func.return":
            results.extend(self.tensor(v, str(v.type), op) for v in op.operands)
        else:
            raise self.unsupported(op, "no StableHLO translation for this op")

    def matmul(self, op) -> None:
        """Contractions -> stablehlo.dot_general (result dims: batch, A's
        free dim, B's free dim, as linalg's output maps have them)."""
        a, b, _init = op.operands
        out_type = str(op.results[0].type)
        if _element(str(a.type)) != _element(str(b.type)):
            raise self.unsupported(op, "mixed element types are not supported")
        dims = DOT_DIMS[op.name]
        text = str(op).split("({")[0]
        if "indexing_maps" in text and op.name == "linalg.matmul":
            maps = [(d.replace(" ", ""), r.replace(" ", "")) for d, r in _MAP.findall(text)]
            if (
                len(maps) != 3
                or maps[2] != ("d0,d1,d2", "d0,d1")
                or maps[0][1] not in ("d0,d2", "d2,d0")
                or maps[1][1] not in ("d2,d1", "d1,d2")
            ):
                raise self.unsupported(op, "broadcast matmul maps are not supported")
            dims = (
                f"contracting_dims = [{maps[0][1].split(',').index('d2')}] x "
                f"[{maps[1][1].split(',').index('d2')}]"
            )
        product = self.emit(
            f"stablehlo.dot_general {self.tensor(a, str(a.type), op)}, "
            f"{self.tensor(b, str(b.type), op)}, {dims} : ({a.type}, {b.type}) -> {out_type}"
        )
        self.accumulate(op, product)

    def accumulate(self, op, value: str) -> None:
        """`op`'s result: `value` added to its init (linalg ops accumulate),
        or `value` itself when the init is a tensor.empty."""
        init = op.operands[-1]
        out_type = str(op.results[0].type)
        if init.get_name() in self.empty:
            self.names[op.results[0].get_name()] = value
            return
        acc = self.tensor(init, str(init.type), op)
        self.names[op.results[0].get_name()] = self.emit(
            f"stablehlo.add {acc}, {value} : {out_type}"
        )

    def window_attrs(self, op, spatial: int) -> dict[str, list[int]]:
        head = str(op).split("({")[0]
        window: dict[str, list[int]] = {}
        for key in ("strides", "dilations"):
            found = re.search(_DENSE.format(key), head)
            text = found.group(1).strip("[]") if found else "1"
            values = [int(v) for v in text.split(",")]
            window[key] = values * spatial if len(values) == 1 else values
        return window

    def conv(self, op) -> None:
        """Convolutions, no padding (linalg convs take the padded input)."""
        x, f, init = op.operands
        if _element(str(x.type)) != _element(str(f.type)) or _element(str(x.type)) != _element(
            str(init.type)
        ):
            raise self.unsupported(op, "mixed element types are not supported")
        out_type = str(op.results[0].type)
        x_type, f_type, o_type = str(x.type), str(f.type), out_type
        lhs, rhs = self.tensor(x, x_type, op), self.tensor(f, f_type, op)
        groups = 1
        numbers = CONV_DIMS.get(op.name)
        if op.name == "linalg.conv_2d":  # [H, W] * [KH, KW]: one batch, one channel
            x_type, f_type, o_type = (
                _with_element(f"tensor<{'x'.join(map(str, shape))}xf32>", _element(t))
                for shape, t in (
                    ([1, *_shape(str(x.type)), 1], str(x.type)),
                    ([*_shape(str(f.type)), 1, 1], str(f.type)),
                    ([1, *_shape(out_type), 1], out_type),
                )
            )
            numbers = CONV_DIMS["linalg.conv_2d_nhwc_hwcf"]
        elif op.name == "linalg.depthwise_conv_2d_nhwc_hwc":  # a group per channel
            kh, kw, groups = _shape(str(f.type))
            f_type = _with_element(f"tensor<{kh}x{kw}x1x{groups}xf32>", _element(str(f.type)))
            numbers = CONV_DIMS["linalg.conv_2d_nhwc_hwcf"]
        if x_type != str(x.type):
            lhs = self.emit(f"stablehlo.reshape {lhs} : ({x.type}) -> {x_type}")
        if f_type != str(f.type):
            rhs = self.emit(f"stablehlo.reshape {rhs} : ({f.type}) -> {f_type}")
        spatial = len(_shape(x_type)) - 2
        window = self.window_attrs(op, spatial)
        value = self.emit(
            f"stablehlo.convolution({lhs}, {rhs}) dim_numbers = {numbers}, "
            f"window = {{stride = [{', '.join(map(str, window['strides']))}], "
            f"pad = [{', '.join(['[0, 0]'] * spatial)}], "
            f"lhs_dilate = [{', '.join(['1'] * spatial)}], "
            f"rhs_dilate = [{', '.join(map(str, window['dilations']))}]}} "
            f"{{batch_group_count = 1 : i64, feature_group_count = {groups} : i64}} : "
            f"({x_type}, {f_type}) -> {o_type}"
        )
        if o_type != out_type:
            value = self.emit(f"stablehlo.reshape {value} : ({o_type}) -> {out_type}")
        self.accumulate(op, value)

    def pooling(self, op) -> None:
        """linalg.pooling_* -> stablehlo.reduce_window, combined with the init."""
        x, shape_only, init = op.operands
        combiner = POOLING[op.name]
        out_type = str(op.results[0].type)
        element = _element(out_type)
        identity = _IDENTITY[combiner].get(element)
        if identity is None:
            raise self.unsupported(op, f"pooling over {element} is not supported")
        kernel = _shape(str(shape_only.type))
        spatial = len(kernel)
        window = self.window_attrs(op, spatial)
        channels_last = "_nhwc_" in op.name or "_nwc_" in op.name or "_ndhwc_" in op.name

        def full(values: list[int]) -> str:
            whole = [1, *values, 1] if channels_last else [1, 1, *values]
            return ", ".join(map(str, whole))

        start = self.emit(f"stablehlo.constant dense<{identity}> : tensor<{element}>")
        src = self.tensor(x, str(x.type), op)
        scalar = f"tensor<{element}>"
        reduced = self.fresh()
        self.lines.extend(
            [
                f'    {reduced} = "stablehlo.reduce_window"({src}, {start}) ({{',
                f"    ^bb0(%pa: {scalar}, %pb: {scalar}):",
                f"      %pc = stablehlo.{combiner} %pa, %pb : {scalar}",
                f"      stablehlo.return %pc : {scalar}",
                f"    }}) {{window_dimensions = array<i64: {full(kernel)}>, "
                f"window_strides = array<i64: {full(window['strides'])}>, "
                f"window_dilations = array<i64: {full(window['dilations'])}>}} : "
                f"({x.type}, {scalar}) -> {out_type}",
            ]
        )
        acc = self.tensor(init, str(init.type), op)
        self.names[op.results[0].get_name()] = self.emit(
            f"stablehlo.{combiner} {acc}, {reduced} : {out_type}"
        )

    def named_elementwise(self, op) -> None:
        """linalg.add/exp/...: their region is the scalar body, like a generic's
        with identity maps."""
        out_type = str(op.results[0].type)
        n_in = len(op.operands) - 1
        if any(_shape(str(v.type)) != _shape(out_type) for v in op.operands):
            raise self.unsupported(op, "operands must have the output's shape")
        block = op.regions[0].blocks[0]
        env = {
            arg.get_name(): self.tensor(v, str(v.type), op)
            for arg, v in zip(list(block.arguments)[:n_in], op.operands, strict=False)
        }
        (result,) = self.body(op, block, env, out_type)
        self.names[op.results[0].get_name()] = result

    def dims_attr(self, op, key: str) -> list[int]:
        found = re.search(rf"{key} = array<i64(?::\s*([\d,\s]*))?>", str(op).split("({")[0])
        if not found:
            raise self.unsupported(op, f"cannot read its {key}")
        return [int(d) for d in (found.group(1) or "").replace(" ", "").split(",") if d]

    def broadcast(self, op) -> None:
        """linalg.broadcast: `dimensions` are the output dims that are added."""
        src = op.operands[0]
        out_type = str(op.results[0].type)
        added = self.dims_attr(op, "dimensions")
        kept = [d for d in range(len(_shape(out_type))) if d not in added]
        self.names[op.results[0].get_name()] = self.emit(
            f"stablehlo.broadcast_in_dim {self.tensor(src, str(src.type), op)}, "
            f"dims = [{', '.join(map(str, kept))}] : ({src.type}) -> {out_type}"
        )

    def transpose(self, op) -> None:
        src = op.operands[0]
        perm = self.dims_attr(op, "permutation")
        self.names[op.results[0].get_name()] = self.emit(
            f"stablehlo.transpose {self.tensor(src, str(src.type), op)}, "
            f"dims = [{', '.join(map(str, perm))}] : ({src.type}) -> {op.results[0].type}"
        )

    def generic(self, op) -> None:
        head = str(op).split("({")[0]
        iterators = [a or b for a, b in _ITER.findall(head)]
        maps = _MAP.findall(head) or _MAP.findall(str(op))
        n_in = len(op.operands) - len(op.results)
        if len(maps) < len(op.operands):
            raise self.unsupported(op, "cannot read its indexing maps")
        space = [d.strip() for d in maps[0][0].split(",") if d.strip()]
        reduced = [d for d, it in zip(space, iterators, strict=False) if it == "reduction"]
        if reduced:
            self.reduction_generic(op, maps, space, n_in)
            return
        out_dims = [d.strip() for d in maps[n_in][0].split(",")]
        for _dims_text, res_text in maps[n_in : len(op.operands)]:
            if [r.strip() for r in res_text.split(",")] != out_dims:
                raise self.unsupported(op, "outputs must use the identity map")
        out_type = str(op.results[0].type)
        block = op.regions[0].blocks[0]
        env: dict[str, str] = {}
        for i, (arg, operand) in enumerate(zip(block.arguments, op.operands, strict=True)):
            env[arg.get_name()] = self.broadcast_operand(
                op, operand, maps[i][1], out_dims, out_type
            )
        yielded = self.body(op, block, env, out_type)
        for result, value in zip(op.results, yielded, strict=True):
            self.names[result.get_name()] = value

    def broadcast_operand(
        self, op, operand, res_text: str, space: list[str], space_type: str
    ) -> str:
        """`operand` (indexed by `res_text`) as a tensor over the iteration space."""
        operand_type = str(operand.type)
        res = [r.strip() for r in res_text.split(",") if r.strip()]
        if any(r not in space for r in res):
            raise self.unsupported(op, f"indexing map {res_text!r} is not a broadcast")
        src = self.tensor(operand, operand_type, op)
        if res == space:
            return src
        positions = ", ".join(str(space.index(r)) for r in res)
        return self.emit(
            f"stablehlo.broadcast_in_dim {src}, dims = [{positions}] : "
            f"({operand_type}) -> {space_type}"
        )

    def body(
        self,
        op,
        block,
        env: dict[str, str],
        out_type: str,
        acc: str | None = None,
        reduce_into=None,
    ) -> list[str]:
        """Translate an elementwise region over tensors of `out_type`. With
        `acc` (the accumulator block argument), the op that combines it is
        handed to `reduce_into(op, combiner, other_operand_value)`."""
        yielded: list[str] = []
        combined: str | None = None  # the accumulator's new value (reductions)
        for inner in block.operations:
            inner = inner.operation
            used = [v.get_name() for v in inner.operands]
            if combined is not None and inner.name != "linalg.yield":
                raise self.unsupported(inner, "a reduction body must end with the combine")
            if acc is not None and acc in used and inner.name != "linalg.yield":
                if inner.name not in COMBINERS or used.count(acc) != 1 or len(used) != 2:
                    raise self.unsupported(
                        inner,
                        "a reduction body must combine the accumulator once with add/mul/max/min",
                    )
                other = inner.operands[1 - used.index(acc)]
                combined = inner.results[0].get_name()
                env[combined] = reduce_into(
                    inner, COMBINERS[inner.name], self.body_value(other, env, out_type, inner)
                )
                continue
            if inner.name == "linalg.yield":
                if acc is not None and used != [combined]:
                    raise self.unsupported(inner, "a reduction must yield the combined value")
                yielded = [self.body_value(v, env, out_type, inner) for v in inner.operands]
            elif inner.name == "arith.constant":
                value, _, _ = str(inner.attributes["value"]).partition(" : ")
                env[inner.results[0].get_name()] = self.splat(
                    value, _with_element(out_type, str(inner.results[0].type))
                )
            elif inner.name in ELEMENTWISE or inner.name in CONVERT or inner.name in COMPOSITE:
                args = [self.body_value(v, env, out_type, inner) for v in inner.operands]
                env[inner.results[0].get_name()] = self.elementwise(inner, args, out_type)
            else:
                raise self.unsupported(inner, "no elementwise StableHLO translation")
        return yielded

    def elementwise(self, inner, args: list[str], shape_type: str) -> str:
        """One body op over tensors shaped like `shape_type`; returns its value."""
        name = inner.name
        typ = _with_element(shape_type, str(inner.results[0].type))
        types = [_with_element(shape_type, str(v.type)) for v in inner.operands]
        if name in ELEMENTWISE:
            return self.emit(f"stablehlo.{ELEMENTWISE[name]} {', '.join(args)} : {typ}")
        if name in CONVERT:
            return self.emit(f"stablehlo.convert {args[0]} : ({types[0]}) -> {typ}")
        element = str(inner.results[0].type)
        if name == "arith.select":
            return self.emit(
                f'"stablehlo.select"({", ".join(args)}) : ({", ".join(types)}) -> {typ}'
            )
        if name in ("arith.cmpf", "arith.cmpi"):
            code = int(str(inner.attributes["predicate"]).split(":")[0])
            if code not in (_CMPF if name == "arith.cmpf" else _CMPI):
                raise self.unsupported(
                    inner,
                    f"comparison predicate {code} has no StableHLO "
                    "translation (ordered/unordered-only tests)",
                )
            if name == "arith.cmpi":
                direction, kind = _CMPI[code]
                return self.compare(direction, kind, args[0], args[1], types[0], typ)
            direction, negate = _CMPF[code]
            value = self.compare(direction, "FLOAT", args[0], args[1], types[0], typ)
            return self.emit(f"stablehlo.not {value} : {typ}") if negate else value
        x = args[0]
        if name == "math.tan":
            sin = self.emit(f"stablehlo.sine {x} : {typ}")
            cos = self.emit(f"stablehlo.cosine {x} : {typ}")
            return self.emit(f"stablehlo.divide {sin}, {cos} : {typ}")
        if name == "math.exp2":
            two = self.splat("2.0", typ)
            return self.emit(f"stablehlo.power {two}, {x} : {typ}")
        if name in ("math.log2", "math.log10"):
            base = self.splat(
                "0.69314718055994530942" if name == "math.log2" else "2.30258509299404568402", typ
            )
            ln = self.emit(f"stablehlo.log {x} : {typ}")
            return self.emit(f"stablehlo.divide {ln}, {base} : {typ}")
        if name == "math.atan":
            one = self.splat("1.0", typ)
            return self.emit(f"stablehlo.atan2 {x}, {one} : {typ}")
        if name == "math.trunc":
            zero = self.splat("0.0", typ)
            pred_type = _with_element(typ, "i1")
            negative = self.compare("LT", "FLOAT", x, zero, typ, pred_type)
            up = self.emit(f"stablehlo.ceil {x} : {typ}")
            down = self.emit(f"stablehlo.floor {x} : {typ}")
            return self.emit(
                f'"stablehlo.select"({negative}, {up}, {down}) : '
                f"({pred_type}, {typ}, {typ}) -> {typ}"
            )
        if name == "math.copysign":
            bits_type = _with_element(typ, _INT_BITS.get(element, "i32"))
            pred_type = _with_element(typ, "i1")
            bits = self.emit(f"stablehlo.bitcast_convert {args[1]} : ({typ}) -> {bits_type}")
            zero = self.splat("0", bits_type)
            negative = self.compare("LT", "SIGNED", bits, zero, bits_type, pred_type)
            mag = self.emit(f"stablehlo.abs {x} : {typ}")
            neg = self.emit(f"stablehlo.negate {mag} : {typ}")
            return self.emit(
                f'"stablehlo.select"({negative}, {neg}, {mag}) : '
                f"({pred_type}, {typ}, {typ}) -> {typ}"
            )
        if name == "math.fma":
            product = self.emit(f"stablehlo.multiply {args[0]}, {args[1]} : {typ}")
            return self.emit(f"stablehlo.add {product}, {args[2]} : {typ}")
        raise self.unsupported(inner, "no elementwise StableHLO translation")

    def compare(
        self, direction: str, kind: str, a: str, b: str, operand_type: str, pred_type: str
    ) -> str:
        return self.emit(
            f'"stablehlo.compare"({a}, {b}) {{comparison_direction = '
            f"#stablehlo<comparison_direction {direction}>, compare_type = "
            f"#stablehlo<comparison_type {kind}>}} : ({operand_type}, {operand_type}) -> "
            f"{pred_type}"
        )

    def space_type(self, op, operands, maps, space: list[str]) -> str:
        """The tensor type of the whole iteration space, sized from the inputs."""
        sizes: dict[str, int] = {}
        element = ""
        for operand, (_dims, res_text) in zip(operands, maps, strict=False):
            typ = str(operand.type)
            shape = typ[len("tensor<") : -1].split("x")
            element = element or shape[-1]
            for r, size in zip(
                [r.strip() for r in res_text.split(",") if r.strip()], shape[:-1], strict=False
            ):
                if r in space and size.isdigit():
                    sizes[r] = int(size)
        if any(d not in sizes for d in space):
            raise self.unsupported(op, "cannot size its iteration space from the inputs")
        dims = "x".join(str(sizes[d]) for d in space)
        return f"tensor<{dims + 'x' if dims else ''}{element}>"

    def reduce_to(
        self,
        op,
        value: str,
        value_type: str,
        combiner: str,
        dims: list[int],
        out_type: str,
        init_value,
    ) -> str:
        """combine(init, reduce(value over dims)) as StableHLO."""
        element = (
            out_type.rsplit("x", 1)[-1].rstrip(">")
            if "x" in out_type
            else out_type[len("tensor<") : -1]
        )
        identity = _IDENTITY[combiner].get(element)
        if identity is None:
            raise self.unsupported(op, f"reductions over {element} are not supported")
        start = self.emit(f"stablehlo.constant dense<{identity}> : tensor<{element}>")
        dims_text = ", ".join(str(d) for d in dims)
        reduced = self.emit(
            f"stablehlo.reduce({value} init: {start}) applies stablehlo.{combiner} across "
            f"dimensions = [{dims_text}] : ({value_type}, tensor<{element}>) -> {out_type}"
        )
        init = self.tensor(init_value, out_type, op)
        return self.emit(f"stablehlo.{combiner} {init}, {reduced} : {out_type}")

    def reduction_generic(self, op, maps, space: list[str], n_in: int) -> None:
        if len(op.results) != 1:
            raise self.unsupported(op, "reductions with several outputs are not supported")
        out_res = [r.strip() for r in maps[n_in][1].split(",") if r.strip()]
        positions = [space.index(r) for r in out_res if r in space]
        if len(positions) != len(out_res) or positions != sorted(positions):
            raise self.unsupported(op, "the output map must keep the parallel dims in order")
        reduced = [i for i, d in enumerate(space) if d not in out_res]
        full = self.space_type(op, op.operands[:n_in], maps[:n_in], space)
        out_type = str(op.results[0].type)
        block = op.regions[0].blocks[0]
        env: dict[str, str] = {}
        for arg, operand, (_d, res_text) in zip(
            block.arguments[:n_in], op.operands[:n_in], maps[:n_in], strict=True
        ):
            env[arg.get_name()] = self.broadcast_operand(op, operand, res_text, space, full)
        init = op.operands[n_in]

        def into(inner, combiner: str, value: str) -> str:
            return self.reduce_to(inner, value, full, combiner, reduced, out_type, init)

        (result,) = self.body(
            op, block, env, full, acc=block.arguments[n_in].get_name(), reduce_into=into
        )
        self.names[op.results[0].get_name()] = result

    def reduce(self, op) -> None:
        """linalg.reduce: one input, one init, dimensions = [...]."""
        if len(op.operands) != 2:
            raise self.unsupported(op, "only single-input linalg.reduce is supported")
        found = re.search(r"dimensions = array<i64(?::\s*([\d,\s]*))?>", str(op).split("({")[0])
        if not found:
            raise self.unsupported(op, "cannot read its dimensions")
        dims = [int(d) for d in (found.group(1) or "").replace(" ", "").split(",") if d]
        source, init = op.operands
        block = op.regions[0].blocks[0]
        full = str(source.type)
        env = {block.arguments[0].get_name(): self.tensor(source, full, op)}
        out_type = str(op.results[0].type)

        def into(inner, combiner: str, value: str) -> str:
            return self.reduce_to(inner, value, full, combiner, dims, out_type, init)

        (result,) = self.body(
            op, block, env, full, acc=block.arguments[1].get_name(), reduce_into=into
        )
        self.names[op.results[0].get_name()] = result

    def body_value(self, v, env: dict[str, str], out_type: str, op) -> str:
        name = v.get_name()
        if name in env:
            return env[name]
        if name in self.scalars:  # a scalar captured from the function body
            scalar = self.scalars[name]
            env[name] = self.splat(scalar.text, _with_element(out_type, scalar.element))
            return env[name]
        raise self.unsupported(op, f"operand {name} is not elementwise-translatable")


def _memref_refusal(generic_text: str, sig: Signature, where: str, opt: str) -> UsageError:
    """Why a memref entry was not converted to tensors (backend/tensorize.py),
    naming the statement that stopped the conversion."""
    from .tensorize import memrefs_to_tensors

    place, name = memrefs_to_tensors(generic_text, raise_nests=True).declined.get(
        sig.entry, ("", "?")
    )
    where_text = f"{place or where} (tpu: to-stablehlo)"
    if name in ("scf.for", "affine.for"):
        what = (
            "a loop nest that is neither a contraction raised by recognition "
            f"{'(off at -O0) ' if opt == 'O0' else ''}nor an elementwise nest (perfect, "
            "constant bounds, loads at the loop indices, scalar arith/math, one store of a "
            "whole argument)"
        )
    else:
        what = "an op on memref arguments that is not whole-buffer linalg"
    if opt == "O0":
        hint = (
            "at -O0 recognition is off: compile at -O1 or higher so matmul, batch-matmul "
            "and conv loop nests are raised to linalg, write the entry on tensors, or use "
            "host/offload-host"
        )
    else:
        hint = (
            f"recognition (-{opt}) raises matmul, batch-matmul and conv nests and tensorize "
            "raises elementwise nests; write this part as linalg on tensors or use "
            "host/offload-host, which run loop nests as they are"
        )
    return UsageError(
        f"{name}: {what}; the tpu target translates whole-tensor linalg only",
        where=where_text,
        hint=hint,
    )


def translate(
    generic_text: str, sig: Signature, where: str, writes: list[int] | None = None, opt: str = "O2"
) -> str:
    """StableHLO `@main` of the entry. `writes`: the memref arguments a
    tensorized memref entry writes (backend/tensorize.py); their final values
    become @main's results, in that order."""
    if not writes and any(a.kind != "tensor" for a in sig.args):
        raise _memref_refusal(generic_text, sig, where, opt)
    return _Translator(sig, where, writes).run(generic_text)
