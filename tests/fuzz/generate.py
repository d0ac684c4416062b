"""Random but valid MLIR programs, each with its own numpy model.

A program is a list of components run in order on the entry's arguments.
Each component emits its MLIR text and applies the same computation to numpy
arrays, so the reference never comes from mlirboot. Two families:

- memref programs: loop nests (scf or affine, every loop order, update and
  iter_args forms), matmul near-misses that must not be raised, elementwise
  nests, reductions and linalg named ops on memrefs, mixed in one function;
  the entry returns nothing and the results are the arguments' final contents;
- tensor programs: linalg named and generic ops (matmul chains, batch
  matmul, elementwise math, reductions, transposes) returning tensors (the tpu
  target's op set).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DTYPES = ("f32", "f64", "i32")
NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32}
SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 33)
ORDERS = ("ijk", "ikj", "jik", "jki", "kij", "kji")

State = dict[str, np.ndarray]


@dataclass
class Buffer:
    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def type(self) -> str:
        return f"memref<{'x'.join(map(str, self.shape))}x{self.dtype}>"

    @property
    def tensor(self) -> str:
        return f"tensor<{'x'.join(map(str, self.shape))}x{self.dtype}>"


@dataclass
class Component:
    """One nest or op: its MLIR lines (built by `emit`) and its numpy model."""

    kind: str
    emit: Callable[[Emitter], list[str]]
    model: Callable[[State], None]


@dataclass
class Program:
    name: str
    dtype: str
    family: str  # "memref" | "tensor"
    args: list[Buffer]
    components: list[Component]
    results: list[Buffer] = field(default_factory=list)  # tensor family
    seed: int = 0

    @property
    def kinds(self) -> list[str]:
        return [c.kind for c in self.components]

    def text(self) -> str:
        em = Emitter(self.dtype)
        body = [line for c in self.components for line in c.emit(em)]
        args = ", ".join(
            f"%{a.name}: {a.tensor if self.family == 'tensor' else a.type}" for a in self.args
        )
        if self.family == "tensor":
            res = ", ".join(r.tensor for r in self.results)
            head = f"func.func @fuzz({args}) -> ({res}) {{"
            names = ", ".join(f"%{r.name}" for r in self.results)
            tail = [f"  return {names} : {res}", "}"]
        else:
            head = f"func.func @fuzz({args}) {{"
            tail = ["  return", "}"]
        lines = [f"// fuzz program {self.name}", head, *em.prologue(), *body, *tail]
        return "\n".join([*lines, *em.functions])

    def inputs(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        out = []
        for a in self.args:
            if self.dtype == "i32":
                out.append(rng.integers(-4, 5, a.shape).astype(np.int32))
            else:
                out.append(rng.standard_normal(a.shape).astype(NP[self.dtype]))
        return out

    def reference(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """What the entry returns: its results (tensor family) or every
        argument's final contents (memref family), in order."""
        state = {a.name: x.copy() for a, x in zip(self.args, inputs, strict=True)}
        for c in self.components:
            c.model(state)
        names = (
            [r.name for r in self.results]
            if self.family == "tensor"
            else [a.name for a in self.args]
        )
        return [state[n].astype(NP[self.dtype]) for n in names]

    def without(self, index: int) -> Program:
        kept = self.components[:index] + self.components[index + 1 :]
        return Program(self.name, self.dtype, self.family, self.args, kept, self.results, self.seed)


class Emitter:
    """SSA names, index constants and dtype-specific spellings."""

    def __init__(self, dtype: str):
        self.dtype = dtype
        self.counter = 0
        self.consts: set[int] = set()
        self.functions: list[str] = []  # private functions the entry calls

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"%{prefix}{self.counter}"

    def idx(self, n: int) -> str:
        self.consts.add(n)
        return f"%c{n}"

    def prologue(self) -> list[str]:
        zero = "0.0" if self.dtype != "i32" else "0"
        one = "1.0" if self.dtype != "i32" else "1"
        return [f"  %c{n} = arith.constant {n} : index" for n in sorted(self.consts)] + [
            f"  %zero = arith.constant {zero} : {self.dtype}",
            f"  %one = arith.constant {one} : {self.dtype}",
        ]

    @property
    def is_int(self) -> bool:
        return self.dtype == "i32"

    def arith(self, op: str) -> str:
        ints = {"add": "addi", "sub": "subi", "mul": "muli", "max": "maxsi", "min": "minsi"}
        floats = {"add": "addf", "sub": "subf", "mul": "mulf", "max": "maximumf", "min": "minimumf"}
        return "arith." + (ints if self.is_int else floats)[op]


# --- loop nests over memrefs --------------------------------------------------


def _loop(
    em: Emitter,
    dialect: str,
    var: str,
    lo: int,
    hi: int,
    body: list[str],
    ind: str,
    iter_init: str | None = None,
    result: str | None = None,
) -> list[str]:
    """One loop around `body` (already indented one level deeper than `ind`)."""
    carry = ""
    if iter_init is not None:
        carry = f" iter_args(%acc_{var[1:]} = {iter_init}) -> ({em.dtype})"
    lhs = f"{result} = " if result else ""
    if dialect == "affine":
        head = f"{ind}{lhs}affine.for {var} = {lo} to {hi}{carry} {{"
    else:
        head = f"{ind}{lhs}scf.for {var} = {em.idx(lo)} to {em.idx(hi)} step {em.idx(1)}{carry} {{"
    return [head, *body, f"{ind}}}"]


def _load(em: Emitter, dialect: str, buf: Buffer, idx: list[str], ind: str) -> tuple[str, str]:
    v = em.fresh()
    op = "affine.load" if dialect == "affine" else "memref.load"
    return v, f"{ind}{v} = {op} %{buf.name}[{', '.join(idx)}] : {buf.type}"


def _store(dialect: str, value: str, buf: Buffer, idx: list[str], ind: str) -> str:
    op = "affine.store" if dialect == "affine" else "memref.store"
    return f"{ind}{op} {value}, %{buf.name}[{', '.join(idx)}] : {buf.type}"


def _nest(
    em: Emitter,
    dialect: str,
    loops: list[tuple[str, int, int]],
    inner: Callable[[str, dict[str, str]], list[str]],
) -> list[str]:
    """Perfect nest of `loops` (name, lo, hi), outermost first; `inner(ind,
    vars)` gives the innermost body."""
    vars_ = {name: em.fresh(name) for name, _, _ in loops}

    def build(depth: int) -> list[str]:
        ind = "  " * (depth + 1)
        if depth == len(loops):
            return inner(ind, vars_)
        name, lo, hi = loops[depth]
        return _loop(em, dialect, vars_[name], lo, hi, build(depth + 1), ind)

    return build(0)


def fill_nest(dialect: str, out: Buffer, value: str = "zero") -> Component:
    def emit(em: Emitter) -> list[str]:
        loops = [(f"d{i}", 0, n) for i, n in enumerate(out.shape)]
        return _nest(
            em,
            dialect,
            loops,
            lambda ind, v: [
                _store(dialect, f"%{value}", out, [v[f"d{i}"] for i in range(len(out.shape))], ind)
            ],
        )

    def model(s: State) -> None:
        s[out.name][...] = 0 if value == "zero" else 1

    return Component(f"fill-{dialect}", emit, model)


def matmul_nest(
    dialect: str,
    a: Buffer,
    b: Buffer,
    c: Buffer,
    form: str,
    order: str,
    variant: str = "matmul",
    batch: bool = False,
) -> Component:
    """C[i,j] (+)= A[i,k] * B[k,j], as a loop nest. `form`: "update" (load C,
    add, store C in the innermost loop; any loop order) or "iter" (k innermost
    with iter_args). `variant` names a near-miss: "overwrite" (no accumulation),
    "sub", "plus-one" (adds 1 per product), "k-from-1", "max" (max instead of
    add), "transposed-b" (B[j,k], still a matmul), or plain "matmul"."""
    *_, m, k = a.shape
    n = c.shape[-1]

    def idx(v: dict[str, str], which: str) -> list[str]:
        pre = [v["b"]] if batch else []
        if which == "a":
            return [*pre, v["i"], v["k"]]
        if which == "b":
            return [*pre, v["j"], v["k"]] if variant == "transposed-b" else [*pre, v["k"], v["j"]]
        return [*pre, v["i"], v["j"]]

    def product(em: Emitter, ind: str, v: dict[str, str]) -> tuple[str, list[str]]:
        x, lx = _load(em, dialect, a, idx(v, "a"), ind)
        y, ly = _load(em, dialect, b, idx(v, "b"), ind)
        p = em.fresh("p")
        lines = [lx, ly, f"{ind}{p} = {em.arith('mul')} {x}, {y} : {em.dtype}"]
        if variant == "plus-one":
            q = em.fresh("p")
            lines.append(f"{ind}{q} = {em.arith('add')} {p}, %one : {em.dtype}")
            p = q
        return p, lines

    def combine(em: Emitter, acc: str, p: str, ind: str) -> tuple[str, str]:
        r = em.fresh("s")
        op = {"sub": "sub", "max": "max"}.get(variant, "add")
        return r, f"{ind}{r} = {em.arith(op)} {acc}, {p} : {em.dtype}"

    k_lo = 1 if variant == "k-from-1" else 0

    def emit(em: Emitter) -> list[str]:
        bounds = {"i": (0, m), "j": (0, n), "k": (k_lo, k)}
        pre = [("b", 0, a.shape[0])] if batch else []
        if form == "update":
            loops = pre + [(ch, *bounds[ch]) for ch in order]

            def inner(ind: str, v: dict[str, str]) -> list[str]:
                p, lines = product(em, ind, v)
                if variant == "overwrite":
                    return [*lines, _store(dialect, p, c, idx(v, "c"), ind)]
                cur, lc = _load(em, dialect, c, idx(v, "c"), ind)
                r, lr = combine(em, cur, p, ind)
                return [*lines, lc, lr, _store(dialect, r, c, idx(v, "c"), ind)]

            return _nest(em, dialect, loops, inner)
        # iter_args: the k loop innermost carries the sum; i/j order from `order`.
        outer = pre + [(ch, *bounds[ch]) for ch in order if ch != "k"]

        def inner_iter(ind: str, v: dict[str, str]) -> list[str]:
            v["k"] = em.fresh("k")
            init, li = _load(em, dialect, c, idx(v, "c"), ind)
            acc = f"%acc_{v['k'][1:]}"
            body_ind = ind + "  "
            p, lines = product(em, body_ind, v)
            r, lr = combine(em, acc, p, body_ind)
            if variant == "overwrite":  # the carried value is replaced, not accumulated
                r, lr = p, ""
            yield_op = "affine.yield" if dialect == "affine" else "scf.yield"
            body = [*lines, *([lr] if lr else []), f"{body_ind}{yield_op} {r} : {em.dtype}"]
            total = em.fresh("t")
            loop = _loop(em, dialect, v["k"], k_lo, k, body, ind, iter_init=init, result=total)
            return [li, *loop, _store(dialect, total, c, idx(v, "c"), ind)]

        return _nest(em, dialect, outer, inner_iter)

    def model(s: State) -> None:
        A, B, C = (
            s[x.name].astype(np.float64 if a.dtype != "i32" else np.int64) for x in (a, b, c)
        )
        if variant == "transposed-b":
            B = np.swapaxes(B, -1, -2)
        A, B = A[..., k_lo:], B[..., k_lo:, :]
        if variant == "overwrite":
            res = A[..., :, -1:] * B[..., -1:, :]
        elif variant == "max":
            prods = A[..., :, :, None] * B[..., None, :, :]
            res = np.maximum(C, prods.max(axis=-2)) if k > k_lo else C
        else:
            res = A @ B + (k - k_lo if variant == "plus-one" else 0)
            res = C - res if variant == "sub" else C + res
        s[c.name][...] = res.astype(NP[c.dtype])

    tag = f"{'batch-' if batch else ''}{variant}-{form}-{order}-{dialect}"
    return Component(tag, emit, model)


UNARY = ("relu", "neg", "square", "exp", "tanh")
BINARY = ("add", "sub", "mul", "max")


def elementwise_nest(dialect: str, out: Buffer, x: Buffer, y: Buffer | None, op: str) -> Component:
    """out[...] = op(x[...], y[...]) (or unary op(x)); out may be x (in place)."""

    def emit(em: Emitter) -> list[str]:
        loops = [(f"d{i}", 0, n) for i, n in enumerate(out.shape)]

        def inner(ind: str, v: dict[str, str]) -> list[str]:
            ix = [v[f"d{i}"] for i in range(len(out.shape))]
            vx, lx = _load(em, dialect, x, ix, ind)
            lines = [lx]
            r = em.fresh("e")
            t = em.dtype
            if y is not None:
                vy, ly = _load(em, dialect, y, ix, ind)
                lines += [ly, f"{ind}{r} = {em.arith(op)} {vx}, {vy} : {t}"]
            elif op == "relu":
                lines.append(f"{ind}{r} = {em.arith('max')} {vx}, %zero : {t}")
            elif op == "neg":
                lines.append(f"{ind}{r} = {em.arith('sub')} %zero, {vx} : {t}")
            elif op == "square":
                lines.append(f"{ind}{r} = {em.arith('mul')} {vx}, {vx} : {t}")
            else:
                lines.append(f"{ind}{r} = math.{op} {vx} : {t}")
            return [*lines, _store(dialect, r, out, ix, ind)]

        return _nest(em, dialect, loops, inner)

    def model(s: State) -> None:
        X = s[x.name]
        if y is not None:
            Y = s[y.name]
            res = {"add": X + Y, "sub": X - Y, "mul": X * Y, "max": np.maximum(X, Y)}[op]
        else:
            res = {
                "relu": lambda: np.maximum(X, 0),
                "neg": lambda: -X,
                "square": lambda: X * X,
                "exp": lambda: np.exp(X),
                "tanh": lambda: np.tanh(X),
            }[op]()
        s[out.name][...] = res

    return Component(f"elementwise-{op}-{dialect}", emit, model)


def reduce_nest(dialect: str, out: Buffer, x: Buffer, op: str, form: str) -> Component:
    """out[i] = op over j of x[i, j] ("add" or "max"), seeded from out[i]."""
    m, n = x.shape

    def emit(em: Emitter) -> list[str]:
        if form == "update":

            def inner(ind: str, v: dict[str, str]) -> list[str]:
                vx, lx = _load(em, dialect, x, [v["i"], v["j"]], ind)
                cur, lc = _load(em, dialect, out, [v["i"]], ind)
                r = em.fresh("r")
                return [
                    lx,
                    lc,
                    f"{ind}{r} = {em.arith(op)} {cur}, {vx} : {em.dtype}",
                    _store(dialect, r, out, [v["i"]], ind),
                ]

            return _nest(em, dialect, [("i", 0, m), ("j", 0, n)], inner)

        def inner_iter(ind: str, v: dict[str, str]) -> list[str]:
            j = em.fresh("j")
            init, li = _load(em, dialect, out, [v["i"]], ind)
            body_ind = ind + "  "
            vx, lx = _load(em, dialect, x, [v["i"], j], body_ind)
            r = em.fresh("r")
            yield_op = "affine.yield" if dialect == "affine" else "scf.yield"
            body = [
                lx,
                f"{body_ind}{r} = {em.arith(op)} %acc_{j[1:]}, {vx} : {em.dtype}",
                f"{body_ind}{yield_op} {r} : {em.dtype}",
            ]
            total = em.fresh("t")
            return [
                li,
                *_loop(em, dialect, j, 0, n, body, ind, iter_init=init, result=total),
                _store(dialect, total, out, [v["i"]], ind),
            ]

        return _nest(em, dialect, [("i", 0, m)], inner_iter)

    def model(s: State) -> None:
        X, acc = s[x.name], s[out.name]
        s[out.name][...] = acc + X.sum(axis=1) if op == "add" else np.maximum(acc, X.max(axis=1))

    return Component(f"reduce-{op}-{form}-{dialect}", emit, model)


def linalg_memref_op(kind: str, out: Buffer, ins: list[Buffer]) -> Component:
    """linalg named ops on memrefs: matmul / batch_matmul (accumulate into
    out), fill (zero) and an elementwise linalg.generic (relu of ins[0])."""

    def emit(em: Emitter) -> list[str]:
        if kind == "fill":
            return [f"  linalg.fill ins(%zero : {em.dtype}) outs(%{out.name} : {out.type})"]
        if kind in ("matmul", "batch_matmul"):
            a, b = ins
            return [
                f"  linalg.{kind} ins(%{a.name}, %{b.name} : {a.type}, {b.type}) "
                f"outs(%{out.name} : {out.type})"
            ]
        rank = len(out.shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        amap = f"affine_map<({dims}) -> ({dims})>"
        iters = ", ".join(['"parallel"'] * rank)
        t = em.dtype
        return [
            f"  linalg.generic {{indexing_maps = [{amap}, {amap}], iterator_types = [{iters}]}}"
            f" ins(%{ins[0].name} : {ins[0].type}) outs(%{out.name} : {out.type}) {{",
            f"  ^bb0(%in: {t}, %o: {t}):",
            f"    %r = {em.arith('max')} %in, %zero : {t}",
            f"    linalg.yield %r : {t}",
            "  }",
        ]

    def model(s: State) -> None:
        if kind == "fill":
            s[out.name][...] = 0
        elif kind in ("matmul", "batch_matmul"):
            s[out.name][...] = s[out.name] + s[ins[0].name] @ s[ins[1].name]
        else:
            s[out.name][...] = np.maximum(s[ins[0].name], 0)

    return Component(f"linalg-{kind}-memref", emit, model)


def in_helper(parts: list[Component], bufs: list[Buffer], dtype: str, name: str) -> Component:
    """`parts` moved into a private function of `bufs` that the entry calls
    (offload-host once translated a callee's parallel loops outside the
    target region: garbage results)."""

    def emit(em: Emitter) -> list[str]:
        sub = Emitter(dtype)
        body = [line for part in parts for line in part.emit(sub)]
        params = ", ".join(f"%{b.name}: {b.type}" for b in bufs)
        em.functions += [
            f"func.func private @{name}({params}) {{",
            *sub.prologue(),
            *body,
            "  return",
            "}",
            *sub.functions,
        ]
        args = ", ".join(f"%{b.name}" for b in bufs)
        types = ", ".join(b.type for b in bufs)
        return [f"  func.call @{name}({args}) : ({types}) -> ()"]

    def model(state: State) -> None:
        for part in parts:
            part.model(state)

    return Component("call-" + "+".join(p.kind for p in parts), emit, model)


# --- the generator ------------------------------------------------------------


class Generator:
    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.args: list[Buffer] = []

    def size(self) -> int:
        return self.rng.choice(SIZES)

    def buffer(self, shape: tuple[int, ...], dtype: str) -> Buffer:
        buf = Buffer(f"a{len(self.args)}", shape, dtype)
        self.args.append(buf)
        return buf

    def program(self) -> Program:
        r = self.rng
        dtype = r.choice(DTYPES)
        if r.random() < 0.25:
            return self.tensor_program(dtype)
        comps: list[Component] = []
        for n in range(r.choice((1, 1, 2, 2, 3))):
            start = len(self.args)
            part = self.scenario(dtype)
            if r.random() < 0.15:
                part = [in_helper(part, self.args[start:], dtype, f"helper{n}")]
            comps += part
        return Program(f"seed{self.seed}", dtype, "memref", self.args, comps, seed=self.seed)

    def scenario(self, dtype: str) -> list[Component]:
        """A matmul-like nest with optional fill before and epilogue after
        (the mixed function the schedule once broke), or a standalone nest."""
        r = self.rng
        dialect = r.choice(("scf", "affine"))
        what = r.choices(("matmul", "elementwise", "reduce", "linalg", "scratch"), (5, 2, 2, 2, 1))[
            0
        ]
        if what == "scratch":
            return [self.scratch_matmul(dialect, dtype)]
        if what == "elementwise":
            shape = (self.size(), self.size())[: r.choice((1, 2))]
            ops = [o for o in UNARY + BINARY if dtype != "i32" or o not in ("exp", "tanh")]
            op = r.choice(ops)
            x = self.buffer(shape, dtype)
            y = self.buffer(shape, dtype) if op in BINARY else None
            out = x if r.random() < 0.3 else self.buffer(shape, dtype)
            return [elementwise_nest(dialect, out, x, y, op)]
        if what == "reduce":
            m, n = self.size(), self.size()
            x, out = self.buffer((m, n), dtype), self.buffer((m,), dtype)
            return [
                reduce_nest(dialect, out, x, r.choice(("add", "max")), r.choice(("update", "iter")))
            ]
        m, n, k = self.size(), self.size(), self.size()
        batch = r.random() < 0.2
        pre = (r.choice((1, 2, 3)),) if batch else ()
        variants = ("matmul",) * 6 + (
            "overwrite",
            "sub",
            "plus-one",
            "k-from-1",
            "max",
            "transposed-b",
        )
        variant = r.choice(variants) if what == "matmul" else "linalg"
        a = self.buffer((*pre, m, k), dtype)
        b_shape = (*pre, n, k) if variant == "transposed-b" else (*pre, k, n)
        b = self.buffer(b_shape, dtype)
        c = self.buffer((*pre, m, n), dtype)
        comps = []
        if r.random() < 0.5:
            comps.append(
                fill_nest(dialect, c) if r.random() < 0.7 else linalg_memref_op("fill", c, [])
            )
        if variant == "linalg":
            comps.append(linalg_memref_op("batch_matmul" if batch else "matmul", c, [a, b]))
        else:
            form = r.choice(("update", "iter"))
            comps.append(matmul_nest(dialect, a, b, c, form, r.choice(ORDERS), variant, batch))
        if r.random() < 0.5:
            epi = r.choice(("relu", "neg", "square", "generic-relu"))
            out = c if r.random() < 0.6 else self.buffer(c.shape, dtype)
            comps.append(
                linalg_memref_op("generic", out, [c])
                if epi == "generic-relu"
                else elementwise_nest(r.choice(("scf", "affine")), out, c, None, epi)
            )
        return comps

    def scratch_matmul(self, dialect: str, dtype: str) -> Component:
        """A matmul into a local memref.alloc, an epilogue from it into an
        argument, then the program's own memref.dealloc (which the
        deallocation pipeline once refused). One component: alloc and
        dealloc never part in the reducer."""
        r = self.rng
        m, n, k = self.size(), self.size(), self.size()
        a, b = self.buffer((m, k), dtype), self.buffer((k, n), dtype)
        out = self.buffer((m, n), dtype)
        tmp = Buffer(f"scratch{len(self.args)}", (m, n), dtype)
        form, order = r.choice(("update", "iter")), r.choice(ORDERS)
        parts = [
            fill_nest(dialect, tmp) if r.random() < 0.5 else linalg_memref_op("fill", tmp, []),
            matmul_nest(dialect, a, b, tmp, form, order, "matmul", False),
            elementwise_nest(r.choice(("scf", "affine")), out, tmp, None, r.choice(UNARY[:3])),
        ]

        def emit(em: Emitter) -> list[str]:
            body = [line for part in parts for line in part.emit(em)]
            return [
                f"  %{tmp.name} = memref.alloc() : {tmp.type}",
                *body,
                f"  memref.dealloc %{tmp.name} : {tmp.type}",
            ]

        def model(state: State) -> None:
            state[tmp.name] = np.zeros(tmp.shape, NP[dtype])
            for part in parts:
                part.model(state)
            del state[tmp.name]

        return Component("scratch-matmul-dealloc", emit, model)

    def tensor_program(self, dtype: str) -> Program:
        from .tensor_ops import tensor_program

        return tensor_program(self, dtype)


def generate(seed: int) -> Program:
    """The program of `seed` (deterministic)."""
    return Generator(seed).program()
