"""Split host/device: wrap the lowered entry's body into an `omp.target`
region (the device kernel), and give the module the attributes of its host
or device translation. Works on the LLVM-dialect text mlir-opt prints."""

from __future__ import annotations

import re
from pathlib import Path

from ..bootstrap.errors import BuildError
from .program import Signature

_FUNC_END = re.compile(r"^  \}(?: loc\(.*\))?$")
_RETURN = re.compile(r"^(\s*)llvm\.return(\s+loc\(.*\))?\s*$")
_MODULE = re.compile(r"^module(?: @[\w$.]+)?(?: attributes \{(?P<attrs>.*)\})? \{", re.M)


def wrap_entry_in_target(text: str, sig: Signature, kernel_loc: Path, where: str) -> str:
    """Rewrite `llvm.func @entry(ptr...)` so its whole body runs inside one
    `omp.target` region that maps every buffer: inputs `to`, result
    out-params `from`, memref arguments (written in place) `tofrom`.

    The region gets the location `kernel_loc`:1:1 -- a file that exists, as
    the kernel name's file id comes from it, and the host and device
    translations must agree on it."""
    lines = text.splitlines()
    head = re.compile(rf"^  llvm\.func @{re.escape(sig.entry)}\(")
    try:
        start = next(i for i, line in enumerate(lines) if head.match(line))
        end = next(i for i in range(start + 1, len(lines)) if _FUNC_END.match(lines[i]))
    except StopIteration:
        raise BuildError(f"lowered module has no body for @{sig.entry}", where=where) from None
    if not lines[start].rstrip().endswith("{"):
        raise BuildError(f"unexpected header for @{sig.entry}: {lines[start]!r}", where=where)
    body = []
    for line in lines[start + 1 : end]:
        match = _RETURN.match(line)
        if match:
            body.append(f"  {match.group(1)}omp.terminator")
        elif line.strip().startswith("llvm.return"):
            raise BuildError(
                "the entry returns values after lowering",
                where=where,
                hint="results must be tensors (they become out-params)",
            )
        else:
            body.append("  " + line)
    buffers = sig.buffers
    kinds = ["tofrom" if b.kind == "memref" else "to" for b in sig.args]
    kinds += ["from"] * len(sig.results)
    params = ", ".join(f"%h{i}: !llvm.ptr" for i in range(len(buffers)))
    out = [f"  llvm.func @{sig.entry}({params}) {{"]
    for i, (buf, kind) in enumerate(zip(buffers, kinds, strict=True)):
        out.append(
            f"    %m{i} = omp.map.info var_ptr(%h{i} : !llvm.ptr, !llvm.array<{buf.nbytes} x i8>)"
            f' map_clauses({kind}) capture(ByRef) -> !llvm.ptr {{name = "arg{i}"}}'
        )
    if buffers:
        entries = ", ".join(f"%m{i} -> %arg{i}" for i in range(len(buffers)))
        types = ", ".join("!llvm.ptr" for _ in buffers)
        out.append(f"    omp.target map_entries({entries} : {types}) {{")
    else:
        out.append("    omp.target {")
    out += body
    out.append(f'    }} loc("{kernel_loc}":1:1)')
    out += ["    llvm.return", "  }"]
    return "\n".join(lines[:start] + out + lines[end + 1 :]) + "\n"


def with_module_attributes(text: str, attrs: dict[str, str]) -> str:
    """Add `attrs` (name -> MLIR attribute text) to the top-level module."""
    match = _MODULE.search(text)
    if not match:
        raise BuildError("no top-level module in the lowered program", where="offload")
    existing = match.group("attrs")
    new = ", ".join(f"{k} = {v}" for k, v in attrs.items())
    merged = f"{existing}, {new}" if existing else new
    return text[: match.start()] + f"module attributes {{{merged}}} {{" + text[match.end() :]


def kernel_names(device_ir: str) -> list[str]:
    return re.findall(r"^define [^@]*@(__omp_offloading_\w+)\(", device_ir, re.M)


_ALLOCA = re.compile(r"^(\s*)%(\S+) = llvm\.alloca (.*) -> !llvm\.ptr((?: loc\(.*\))?)$", re.M)


def allocas_in_address_space(text: str, space: int) -> str:
    """Targets whose stack lives in its own address space (AMDGPU: 5) need
    allocas there, cast back to the generic pointer the code uses -- what
    clang emits; the generic memref lowering does not know about it."""

    def fix(m: re.Match[str]) -> str:
        indent, name, rest, loc = m.groups()
        return (
            f"{indent}%as_{name} = llvm.alloca {rest} -> !llvm.ptr<{space}>{loc}\n"
            f"{indent}%{name} = llvm.addrspacecast %as_{name}"
            f" : !llvm.ptr<{space}> to !llvm.ptr"
        )

    return _ALLOCA.sub(fix, text)
