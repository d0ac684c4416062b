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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FUNC = re.compile(r'^  "func\.func"\(\) <\{(?P<props>.*)\}> \(\{$')
_SYM = re.compile(r'sym_name = "(?P<name>[^"]+)"')
_BLOCK = re.compile(r"^  \^bb0\((?P<args>.*)\):$")
_ARG = re.compile(r"(?P<name>%arg\d+): (?P<type>memref<[^<>]*>|tensor<[^<>]*>|[\w.]+)"
                  r"(?: loc\((?P<loc>[^()]*(?:\([^()]*\))?[^()]*)\))?")
_OP = re.compile(r'^    (?:(?P<res>%[\w]+)(?::(?P<n>\d+))? = )?'
                 r'"(?P<name>[\w.]+)"\((?P<operands>[^)]*)\)')
_SEGMENTS = re.compile(r"operandSegmentSizes = array<i32: (?P<ins>\d+), (?P<outs>\d+)>")
_TRAILER = re.compile(r"^(?P<head>.*): \((?P<ins>.*)\) -> (?P<outs>\(\)|\(.*\)|[^ ]+)"
                      r"(?P<loc> loc\(.*\))?$")
_MEMREF = re.compile(r"memref<([^<>]*)>")
_LOCREF = re.compile(r"^(?P<ref>#loc\d*) = loc\((?P<body>.*)\)$", re.M)
_FILELOC = re.compile(r'"(?P<file>[^"]+)":(?P<line>\d+):(?P<col>\d+)')


@dataclass
class Converted:
    text: str
    # entry name -> indices of the memref arguments it writes (in order)
    writes: dict[str, list[int]] = field(default_factory=dict)
    # "file:line:col" (or "") and what was done, per converted function
    remarks: list[tuple[str, str]] = field(default_factory=list)


def _statements(lines: list[str], start: int) -> tuple[list[list[str]], int]:
    """Top-level statements of a function body (indent 4) from `start` up to
    the function's closing `  }) ...` line; returns them and that line's index."""
    stmts: list[list[str]] = []
    i = start
    while i < len(lines) and not lines[i].startswith("  })"):
        line = lines[i]
        if line.startswith("    ") and not line.startswith("     ") and \
                not line.lstrip().startswith(("}", "^")):
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


def _convert_function(text: str, lines: list[str], block_at: int, name: str,
                      func_loc: str | None, out: Converted) -> list[str] | None:
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
    for stmt in stmts:
        head = _OP.match(stmt[0])
        if head is None:
            return None
        op = head["name"]
        text_all = "\n".join(stmt)
        if op == "func.return":
            body.extend(
                f'    "bufferization.materialize_in_destination"({current[a]}, {a}) '
                f"<{{restrict, writable}}> : ({_tensor(memrefs[a])}, {memrefs[a]}) -> ()"
                for a in written)
            body.extend(stmt)
            continue
        if not uses.search(text_all) and "memref<" not in text_all:
            body.extend(stmt)  # scalars, tensor ops: unchanged
            continue
        segments = _SEGMENTS.search(stmt[0])
        trailer = _TRAILER.match(stmt[-1])
        operands = [o.strip() for o in head["operands"].split(",") if o.strip()]
        if not op.startswith("linalg.") or segments is None or trailer is None or head["res"]:
            return None
        inner = "\n".join(stmt[1:-1] if len(stmt) > 2 else [])
        if uses.search(inner) or any(o not in memrefs and "memref<" in t for o, t in
                                     zip(operands, _split_types(trailer["ins"]), strict=False)):
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
        last = (f"{trailer['head']}: ({_tensor(trailer['ins'])}) -> {result_types}"
                f"{trailer['loc'] or ''}")
        lines_out = [first, *stmt[1:-1], last] if len(stmt) > 1 else [
            first[: first.rindex(": (")] + last[last.rindex(": ("):]]
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
    out.remarks.append((
        source_location(text, func_loc),
        f"converted @{name} to tensors: reads its memref arguments once, writes "
        + (", ".join(f"argument {arg_index[a]}" for a in written) or "none")))
    return [lines[block_at], *reads, *body]


def memrefs_to_tensors(generic_text: str) -> Converted:
    """Convert every eligible top-level function of `generic_text` (generic op form)."""
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
            converted = _convert_function(generic_text, lines, i + 1, name_match["name"],
                                          trailer["loc"][5:-1] if trailer and trailer["loc"]
                                          else None, out)
        result.append(lines[i])
        result.extend(converted if converted is not None else lines[i + 1:end])
        i = end
    out.text = "\n".join(result)
    return out
