"""Reading `run`'s input arrays: one .npy file each, checked by its header
(not its name), so a .npz archive, a CSV or a pickle named .npy is one clear
line naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..bootstrap.errors import UsageError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
SAVE_HINT = "write each input with numpy.save('a.npy', array)"


def load_npy(path: Path) -> Any:
    import numpy as np

    where = f"--input {path}"
    try:
        if path.is_dir():
            raise UsageError("input is a directory", where=where, hint=SAVE_HINT)
        if not path.exists():
            raise UsageError(
                "input file not found", where=where, hint="check the path; " + SAVE_HINT
            )
        if not path.is_file():
            raise UsageError("input is not a regular file", where=where, hint=SAVE_HINT)
        with open(path, "rb") as src:
            head = src.read(len(NPY_MAGIC))
    except PermissionError:
        raise UsageError(
            "cannot read input: permission denied", where=where, hint="check its permissions"
        ) from None
    except OSError as err:
        raise UsageError(
            f"cannot read input: {err.strerror}", where=where, hint=SAVE_HINT
        ) from None
    if head.startswith(ZIP_MAGIC):
        raise UsageError(
            "input is a .npz archive, not a .npy array",
            where=where,
            hint="save one array: numpy.save('a.npy', numpy.load(F)['NAME'])",
        )
    if head != NPY_MAGIC:
        raise UsageError(
            "input is not a .npy file (no NUMPY header)",
            where=where,
            hint=SAVE_HINT + " (text and CSV files are not read)",
        )
    _check_header(path, where)
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:
        detail = "it holds Python objects" if "pickle" in str(err) else str(err).split("\n")[0]
        raise UsageError(f"cannot read input: {detail}", where=where, hint=SAVE_HINT) from None
    except (OSError, EOFError) as err:
        raise UsageError(
            f"cannot read input: truncated or corrupt .npy ({err})", where=where, hint=SAVE_HINT
        ) from None
    if array.dtype.hasobject or array.dtype.fields is not None:
        raise UsageError(
            f"input has dtype {array.dtype}, not a plain number type",
            where=where,
            hint="inputs are f32, f64, i32, ... arrays",
        )
    return array


# numpy's own limit for loading a header without allow_pickle.
MAX_HEADER = 10_000


def _check_header(path: Path, where: str) -> None:
    """Read the .npy header alone and check it against the file's size, so a
    header that claims more data than the file holds (a gigantic or forged
    shape) is one line, not an allocation of that size."""
    import numpy as np
    from numpy.lib import format as npy_format

    try:
        with open(path, "rb") as src:
            version = npy_format.read_magic(src)
            read = {
                (1, 0): npy_format.read_array_header_1_0,
                (2, 0): npy_format.read_array_header_2_0,
            }.get(version)
            if read is None:  # (3, 0): a UTF-8 header; np.load reads it
                return
            shape, _fortran, dtype = read(src, max_header_size=MAX_HEADER)
            data_bytes = path.stat().st_size - src.tell()
    except ValueError as err:
        text = str(err)
        detail = (
            f"its header is longer than {MAX_HEADER} bytes"
            if "max_header_size" in text
            else "its header is malformed: " + text.split("\n")[0]
        )
        raise UsageError(f"cannot read input: {detail}", where=where, hint=SAVE_HINT) from None
    except (OSError, EOFError) as err:
        raise UsageError(
            f"cannot read input: truncated or corrupt .npy ({err})", where=where, hint=SAVE_HINT
        ) from None
    if dtype.hasobject:
        raise UsageError("cannot read input: it holds Python objects", where=where, hint=SAVE_HINT)
    want = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if want > data_bytes:
        raise UsageError(
            f"cannot read input: its header says shape {tuple(shape)} of {dtype} "
            f"({want} bytes), the file holds {data_bytes}",
            where=where,
            hint="the file is truncated or its header is corrupt; " + SAVE_HINT,
        )
