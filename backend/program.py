"""The entry function's signature, read from the (mlir-opt normalized) program
text: what the runner checks inputs against and how buffers are laid out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..bootstrap.errors import UsageError

# MLIR element type -> numpy dtype name: the element types a signature may
# use (not bf16: numpy has no such dtype).
DTYPES: dict[str, str] = {
    "f16": "float16",
    "f32": "float32",
    "f64": "float64",
    "i1": "bool",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
}
# Bytes per element (numpy's itemsize of each DTYPES entry; a test checks
# that they agree): the launcher's buffer sizes without importing numpy.
ITEMSIZE: dict[str, int] = {
    "f16": 2,
    "f32": 4,
    "f64": 8,
    "i1": 1,
    "i8": 1,
    "i16": 2,
    "i32": 4,
    "i64": 8,
}

# The entry is a C symbol in one executable with the launcher (its `main`)
# and the C library the lowered code calls (malloc/free/memcpy/memset, ...).
RESERVED_ENTRY_NAMES = frozenset(
    [
        "main",
        "malloc",
        "calloc",
        "realloc",
        "free",
        "aligned_alloc",
        "posix_memalign",
        "memcpy",
        "memmove",
        "memset",
        "exit",
        "abort",
        "fopen",
        "fread",
        "fwrite",
        "fclose",
        "fprintf",
        "printf",
        "snprintf",
        "getenv",
        "atoi",
        "clock_gettime",
    ]
)

_FUNC = re.compile(
    r"^\s*func\.func\s+(?P<vis>public\s+|private\s+|nested\s+)?@(?P<name>[\w$.]+)\((?P<args>.*?)\)"
    r"(?:\s*->\s*(?P<results>\(.*?\)|[^{]+?))?\s*(?:attributes\s*\{.*\})?\s*\{?\s*$",
    re.M,
)
_TYPE = re.compile(r"(?P<kind>tensor|memref)<(?P<body>[^<>]*(?:<[^<>]*>[^<>]*)*)>")


@dataclass(frozen=True)
class TensorType:
    kind: str  # "tensor" | "memref"
    shape: tuple[int, ...]
    element: str  # MLIR element type, e.g. "f32"

    @property
    def dtype(self) -> str:
        return DTYPES[self.element]  # checked at parse time

    @property
    def nbytes(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count * ITEMSIZE[self.element]

    def __str__(self) -> str:
        dims = "x".join(str(d) for d in self.shape)
        return f"{self.kind}<{dims + 'x' if dims else ''}{self.element}>"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "dtype": self.dtype}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorType:
        element = next(k for k, v in DTYPES.items() if v == data["dtype"])
        return cls(data["kind"], tuple(data["shape"]), element)


@dataclass(frozen=True)
class Signature:
    entry: str
    args: tuple[TensorType, ...]
    results: tuple[TensorType, ...]

    @property
    def buffers(self) -> tuple[TensorType, ...]:
        """Buffers of the lowered entry (bare-pointer ABI): arguments, then one
        out-param per result (buffer-results-to-out-params appends them)."""
        return self.args + self.results

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "args": [a.to_json() for a in self.args],
            "results": [r.to_json() for r in self.results],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        return cls(
            data["entry"],
            tuple(TensorType.from_json(a) for a in data["args"]),
            tuple(TensorType.from_json(r) for r in data["results"]),
        )


def _parse_type(text: str, where: str) -> TensorType:
    text = re.sub(r"\s+loc\(.*$", "", text).strip()
    match = _TYPE.fullmatch(text.split(" {")[0].strip())
    if not match:
        raise UsageError(
            f"unsupported entry type `{text}`",
            where=where,
            hint="entry arguments and results must be ranked tensors or memrefs",
        )
    kind, body = match["kind"], match["body"]
    if "," in body:
        raise UsageError(
            f"`{text}`: memref layouts/memory spaces are not supported",
            where=where,
            hint="use an identity-layout memref",
        )
    # Leading `NNx` / `?x` groups are the shape; the rest is the element type
    # (which may itself hold an `x`: index, complex<f32>, vector<4xf32>).
    shape_text = re.match(r"(?:(?:\d+|\?)x)*", body)
    assert shape_text is not None  # the pattern matches the empty string
    dims = shape_text.group(0).split("x")[:-1]
    element = body[shape_text.end() :].strip()
    if any(not d.isdigit() for d in dims):
        raise UsageError(
            f"`{text}`: dynamic shapes are not supported",
            where=where,
            hint="give every dimension a static size",
        )
    if element not in DTYPES:
        raise UsageError(
            f"`{text}`: element type {element} is not supported",
            where=where,
            hint=f"one of {', '.join(DTYPES)}",
        )
    if any(int(d) == 0 for d in dims):
        # LLVM 22's matmul schedule and lowerings crash or mistranslate empty
        # matmuls at -O1 and up; an entry without elements computes nothing.
        raise UsageError(
            f"`{text}`: a dimension of size 0 is not supported",
            where=where,
            hint="give every dimension a size of at least 1",
        )
    return TensorType(kind, tuple(int(d) for d in dims), element)


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside <...>, (...), {...}, [...]."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "<({[":
            depth += 1
        elif ch in ">)}]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return parts


def parse_signature(text: str, entry: str | None, where: str) -> Signature:
    """`text` as mlir-opt prints it (a nested module is indented)."""
    if re.search(r"^ +(?:builtin\.)?module\b", text, re.M):
        raise UsageError(
            "modules nested in the program's module are not supported",
            where=where,
            hint="put the functions at the top level of the file",
        )
    funcs = [m for m in _FUNC.finditer(text)]
    public = [m for m in funcs if (m["vis"] or "").strip() not in ("private", "nested")]
    if entry is None:
        if len(public) != 1:
            names = ", ".join(f"@{m['name']}" for m in public) or "none"
            raise UsageError(
                f"cannot pick the entry function: public functions are {names}",
                where=where,
                hint="pass --entry NAME",
            )
        match = public[0]
    else:
        found = [m for m in public if m["name"] == entry]
        if not found:
            names = ", ".join(f"@{m['name']}" for m in public) or "none"
            raise UsageError(
                f"no public function @{entry}", where=where, hint=f"public functions: {names}"
            )
        match = found[0]
    fwhere = f"{where}: @{match['name']}"
    if (
        match["name"] in RESERVED_ENTRY_NAMES
        or match["name"].startswith("mlirboot_")
        or not re.fullmatch(r"[A-Za-z_]\w*", match["name"])
    ):
        raise UsageError(
            f"the entry cannot be named @{match['name']}: the executable's launcher or the "
            "C runtime already defines that symbol, or it is not a C identifier",
            where=fwhere,
            hint="rename the function (e.g. @" + "run_" + re.sub(r"\W", "_", match["name"]) + ")",
        )
    args = []
    for part in _split_top(match["args"]):
        _, _, typ = part.partition(":")
        args.append(_parse_type(typ, fwhere))
    results_text = (match["results"] or "").strip()
    if results_text.startswith("("):
        results_text = results_text[1:-1]
    results = [_parse_type(t, fwhere) for t in _split_top(results_text)]
    if any(r.kind != "tensor" for r in results):
        raise UsageError(
            "returning memrefs is not supported",
            where=fwhere,
            hint="return tensors, or take a memref argument and write into it",
        )
    return Signature(match["name"], tuple(args), tuple(results))
