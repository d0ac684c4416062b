"""What the entry does with its memref arguments, judged on mlir-opt's printed
form of a program (arguments named %arg0, %arg1, ...; a name is unique among
the values a region sees, sibling regions may reuse it), conservatively: an
argument counts as written unless every use of it, and of every view of it, is
a known read.

Views (memref.subview, expand_shape, collapse_shape, reinterpret_cast, cast,
transpose) alias their source: their uses are the argument's. Known reads: a
load (memref, affine, vector, masked), a transfer read, memref.dim, memref.copy's
source, a linalg op's `ins`, a to_tensor without `writable` (one-shot-bufferize
never writes into such a tensor in place). Anything else (a store, an `outs`,
a call, a loop's iter_args, an unknown op) may write it.

Two uses:
- `require_outputs`: an entry with no results must write at least one of its
  memref arguments; one that does neither would run and hand back its
  unchanged inputs (or, on tpu, an empty StableHLO program), so it is refused
  at parse time on every target.
- `readonly_args`: on the final memref-level code of the entry, the arguments
  it never writes; Artifact.run passes those without a copy.
"""

from __future__ import annotations

import re

from ..bootstrap.errors import UsageError
from .program import Signature

_ENTRY = r"^(?P<indent>\s*)func\.func\s+(?:public\s+)?@{name}\("
_VALUE = re.compile(r"%[\w$.-]+")
_READS = re.compile(
    r"=\s*(?:memref\.load|affine\.load|vector\.load|vector\.transfer_read|vector\.maskedload"
    r"|memref\.dim)\s"
)
_TO_TENSOR = re.compile(r"=\s*bufferization\.to_tensor\s")
_VIEW = re.compile(
    r"^\s*(?P<result>%[\w$.-]+)\s*=\s*memref\."
    r"(?:subview|expand_shape|collapse_shape|reinterpret_cast|cast|transpose)\s"
)
_COPY = re.compile(r"^\s*memref\.copy\s+%[\w$.-]+\s*,\s*(?P<target>%[\w$.-]+)")
_LINALG = re.compile(r"^\s*(?:%[\w$.:#-]+\s*=\s*)?linalg\.")


def _body(text: str, name: str) -> list[str] | None:
    """The lines of @name's definition (signature line through its closing brace)."""
    lines = text.splitlines()
    head = re.compile(_ENTRY.format(name=re.escape(name)))
    for i, line in enumerate(lines):
        found = head.match(line)
        if found is None:
            continue
        close = found["indent"] + "}"
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(close) and not lines[j].startswith(close + ")"):
                return lines[i : j + 1]
        return lines[i:]
    return None


def _writes(line: str, used: set[str]) -> set[str]:
    """Which of the buffers `used` (values `line` mentions) its op may write."""
    if _READS.search(line):
        return set()
    if _TO_TENSOR.search(line):
        return used if " writable" in line else set()
    copy = _COPY.match(line)
    if copy:
        return used & {copy["target"]}
    ins, outs = line.find(" ins("), line.find(" outs(")
    if _LINALG.match(line) and 0 <= ins < outs:
        return used & set(_VALUE.findall(line[:ins] + line[outs:]))
    return used


def _written(body: list[str], args: list[str]) -> set[str]:
    """The arguments of `args` (names) the function `body` may write.

    A view's name is known only in the region that defines it: the printer
    reuses names in sibling regions (two loops' bodies can each hold a
    %subview), so each region's views are forgotten at its closing brace."""
    scopes: list[dict[str, str]] = [{arg: arg for arg in args}]  # value -> the argument it views

    def viewed(value: str) -> str | None:
        for scope in reversed(scopes):
            if value in scope:
                return scope[value]
        return None

    written: set[str] = set()
    for line in body[1:]:
        stripped = line.strip()
        if stripped.startswith("}") and len(scopes) > 1:
            scopes.pop()
        used = {v: arg for v in _VALUE.findall(line) if (arg := viewed(v)) is not None}
        view = _VIEW.match(line) if used else None
        if view and view["result"] not in used and len(used) == 1:
            scopes[-1][view["result"]] = next(iter(used.values()))
        elif used:
            written |= {used[v] for v in _writes(line, set(used))}
        if stripped.endswith("{"):
            scopes.append({})
    return written


def readonly_args(text: str, entry: str, count: int, arity: int) -> list[int] | None:
    """Of the entry's first `count` arguments, the indices of the memrefs its
    code in `text` never writes; None when `text` holds no func.func @entry;
    none when that function does not take `arity` arguments (the C ABI's
    pointers: arguments, then one out-param per result)."""
    body = _body(text, entry)
    if body is None:
        return None
    if len(re.findall(r"%arg\d+: ", body[0])) != arity:
        return []
    memrefs = [i for i in range(count) if re.search(rf"%arg{i}: memref<", body[0])]
    written = _written(body, [f"%arg{i}" for i in memrefs])
    return [i for i in memrefs if f"%arg{i}" not in written]


def require_outputs(text: str, signature: Signature, where: str) -> None:
    """Raise a UsageError when the entry returns nothing and writes no memref
    argument (see the module docstring)."""
    if signature.results:
        return
    body = _body(text, signature.entry)
    if body is None:
        return  # not found in the printed form: let the later stages judge
    memrefs = [f"%arg{i}" for i, a in enumerate(signature.args) if a.kind == "memref"]
    if _written(body, memrefs):
        return
    raise UsageError(
        "the entry produces nothing: it returns no results and writes none of its memref arguments",
        where=f"{where}: @{signature.entry}",
        hint="return a tensor, or store the result into a memref argument",
    )
