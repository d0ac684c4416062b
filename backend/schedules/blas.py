"""BLAS replacement: linalg.matmul (f32/f64, memref form, i.e. after bufferization)
becomes a call to a small C shim (blas_shim.c) that calls cblas_sgemm/cblas_dgemm.

The BLAS is Debian's OpenBLAS (`apt-get install libopenblas-dev`: cblas.h and
libopenblas.so). The rewrite is textual on mlir-opt's printed form: it needs no
pass of our own, and anything it does not recognise (other element types,
transposed `indexing_maps` variants) is left as linalg and lowered as usual.
Threads: OpenBLAS reads OPENBLAS_NUM_THREADS at run time (the benchmark sets 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ...bootstrap import proc

SHIM_SOURCE = Path(__file__).with_name("blas_shim.c")
FUNCS = {"f32": "mlirboot_blas_sgemm", "f64": "mlirboot_blas_dgemm"}

#: `linalg.matmul ins(%a, %b : T, T) outs(%c : T)` as mlir-opt prints it on memrefs
#: (no result). Types are matched up to the closing delimiter; strided layouts
#: contain no `,` ... `)` sequence that would end the group early, see _TYPE.
_TYPE = r"memref<[^<>]*(?:<[^<>]*>[^<>]*)?>"
_MATMUL = re.compile(
    r"^(?P<indent>[ \t]*)linalg\.matmul ins\((?P<a>%[\w.#]+), (?P<b>%[\w.#]+) : "
    rf"(?P<ta>{_TYPE}), (?P<tb>{_TYPE})\) outs\((?P<c>%[\w.#]+) : (?P<tc>{_TYPE})\)[ \t]*$",
    re.MULTILINE,
)


def dynamic_memref(dtype: str) -> str:
    """The memref type the shim takes: any 2-d strided layout."""
    return f"memref<?x?x{dtype}, strided<[?, ?], offset: ?>>"


def replace_matmuls(text: str) -> str:
    """Rewrite every f32/f64 memref linalg.matmul in `text` into a shim call."""
    used: set[str] = set()
    counter = 0

    def rewrite(m: re.Match[str]) -> str:
        nonlocal counter
        dtype = m["tc"].rsplit("x", 1)[-1].split(",")[0].rstrip(">")
        if dtype not in FUNCS or any(dtype not in m[t] for t in ("ta", "tb")):
            return m[0]
        used.add(dtype)
        dyn, ind = dynamic_memref(dtype), m["indent"]
        names = []
        lines = []
        for operand, ty in ((m["a"], m["ta"]), (m["b"], m["tb"]), (m["c"], m["tc"])):
            name = f"%blas_{counter}"
            counter += 1
            names.append(name)
            lines.append(f"{ind}{name} = memref.cast {operand} : {ty} to {dyn}")
        lines.append(
            f"{ind}func.call @{FUNCS[dtype]}({', '.join(names)}) : ({dyn}, {dyn}, {dyn}) -> ()"
        )
        return "\n".join(lines)

    out = _MATMUL.sub(rewrite, text)
    if not used:
        return out
    decls = "".join(
        f"  func.func private @{FUNCS[d]}({', '.join([dynamic_memref(d)] * 3)}) "
        "attributes {llvm.emit_c_interface}\n"
        for d in sorted(used)
    )
    head = re.search(r"^module\b[^\n]*\{[ \t]*\n", out, re.MULTILINE)
    if head is None:
        return f"module {{\n{decls}{out}\n}}\n"
    return out[: head.end()] + decls + out[head.end() :]


def build_shim(out: Path, *, clang: Path, run: Callable[..., proc.Result] = proc.run) -> Path:
    """Compile the shim to an object file (needs cblas.h from libopenblas-dev)."""
    run(
        [clang, "-O2", "-fPIC", "-c", SHIM_SOURCE, "-o", out],
        stage="blas: compile shim",
        log_path=out.with_suffix(".log"),
        hint="apt-get install libopenblas-dev (cblas.h, libopenblas.so)",
    )
    return out


def link_args() -> list[str]:
    """What the final link needs besides the shim object."""
    return ["-lopenblas"]
