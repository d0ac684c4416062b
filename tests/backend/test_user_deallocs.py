"""A program that frees its own buffers (memref.dealloc of a memref.alloc)
compiles and matches numpy: upstream's buffer-deallocation-pipeline refuses
any op that frees memory, so the plugin's mlirboot-drop-deallocs runs first
and the pipeline frees each buffer itself. Real tools; results vs numpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program

PROGRAMS = Path(__file__).parent / "programs"
HAVE_CBLAS = any(
    Path(p, "cblas.h").exists() for p in ("/usr/include", "/usr/include/x86_64-linux-gnu")
)


def _case(program: str) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(11)
    if program == "chain_alloc_dealloc":
        a, b, c = (rng.standard_normal(s).astype(np.float32) for s in ((7, 3), (3, 11), (11, 2)))
        d = rng.standard_normal((7, 2)).astype(np.float32)  # garbage: overwritten
        return [a, b, c, d], (a @ b) @ c
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in ((4, 6), (6, 6), (6, 6)))
    return [a, b, c, rng.standard_normal((4, 6)).astype(np.float32)], (a @ b) @ c


@pytest.mark.parametrize(
    ("target", "opt", "blas"),
    [
        ("host", "O0", False),
        ("host", "O2", False),
        ("offload-host", "O2", False),
        pytest.param(
            "host",
            "O2",
            True,
            marks=pytest.mark.skipif(not HAVE_CBLAS, reason="libopenblas-dev is not installed"),
        ),
    ],
)
@pytest.mark.parametrize("program", ["chain_alloc_dealloc", "helper_call_dealloc"])
def test_program_freeing_its_buffers_matches_numpy(tmp_path, program, target, opt, blas):
    art = compile_program(
        PROGRAMS / f"{program}.mlir", target=target, opt=opt, blas=blas, out=tmp_path / "art"
    )
    inputs, expected = _case(program)
    got = art.run(*inputs, isolated=True)
    np.testing.assert_allclose(got[-1], expected, rtol=1e-5, atol=1e-4)
