"""Does the entry produce anything? An entry with no results must write at
least one of its memref arguments; one that does neither would run and hand
back its unchanged inputs (or, on tpu, an empty StableHLO program), so it is
refused at parse time on every target.

The check reads mlir-opt's printed form of the program (arguments named
%arg0, %arg1, ..., unique within a function) and is conservative: a memref
argument counts as written unless every use of it is a known read (a load, a
dim, a transfer read, a linalg op's `ins`, a to_tensor). Anything else (a
store, an `outs`, a view, a call) may write it, and the entry is accepted.
"""

from __future__ import annotations

import re

from ..bootstrap.errors import UsageError
from .program import Signature

_ENTRY = r"^(?P<indent>\s*)func\.func\s+(?:public\s+)?@{name}\("
_READS = re.compile(
    r"=\s*(?:memref\.load|affine\.load|vector\.load|vector\.transfer_read|vector\.maskedload"
    r"|memref\.dim|bufferization\.to_tensor)\s"
)


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


def _may_write(line: str, arg: str) -> bool:
    """Whether `line`, which mentions `arg`, may write through it."""
    if _READS.search(line):
        return False
    ins, outs = line.find(" ins("), line.find(" outs(")
    if line.lstrip().startswith(("linalg.", "%")) and ins >= 0 and outs > ins:
        return re.search(rf"{re.escape(arg)}\b", line[outs:]) is not None
    return True


def require_outputs(text: str, signature: Signature, where: str) -> None:
    """Raise a UsageError when the entry returns nothing and writes no memref
    argument (see the module docstring)."""
    if signature.results:
        return
    body = _body(text, signature.entry)
    memrefs = [f"%arg{i}" for i, a in enumerate(signature.args) if a.kind == "memref"]
    if body is None:
        return  # not found in the printed form: let the later stages judge
    for arg in memrefs:
        use = re.compile(rf"{re.escape(arg)}\b")
        if any(use.search(line) and _may_write(line, arg) for line in body[1:]):
            return
    raise UsageError(
        "the entry produces nothing: it returns no results and writes none of its memref arguments",
        where=f"{where}: @{signature.entry}",
        hint="return a tensor, or store the result into a memref argument",
    )
