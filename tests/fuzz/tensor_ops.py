"""Tensor programs for the fuzzer: linalg named and generic ops on tensors
(matmul chains, batch matmul, elementwise math, bias broadcasts, reductions,
transposes) returning tensors. Each op is a Component whose model writes the
value it defines into the numpy state under the same name."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .generate import NP, Buffer, Component, Emitter, Program, State

if TYPE_CHECKING:
    from .generate import Generator


def _init(em: Emitter, out: Buffer) -> tuple[str, list[str]]:
    """A zero-filled tensor of out's type."""
    e, f = em.fresh("empty"), em.fresh("init")
    return f, [
        f"  {e} = tensor.empty() : {out.tensor}",
        f"  {f} = linalg.fill ins(%zero : {em.dtype}) outs({e} : {out.tensor}) -> {out.tensor}",
    ]


def contraction(kind: str, out: Buffer, a: Buffer, b: Buffer) -> Component:
    def emit(em: Emitter) -> list[str]:
        init, lines = _init(em, out)
        return [
            *lines,
            f"  %{out.name} = linalg.{kind} ins(%{a.name}, %{b.name} : {a.tensor}, "
            f"{b.tensor}) outs({init} : {out.tensor}) -> {out.tensor}",
        ]

    def model(s: State) -> None:
        s[out.name] = s[a.name] @ s[b.name]

    return Component(f"t-{kind}", emit, model)


def generic_matmul(out: Buffer, a: Buffer, b: Buffer, layout: str) -> Component:
    """out = A x B as a linalg.generic; `layout` "nn", "tn" (A stored [k, m])
    or "nt" (B stored [n, k]): transposed operands must not be named a plain
    linalg.matmul."""
    amap = "(k, i)" if layout == "tn" else "(i, k)"
    bmap = "(j, k)" if layout == "nt" else "(k, j)"

    def emit(em: Emitter) -> list[str]:
        init, lines = _init(em, out)
        t = em.dtype
        maps = ", ".join(f"affine_map<(i, j, k) -> {m}>" for m in (amap, bmap, "(i, j)"))
        return [
            *lines,
            f"  %{out.name} = linalg.generic {{indexing_maps = [{maps}], "
            f'iterator_types = ["parallel", "parallel", "reduction"]}} '
            f"ins(%{a.name}, %{b.name} : {a.tensor}, {b.tensor}) outs({init} : {out.tensor}) {{",
            f"  ^bb0(%x: {t}, %y: {t}, %acc: {t}):",
            f"    %m = {em.arith('mul')} %x, %y : {t}",
            f"    %s = {em.arith('add')} %acc, %m : {t}",
            f"    linalg.yield %s : {t}",
            f"  }} -> {out.tensor}",
        ]

    def model(s: State) -> None:
        A = s[a.name].T if layout == "tn" else s[a.name]
        B = s[b.name].T if layout == "nt" else s[b.name]
        s[out.name] = A @ B

    return Component(f"t-generic-matmul-{layout}", emit, model)


def binary(op: str, out: Buffer, x: Buffer, y: Buffer) -> Component:
    """linalg.add / sub / mul / max (named elementwise ops)."""

    def emit(em: Emitter) -> list[str]:
        e = em.fresh("empty")
        return [
            f"  {e} = tensor.empty() : {out.tensor}",
            f"  %{out.name} = linalg.{op} ins(%{x.name}, %{y.name} : {x.tensor}, {y.tensor})"
            f" outs({e} : {out.tensor}) -> {out.tensor}",
        ]

    def model(s: State) -> None:
        X, Y = s[x.name], s[y.name]
        s[out.name] = {"add": X + Y, "sub": X - Y, "mul": X * Y, "max": np.maximum(X, Y)}[op]

    return Component(f"t-{op}", emit, model)


def unary_generic(op: str, out: Buffer, x: Buffer) -> Component:
    """A linalg.generic applying relu / exp / tanh / neg elementwise."""
    rank = len(out.shape)
    dims = ", ".join(f"d{i}" for i in range(rank))
    amap = f"affine_map<({dims}) -> ({dims})>"
    iters = ", ".join(['"parallel"'] * rank)

    def emit(em: Emitter) -> list[str]:
        e, t = em.fresh("empty"), em.dtype
        if op == "relu":
            body = f"{em.arith('max')} %in, %zero : {t}"
        elif op == "neg":
            body = f"{em.arith('sub')} %zero, %in : {t}"
        else:
            body = f"math.{op} %in : {t}"
        return [
            f"  {e} = tensor.empty() : {out.tensor}",
            f"  %{out.name} = linalg.generic {{indexing_maps = [{amap}, {amap}], "
            f"iterator_types = [{iters}]}} ins(%{x.name} : {x.tensor}) "
            f"outs({e} : {out.tensor}) {{",
            f"  ^bb0(%in: {t}, %o: {t}):",
            f"    %r = {body}",
            f"    linalg.yield %r : {t}",
            f"  }} -> {out.tensor}",
        ]

    def model(s: State) -> None:
        X = s[x.name]
        s[out.name] = {
            "relu": lambda: np.maximum(X, 0),
            "neg": lambda: -X,
            "exp": lambda: np.exp(X),
            "tanh": lambda: np.tanh(X),
        }[op]()

    return Component(f"t-generic-{op}", emit, model)


def bias_add(out: Buffer, x: Buffer, bias: Buffer) -> Component:
    """out[i, j] = x[i, j] + bias[j] (a broadcasting linalg.generic)."""

    def emit(em: Emitter) -> list[str]:
        e, t = em.fresh("empty"), em.dtype
        ident = "affine_map<(d0, d1) -> (d0, d1)>"
        row = "affine_map<(d0, d1) -> (d1)>"
        return [
            f"  {e} = tensor.empty() : {out.tensor}",
            f"  %{out.name} = linalg.generic {{indexing_maps = [{ident}, {row}, {ident}], "
            f'iterator_types = ["parallel", "parallel"]}} ins(%{x.name}, %{bias.name} : '
            f"{x.tensor}, {bias.tensor}) outs({e} : {out.tensor}) {{",
            f"  ^bb0(%in: {t}, %bb: {t}, %o: {t}):",
            f"    %r = {em.arith('add')} %in, %bb : {t}",
            f"    linalg.yield %r : {t}",
            f"  }} -> {out.tensor}",
        ]

    def model(s: State) -> None:
        s[out.name] = s[x.name] + s[bias.name][None, :]

    return Component("t-bias-add", emit, model)


def row_sum(out: Buffer, x: Buffer) -> Component:
    """linalg.reduce over dimension 1 with add."""

    def emit(em: Emitter) -> list[str]:
        init, lines = _init(em, out)
        t = em.dtype
        return [
            *lines,
            f"  %{out.name} = linalg.reduce ins(%{x.name} : {x.tensor}) "
            f"outs({init} : {out.tensor}) dimensions = [1]",
            f"    (%in: {t}, %acc: {t}) {{",
            f"      %r = {em.arith('add')} %in, %acc : {t}",
            f"      linalg.yield %r : {t}",
            "    }",
        ]

    def model(s: State) -> None:
        s[out.name] = s[x.name].sum(axis=1)

    return Component("t-reduce-sum", emit, model)


def transpose(out: Buffer, x: Buffer) -> Component:
    def emit(em: Emitter) -> list[str]:
        e = em.fresh("empty")
        return [
            f"  {e} = tensor.empty() : {out.tensor}",
            f"  %{out.name} = linalg.transpose ins(%{x.name} : {x.tensor}) "
            f"outs({e} : {out.tensor}) permutation = [1, 0]",
        ]

    def model(s: State) -> None:
        s[out.name] = s[x.name].T.copy()

    return Component("t-transpose", emit, model)


def tensor_program(gen: Generator, dtype: str) -> Program:
    """A matmul (or batch matmul / chain) followed by 0-3 random ops."""
    r = gen.rng
    count = 0

    def value(shape: tuple[int, ...]) -> Buffer:
        nonlocal count
        count += 1
        return Buffer(f"t{count}", shape, dtype)

    comps: list[Component] = []
    if r.random() < 0.2:
        nb, m, k, n = r.choice((1, 2, 3)), gen.size(), gen.size(), gen.size()
        a, b = gen.buffer((nb, m, k), dtype), gen.buffer((nb, k, n), dtype)
        cur = value((nb, m, n))
        comps.append(contraction("batch_matmul", cur, a, b))
        final = [cur]
        return Program(f"seed{gen.seed}", dtype, "tensor", gen.args, comps, final, gen.seed)
    m, k, n = gen.size(), gen.size(), gen.size()
    if r.random() < 0.3:
        if r.random() < 0.5:
            m = n = k  # square: a wrongly named transpose still verifies
        layout = r.choice(("nn", "tn", "nt"))
        a = gen.buffer((k, m) if layout == "tn" else (m, k), dtype)
        b = gen.buffer((n, k) if layout == "nt" else (k, n), dtype)
        cur = value((m, n))
        comps.append(generic_matmul(cur, a, b, layout))
    else:
        a, b = gen.buffer((m, k), dtype), gen.buffer((k, n), dtype)
        cur = value((m, n))
        comps.append(contraction("matmul", cur, a, b))
    results = []
    for _ in range(r.choice((0, 1, 2, 3))):
        choice = r.choice(("chain", "binary", "unary", "bias", "reduce", "transpose", "keep"))
        if choice == "chain":
            w = gen.buffer((cur.shape[1], gen.size()), dtype)
            nxt = value((cur.shape[0], w.shape[1]))
            comps.append(contraction("matmul", nxt, cur, w))
        elif choice == "binary":
            y = gen.buffer(cur.shape, dtype)
            nxt = value(cur.shape)
            comps.append(binary(r.choice(("add", "sub", "mul", "max")), nxt, cur, y))
        elif choice == "unary":
            ops = ("relu", "neg") if dtype == "i32" else ("relu", "neg", "tanh")
            nxt = value(cur.shape)
            comps.append(unary_generic(r.choice(ops), nxt, cur))
        elif choice == "bias":
            bias = gen.buffer((cur.shape[1],), dtype)
            nxt = value(cur.shape)
            comps.append(bias_add(nxt, cur, bias))
        elif choice == "reduce":
            results.append(value((cur.shape[0],)))
            comps.append(row_sum(results[-1], cur))
            continue
        elif choice == "transpose":
            nxt = value((cur.shape[1], cur.shape[0]))
            comps.append(transpose(nxt, cur))
        else:
            results.append(cur)
            continue
        cur = nxt
    results.append(cur)
    return Program(f"seed{gen.seed}", dtype, "tensor", gen.args, comps, results, gen.seed)


def as_dtype(x: np.ndarray, dtype: str) -> np.ndarray:
    return x.astype(NP[dtype])
