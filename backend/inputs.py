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
