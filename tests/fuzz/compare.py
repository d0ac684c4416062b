"""A generated program's results against its numpy model, within its dtype's
tolerance. numpy only: benchmarks/device_check.py compares the runs of fuzz
programs on a GPU machine (no mlirboot there) with it."""

from __future__ import annotations

import numpy as np


def tolerance(dtype: str) -> tuple[float, float]:
    return {"f32": (2e-4, 2e-4), "f64": (1e-9, 1e-9), "i32": (0.0, 0.0)}[dtype]


def compare(got: list[np.ndarray], expected: list[np.ndarray], dtype: str) -> str:
    """ "" when equal within the dtype's tolerance, else what differs."""
    if len(got) != len(expected):
        return f"{len(got)} outputs, expected {len(expected)}"
    rtol, atol = tolerance(dtype)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        if g.shape != e.shape:
            return f"output {i}: shape {g.shape}, expected {e.shape}"
        scale = max(1.0, float(np.abs(e).max(initial=0.0)))
        if not np.allclose(g, e, rtol=rtol, atol=atol * scale, equal_nan=True):
            bad = np.argwhere(~np.isclose(g, e, rtol=rtol, atol=atol * scale, equal_nan=True))
            where = tuple(int(x) for x in bad[0])
            return (
                f"output {i}: {len(bad)} of {e.size} elements differ, first at {where}: "
                f"got {g[where]}, expected {e[where]}"
            )
    return ""
