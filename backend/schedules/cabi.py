"""Call MLIR-compiled functions from Python through their C interface
(`_mlir_ciface_<name>`, `llvm.emit_c_interface`): memref descriptors built over
numpy arrays, passed by pointer. Used by the tests and the benchmark."""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from ...bootstrap import proc

# The element types a descriptor can hold, and their C types.
CElement: TypeAlias = type[ctypes.c_float | ctypes.c_double]
_CTYPES: dict[np.dtype[Any], CElement] = {
    np.dtype(np.float32): ctypes.c_float,
    np.dtype(np.float64): ctypes.c_double,
}


@cache
def descriptor_type(rank: int, elem: CElement) -> type[ctypes.Structure]:
    """The struct MLIR's default memref lowering uses for a rank-`rank` memref."""
    ptr = ctypes.POINTER(elem)
    fields: list[tuple[str, Any]] = [
        ("allocated", ptr),
        ("aligned", ptr),
        ("offset", ctypes.c_int64),
    ]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D_{elem.__name__}", (ctypes.Structure,), {"_fields_": fields})


def descriptor(arr: np.ndarray) -> ctypes.Structure:
    """A descriptor viewing `arr` (C-contiguous, f32/f64); keep `arr` alive while used."""
    assert arr.flags.c_contiguous, "pass a C-contiguous array"
    elem = _CTYPES[arr.dtype]
    desc = descriptor_type(arr.ndim, elem)()
    ptr = arr.ctypes.data_as(ctypes.POINTER(elem))
    desc.allocated = desc.aligned = ptr
    desc.offset = 0
    if arr.ndim:
        desc.sizes[:] = list(arr.shape)
        desc.strides[:] = [s // arr.itemsize for s in arr.strides]
    return desc


def to_numpy(desc: ctypes.Structure, dtype: np.dtype[Any] | type) -> np.ndarray:
    """Copy a returned descriptor's contents into a new array."""
    dt = np.dtype(dtype)
    shape = tuple(desc.sizes)
    strides = tuple(s * dt.itemsize for s in desc.strides)
    base = ctypes.addressof(desc.aligned.contents) + desc.offset * dt.itemsize
    span = 1 + sum((n - 1) * s for n, s in zip(shape, desc.strides, strict=True))
    buf = (ctypes.c_char * (span * dt.itemsize)).from_address(base)
    flat = np.frombuffer(buf, dtype=dt)
    return np.lib.stride_tricks.as_strided(flat, shape, strides).copy()


def link_shared(
    objects: Sequence[Path],
    out: Path,
    *,
    clang: Path,
    libs: Sequence[str] = (),
    run: Callable[..., proc.Result] = proc.run,
) -> Path:
    run(
        [clang, "-shared", "-o", out, *objects, *libs],
        stage="link shared library",
        log_path=out.with_suffix(".log"),
    )
    return out


def call(
    lib: ctypes.CDLL,
    name: str,
    args: Sequence[np.ndarray],
    result: tuple[int, np.dtype[Any] | type] | None = None,
) -> np.ndarray | None:
    """Call `_mlir_ciface_<name>(result*, args*...)`; `result` = (rank, dtype) when the
    function returns one memref (its descriptor comes first in the C interface)."""
    fn = getattr(lib, f"_mlir_ciface_{name}")
    descs = [descriptor(a) for a in args]
    ptrs: list[Any] = [ctypes.byref(d) for d in descs]
    if result is None:
        fn(*ptrs)
        return None
    rank, dtype = result
    out = descriptor_type(rank, _CTYPES[np.dtype(dtype)])()
    fn(ctypes.byref(out), *ptrs)
    return to_numpy(out, dtype)
