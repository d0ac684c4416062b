"""Memref entries -> tensor programs (the `memref-to-tensor` step).

A front end that lowers ordinary code writes loop nests over memref
arguments (examples/loop_matmul.mlir). Once the recognition pass has raised
those nests, the function is straight-line linalg on its memref arguments:

    linalg.fill ins(%zero) outs(%C); linalg.matmul ins(%A, %B) outs(%C)

This step rewrites such a function into value semantics: each memref
argument is read once as a tensor (`bufferization.to_tensor ... restrict`),
each linalg op produces a new tensor value for what it wrote, and each written
argument receives its final value (`bufferization.materialize_in_destination
... restrict writable`) before the return. The function's signature does not
change (callers still pass buffers), but everything tensor-only now sees the
program: the host matmul schedule, and the tpu StableHLO translator (which
turns the materialized values into results written back into the arguments).

It works on mlir-opt's generic op form, where every op has the same shape
(`%r = "name"(operands) <{props}> ({regions}) : (types) -> (types) loc(...)`).
A function is converted only when every use of a memref argument is a linalg
op's operand; anything else (loads/stores of a loop nest that was not raised,
views, calls) leaves the function unchanged: its plain lowering still works
on host and devices, and the tpu translator rejects it with its location.

With `raise_nests` (the tpu pipeline's `memref-to-tensor-nests` step), a
function's remaining elementwise loop nests are first rewritten as
linalg.generic ops on its memref arguments, so a function that mixes a raised
matmul with a zero fill or a relu nest becomes a tensor program too. A nest
qualifies when it is perfect (`for i = 0 to N step 1`, scf or affine, no
iter_args), its innermost body is loads, scalar arith/math ops and one store,
the store writes a whole memref argument at the loop indices in loop order,
every load reads an argument at loop indices (a subset or permutation:
broadcasts, transposes), and the stored argument is read, if at all, only at
the stored element. Anything else leaves the function unchanged, and
`Converted.declined` says which statement stopped it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FUNC = re.compile(r'^  "func\.func"\(\) <\{(?P<props>.*)\}> \(\{$')
_SYM = re.compile(r'sym_name = "(?P<name>[^"]+)"')
_BLOCK = re.compile(r"^  \^bb0\((?P<args>.*)\):$")
_ARG = re.compile(
    r"(?P<name>%arg\d+): (?P<type>memref<[^<>]*>|tensor<[^<>]*>|[\w.]+)"
    r"(?: loc\((?P<loc>[^()]*(?:\([^()]*\))?[^()]*)\))?"
)
_OP = re.compile(
    r"^    (?:(?P<res>%[\w]+)(?::(?P<n>\d+))? = )?"
    r'"(?P<name>[\w.]+)"\((?P<operands>[^)]*)\)'
)
_SEGMENTS = re.compile(r"operandSegmentSizes = array<i32: (?P<ins>\d+), (?P<outs>\d+)>")
_TRAILER = re.compile(
    r"^(?P<head>.*): \((?P<ins>.*)\) -> (?P<outs>\(\)|\(.*\)|[^ ]+)"
    r"(?P<loc> loc\(.*\))?$"
)
_MEMREF = re.compile(r"memref<([^<>]*)>")
_LOCREF = re.compile(r"^(?P<ref>#loc\d*) = loc\((?P<body>.*)\)$", re.M)
_MAPDEF = re.compile(r"^(?P<ref>#map\d*) = (?P<map>affine_map<.*>)$", re.M)
_CONST_INDEX = re.compile(
    r'^    (?P<res>%[\w]+) = "arith\.constant"\(\) '
    r"<\{value = (?P<value>-?\d+) : index\}>"
)
_BB_ARG = re.compile(r"^\s*\^bb0\((?P<iv>%[\w]+): index(?: loc\(.*\))?\):$")
_IDENTITY_MAP = re.compile(r"affine_map<\((?P<dims>[^)]*)\) -> \((?P<res>[^)]*)\)>")
_FILELOC = re.compile(r'"(?P<file>[^"]+)":(?P<line>\d+):(?P<col>\d+)')


@dataclass
class Converted:
    text: str
    # entry name -> indices of the memref arguments it writes (in order)
    writes: dict[str, list[int]] = field(default_factory=dict)
    # "file:line:col" (or "") and what was done, per converted function
    remarks: list[tuple[str, str]] = field(default_factory=list)
    # entry name -> ("file:line:col" or "", op name) of the first statement
    # that kept a function with memref arguments from being converted
    declined: dict[str, tuple[str, str]] = field(default_factory=dict)


def _statements(lines: list[str], start: int) -> tuple[list[list[str]], int]:
    """Top-level statements of a function body (indent 4) from `start` up to
    the function's closing `  }) ...` line; returns them and that line's index."""
    stmts: list[list[str]] = []
    i = start
    while i < len(lines) and not lines[i].startswith("  })"):
        line = lines[i]
        if (
            line.startswith("    ")
            and not line.startswith("     ")
            and not line.lstrip().startswith(("}", "^"))
        ):
            stmts.append([line])
        elif stmts:
            stmts[-1].append(line)
        else:
            return [], i  # unexpected shape (e.g. several blocks): leave it
        i += 1
    return stmts, i


def _tensor(memref_type: str) -> str:
    return _MEMREF.sub(r"tensor<\1>", memref_type)


def _split_types(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "<([{"
        depth -= ch in ">)]}"
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def source_location(text: str, loc: str | None) -> str:
    """`loc(...)` text (or a `#locN` alias) -> "file:line:col" when known."""
    if not loc:
        return ""
    aliases = {m["ref"]: m["body"] for m in _LOCREF.finditer(text)}
    body = loc.strip()
    for _ in range(4):  # aliases may point at aliases
        body = aliases.get(body, body)
    found = _FILELOC.search(body)
    return f"{found['file']}:{found['line']}:{found['col']}" if found else ""


@dataclass
class _Nest:
    ivs: list[str]
    trips: list[int]
    body: list[str]  # the innermost loop's body lines (without its yield)
    loc: str | None


def _resolve_map(text: str, aliases: dict[str, str]) -> str:
    found = re.search(r"(#map\d*\b|affine_map<[^>]*>)", text)
    ref = found.group(1) if found else ""
    return aliases.get(ref, ref)


def _match_nest(stmt: list[str], consts: dict[str, int], maps: dict[str, str]) -> _Nest | None:
    """A perfect scf.for/affine.for nest from 0 to a constant, step 1, no
    iter_args; None otherwise."""
    nest = _Nest([], [], [], None)
    lines = stmt
    depth = 0
    while True:
        indent = " " * (4 + 2 * depth)
        head = lines[0]
        trailer = lines[-1]
        if not (head.startswith(indent) and trailer.startswith(indent + "})")):
            return None
        if depth == 0:
            found = re.search(r" loc\((.*)\)$", trailer)
            nest.loc = found.group(1) if found else None
        loop = _OP.match("    " + head.lstrip())
        if (
            loop is None
            or head.lstrip().startswith("%")
            or loop["name"] not in ("scf.for", "affine.for")
        ):
            return None
        if loop["name"] == "scf.for":
            bounds = [o.strip() for o in loop["operands"].split(",")]
            if (
                len(bounds) != 3
                or [consts.get(b) for b in (bounds[0], bounds[2])] != [0, 1]
                or consts.get(bounds[1]) is None
            ):
                return None
            trip = consts[bounds[1]]
        else:
            props = head[head.find("<{") :]
            lower = re.search(r"lowerBoundMap = ([#\w<>()\s>-]+?)(?:,|\}>)", props)
            upper = re.search(r"upperBoundMap = ([#\w<>()\s>-]+?)(?:,|\}>)", props)
            if (
                loop["operands"].strip()
                or "array<i32: 0, 0, 0>" not in props
                or "step = 1 : index" not in props
                or not lower
                or not upper
            ):
                return None
            lo = re.fullmatch(
                r"affine_map<\(\) -> \((\d+)\)>", maps.get(lower[1].strip(), lower[1].strip())
            )
            hi = re.fullmatch(
                r"affine_map<\(\) -> \((\d+)\)>", maps.get(upper[1].strip(), upper[1].strip())
            )
            if not lo or not hi or lo[1] != "0":
                return None
            trip = int(hi[1])
        block = _BB_ARG.match(lines[1])
        if block is None or trip <= 0:
            return None
        nest.ivs.append(block["iv"])
        nest.trips.append(trip)
        body = lines[2:-1]
        inner = indent + "  "
        if not body or not re.match(rf'^{inner}"(scf|affine)\.yield"\(\) ', body[-1]):
            return None
        body = body[:-1]
        if (
            body
            and body[0].startswith(inner + '"')
            and re.match(r'"(scf|affine)\.for"', body[0].lstrip())
            and len(body) > 2
            and body[1].startswith(inner + "^bb0")
            and body[-1].startswith(inner + "})")
            and all(line.startswith(inner + " ") for line in body[2:-1])
        ):
            lines = body
            depth += 1
            continue
        if any(not line.startswith(inner) or line.startswith(inner + " ") for line in body):
            return None  # regions (nested ops) or another loop in the innermost body
        nest.body = body
        return nest


def _raise_nest(
    stmt: list[str],
    consts: dict[str, int],
    maps: dict[str, str],
    memrefs: dict[str, str],
    counter: int,
) -> list[str] | None:
    """The nest as one `linalg.generic` statement on memref arguments, or None."""
    nest = _match_nest(stmt, consts, maps)
    if nest is None or not nest.body:
        return None
    pos = {iv: i for i, iv in enumerate(nest.ivs)}
    dims = ", ".join(f"d{i}" for i in range(len(nest.ivs)))
    store = _OP.match("    " + nest.body[-1].lstrip())
    if store is None or store["name"] not in ("memref.store", "affine.store") or store["res"]:
        return None

    def access(op: re.Match, line: str, first: int) -> tuple[str, list[str]] | None:
        operands = [o.strip() for o in op["operands"].split(",")]
        buf, idx = operands[first], operands[first + 1 :]
        if buf not in memrefs or any(i not in pos for i in idx) or len(set(idx)) != len(idx):
            return None
        if op["name"].startswith("affine."):
            found = _IDENTITY_MAP.fullmatch(_resolve_map(line[line.find("<{") :], maps))
            if (
                not found
                or found["dims"].replace(" ", "") != found["res"].replace(" ", "")
                or len([d for d in found["dims"].split(",") if d.strip()]) != len(idx)
            ):
                return None
        shape = memrefs[buf][len("memref<") : -1].split("x")[:-1]
        if [str(nest.trips[pos[i]]) for i in idx] != shape:
            return None  # not the whole buffer (or a dynamic one)
        return buf, idx

    stored = access(store, nest.body[-1], 1)
    if stored is None or stored[1] != nest.ivs:
        return None
    out_buf = stored[0]
    value = store["operands"].split(",")[0].strip()
    ins: list[tuple[str, list[str], str]] = []  # buffer, indices, block argument name
    out_arg = f"%mbt_o{counter}"
    body: list[str] = []
    for line in nest.body[:-1]:
        op = _OP.match("    " + line.lstrip())
        if op is None:
            return None
        if op["name"] in ("memref.load", "affine.load"):
            got = access(op, line, 0)
            if got is None or not op["res"] or op["n"]:
                return None
            if got[0] == out_buf:
                if got[1] != nest.ivs or out_arg != f"%mbt_o{counter}":
                    return None  # another element of the written buffer: a dependence
                out_arg = op["res"]
            else:
                ins.append((got[0], got[1], op["res"]))
            continue
        if (
            not op["name"].startswith(("arith.", "math."))
            or "memref<" in line
            or any(iv in re.findall(r"%[\w]+", line) for iv in nest.ivs)
        ):
            return None
        body.append("      " + line.lstrip())
    element = memrefs[out_buf][len("memref<") : -1].split("x")[-1]
    in_types = [memrefs[b] for b, _, _ in ins]
    elements = [t[len("memref<") : -1].split("x")[-1] for t in in_types]
    index_maps = [
        f"affine_map<({dims}) -> ({', '.join(f'd{pos[i]}' for i in idx)})>" for _, idx, _ in ins
    ]
    index_maps.append(f"affine_map<({dims}) -> ({dims})>")
    iterators = ", ".join(["#linalg.iterator_type<parallel>"] * len(nest.ivs))
    operands = ", ".join([b for b, _, _ in ins] + [out_buf])
    block_args = ", ".join(
        [f"{n}: {e}" for (_, _, n), e in zip(ins, elements, strict=True)]
        + [f"{out_arg}: {element}"]
    )
    loc = f" loc({nest.loc})" if nest.loc else ""
    return [
        f'    "linalg.generic"({operands}) <{{indexing_maps = [{", ".join(index_maps)}], '
        f"iterator_types = [{iterators}], operandSegmentSizes = array<i32: {len(ins)}, 1>}}> ({{",
        f"    ^bb0({block_args}):",
        *body,
        f'      "linalg.yield"({value}) : ({element}) -> (){loc}',
        f"    }}) : ({', '.join([*in_types, memrefs[out_buf]])}) -> (){loc}",
    ]


def _convert_function(
    text: str,
    lines: list[str],
    block_at: int,
    name: str,
    func_loc: str | None,
    out: Converted,
    raise_nests: bool = False,
) -> list[str] | None:
    """The converted body lines (from the ^bb0 line through the last
    statement), or None when the function is not a straight-line linalg
    program over its memref arguments."""
    block = _BLOCK.match(lines[block_at])
    if block is None:
        return None
    args = [(m["name"], m["type"]) for m in _ARG.finditer(block["args"])]
    memrefs = {a: t for a, t in args if t.startswith("memref<")}
    if not memrefs:
        return None
    stmts, _ = _statements(lines, block_at + 1)
    if not stmts:
        return None
    uses = re.compile("|".join(rf"{re.escape(a)}\b" for a in memrefs))
    current = {a: f"%mbt_{a[1:]}" for a in memrefs}
    written: list[str] = []
    body: list[str] = []
    counter = 0
    consts = {m["res"]: int(m["value"]) for st in stmts if (m := _CONST_INDEX.match(st[0]))}
    maps = {m["ref"]: m["map"] for m in _MAPDEF.finditer(text)}
    raised: list[str] = []

    def decline(stmt: list[str], op: str) -> None:
        found = re.search(r" loc\((.*)\)$", stmt[-1])
        out.declined[name] = (source_location(text, found.group(1) if found else None), op)

    for stmt in stmts:
        head = _OP.match(stmt[0])
        if head is None:
            decline(stmt, "?")
            return None
        op = head["name"]
        if raise_nests and op in ("scf.for", "affine.for"):
            nest = _raise_nest(stmt, consts, maps, memrefs, len(raised))
            if nest is None:
                decline(stmt, op)
                return None
            found = re.search(r" loc\((.*)\)$", stmt[-1])
            raised.append(source_location(text, found.group(1) if found else None))
            stmt = nest
            head = _OP.match(stmt[0])
            assert head is not None
            op = head["name"]
        text_all = "\n".join(stmt)
        if op == "func.return":
            body.extend(
                f'    "bufferization.materialize_in_destination"({current[a]}, {a}) '
                f"<{{restrict, writable}}> : ({_tensor(memrefs[a])}, {memrefs[a]}) -> ()"
                for a in written
            )
            body.extend(stmt)
            continue
        if not uses.search(text_all) and "memref<" not in text_all:
            body.extend(stmt)  # scalars, tensor ops: unchanged
            continue
        segments = _SEGMENTS.search(stmt[0])
        trailer = _TRAILER.match(stmt[-1])
        operands = [o.strip() for o in head["operands"].split(",") if o.strip()]
        if not op.startswith("linalg.") or segments is None or trailer is None or head["res"]:
            decline(stmt, op)
            return None
        inner = "\n".join(stmt[1:-1] if len(stmt) > 2 else [])
        if uses.search(inner) or any(
            o not in memrefs and "memref<" in t
            for o, t in zip(operands, _split_types(trailer["ins"]), strict=False)
        ):
            return None  # a memref used inside a region, or one that is not an argument
        n_in = int(segments["ins"])
        outs = operands[n_in:]
        if not outs or any(o not in memrefs for o in outs) or trailer["outs"] != "()":
            return None
        result = f"%mbt_r{counter}"
        counter += 1
        renamed = ", ".join(current.get(o, o) for o in operands)
        first = stmt[0].replace(f'"{op}"({head["operands"]})', f'"{op}"({renamed})', 1)
        results = [_tensor(memrefs[o]) for o in outs]
        result_types = results[0] if len(results) == 1 else f"({', '.join(results)})"
        last = (
            f"{trailer['head']}: ({_tensor(trailer['ins'])}) -> {result_types}"
            f"{trailer['loc'] or ''}"
        )
        lines_out = (
            [first, *stmt[1:-1], last]
            if len(stmt) > 1
            else [first[: first.rindex(": (")] + last[last.rindex(": (") :]]
        )
        suffix = f":{len(outs)}" if len(outs) > 1 else ""
        lines_out[0] = lines_out[0].replace("    ", f"    {result}{suffix} = ", 1)
        body.extend(lines_out)
        for i, o in enumerate(outs):
            current[o] = f"{result}#{i}" if len(outs) > 1 else result
            if o not in written:
                written.append(o)
    reads = [
        f'    %mbt_{a[1:]} = "bufferization.to_tensor"({a}) '
        f"<{{restrict{', writable' if a in written else ''}}}> : ({t}) -> {_tensor(t)}"
        for a, t in memrefs.items()
    ]
    arg_index = {a: i for i, (a, _) in enumerate(args)}
    out.writes[name] = [arg_index[a] for a in written]
    out.remarks.extend(
        (where, "raised elementwise loop nest to linalg.generic") for where in raised
    )
    out.remarks.append(
        (
            source_location(text, func_loc),
            f"converted @{name} to tensors: reads its memref arguments once, writes "
            + (", ".join(f"argument {arg_index[a]}" for a in written) or "none"),
        )
    )
    return [lines[block_at], *reads, *body]


def memrefs_to_tensors(generic_text: str, raise_nests: bool = False) -> Converted:
    """Convert every eligible top-level function of `generic_text` (generic op
    form); with `raise_nests`, elementwise loop nests first become linalg."""
    lines = generic_text.split("\n")
    out = Converted(text=generic_text)
    result: list[str] = []
    i = 0
    while i < len(lines):
        func = _FUNC.match(lines[i])
        if func is None or i + 1 >= len(lines):
            result.append(lines[i])
            i += 1
            continue
        name_match = _SYM.search(func["props"])
        has_block = lines[i + 1].startswith("  ^")
        _, end = _statements(lines, i + 2 if has_block else i + 1)
        trailer = _TRAILER.match(lines[end]) if end < len(lines) else None
        converted = None
        if has_block and name_match and "function_type" in func["props"]:
            converted = _convert_function(
                generic_text,
                lines,
                i + 1,
                name_match["name"],
                trailer["loc"][5:-1] if trailer and trailer["loc"] else None,
                out,
                raise_nests,
            )
        result.append(lines[i])
        result.extend(converted if converted is not None else lines[i + 1 : end])
        i = end
    out.text = "\n".join(result)
    return out
