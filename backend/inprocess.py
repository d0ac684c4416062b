"""Calling a compiled entry inside the Python process: the artifact's
libprog.so through ctypes, with the bare-pointer C ABI the launcher uses
(arguments, then one out-param per result). An offload-host library embeds its
device image, which registers with libomptarget when the library is loaded.
A crash in the compiled code takes the process with it, so the CLI keeps the
process-isolated runner.

Parallel loops run on the threads of the libomp libprog.so loads (the
toolchain's, through its rpath); each call sets their count first
(omp_set_num_threads on the calling thread; OpenBLAS's too with --blas):
`threads`, else $OMP_NUM_THREADS as it is at the call, else the cores this
process may use."""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .program import TensorType

ALIGNMENT = 64  # as MLIR's own allocations and the launcher's
_LOADED: dict[tuple[int, int, int, int], ctypes.CDLL] = {}
_ENTRIES: dict[tuple[int, str, int], Any] = {}
_THREAD_SETTERS: dict[int, list[Any]] = {}


def _load(path: Path) -> ctypes.CDLL:
    """dlopen `path` under a name of its own: the dynamic loader reuses an
    object loaded under the same name, which after a recompile into the same
    directory would be the old code. Known by the file's identity (device,
    inode, mtime, size: one stat, no path resolution; this runs per call)."""
    st = os.stat(path)
    ident = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    lib = _LOADED.get(ident)
    if lib is None:
        fd, private = tempfile.mkstemp(prefix="mlirboot-", suffix=".so")
        try:
            with os.fdopen(fd, "wb") as dst, path.open("rb") as src:
                shutil.copyfileobj(src, dst)
            lib = ctypes.CDLL(private, mode=ctypes.RTLD_LOCAL)
        finally:
            os.unlink(private)  # mapped now; nothing left behind
        _LOADED[ident] = lib
    return lib


def _entry(library: Path, entry: str, arity: int) -> Any:
    lib = _load(library)
    key = (id(lib), entry, arity)
    fn = _ENTRIES.get(key)
    if fn is None:
        fn = getattr(lib, entry)
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p] * arity
        _ENTRIES[key] = fn
    return fn


def thread_count(threads: int | None) -> int:
    """The threads a call runs on: `threads`, else $OMP_NUM_THREADS (its first
    level), else the cores this process may run on."""
    if threads:
        return threads
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return len(os.sched_getaffinity(0))


def _thread_setters(library: Path) -> list[Any]:
    """The thread count setters of libprog.so's own libomp (omp_set_num_threads)
    and, with --blas, OpenBLAS (openblas_set_num_threads): dlsym on its handle
    searches its dependencies. Code without parallel loops loads neither.
    Looked up once per library (a lookup costs more than a 4x4 program)."""
    lib = _load(library)
    setters = _THREAD_SETTERS.get(id(lib))
    if setters is None:
        setters = []
        for name in ("omp_set_num_threads", "openblas_set_num_threads"):
            try:
                fn = getattr(lib, name)
            except AttributeError:
                continue
            fn.restype = None
            fn.argtypes = [ctypes.c_int]
            setters.append(fn)
        _THREAD_SETTERS[id(lib)] = setters
    return setters


def _aligned(buf: TensorType) -> np.ndarray:
    """A zeroed array of `buf`'s shape and dtype on a 64-byte boundary."""
    raw = np.zeros(buf.nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + buf.nbytes].view(buf.dtype).reshape(buf.shape)


def _runner(
    library: Path, entry: str, arrays: list[np.ndarray], threads: int | None
) -> Callable[[], None]:
    """A call of `entry` on `arrays` (one per parameter) with `threads` threads."""
    fn = _entry(library, entry, len(arrays))
    setters = _thread_setters(library)
    pointers = [a.ctypes.data for a in arrays]

    def run(keep: list[np.ndarray] = arrays) -> None:  # `keep`: the buffers outlive `run`
        if setters:  # the count as it is at this call ($OMP_NUM_THREADS may change)
            count = thread_count(threads)
            for set_threads in setters:
                set_threads(count)
        fn(*pointers)

    return run


def bind(
    library: Path, entry: str, buffers: tuple[TensorType, ...], threads: int | None = None
) -> tuple[Callable[[], None], list[np.ndarray]]:
    """`entry` bound to fresh aligned zeroed buffers (one per parameter): fill
    the argument buffers, then each call of the returned function runs the
    entry once on them with `threads` threads (benchmarks time this)."""
    arrays = [_aligned(b) for b in buffers]
    return _runner(library, entry, arrays, threads), arrays


def passable(arr: Any, buf: TensorType) -> bool:
    """Whether `arr` can be handed to the compiled code as it is for a
    parameter of type `buf`: a C-contiguous ndarray of exactly its dtype and
    shape, its elements aligned (the generated code assumes no more: its
    loads and stores through argument pointers say `align 4` for f32)."""
    return (
        isinstance(arr, np.ndarray)
        and arr.dtype == np.dtype(buf.dtype)
        and arr.shape == buf.shape
        and bool(arr.flags.c_contiguous)
        and bool(arr.flags.aligned)
    )


def call(
    library: Path,
    entry: str,
    buffers: tuple[TensorType, ...],
    inputs: list[Any],
    threads: int | None = None,
    readonly: frozenset[int] | set[int] = frozenset(),
) -> list[Any]:
    """Run `entry` on `inputs`; returns every buffer (arguments, then results).
    An input whose index is in `readonly` (arguments the compiled code never
    writes) and that is `passable` is passed as it is, and returned as it is;
    every other one is copied into an aligned buffer first (the compiled code
    may write into its arguments; the caller's arrays stay as they were)."""
    arrays = []
    for i, buf in enumerate(buffers):
        src = inputs[i] if i < len(inputs) else None
        if src is not None and i in readonly and passable(src, buf):
            arrays.append(src)
            continue
        arrays.append(_aligned(buf))
        if src is not None:
            np.copyto(arrays[-1], src, casting="no")
    _runner(library, entry, arrays, threads)()
    return arrays
