"""Backend test fixtures: the sample programs, reference inputs, and a
session cache of compiled artifacts (each compile runs real LLVM tools)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mbtest import needs_device_runtime
from mlirboot.backend.driver import compile_program

PROGRAMS = Path(__file__).parent / "programs"


def have_tool(name: str) -> bool:
    return Path(f"/usr/lib/llvm-22/bin/{name}").exists() or shutil.which(name) is not None


def cpu_pjrt_plugin() -> str | None:
    try:
        import lammps_jax_pjrt_cpu
    except ImportError:
        return None
    path = Path(lammps_jax_pjrt_cpu.__file__).parent / "pjrt_c_api_cpu_plugin.so"
    return str(path) if path.exists() else None


@pytest.fixture(scope="session")
def programs() -> Path:
    return PROGRAMS


@pytest.fixture(scope="session")
def toolchain_for(request):
    """`toolchain_for(target)`: the toolchain to compile for a target with:
    the one with the device runtimes (tests/conftest.py gpu_toolchain) when
    the target links them, else None (the system LLVM 22)."""

    def get(target: str) -> str | None:
        if needs_device_runtime(target):
            return str(request.getfixturevalue("gpu_toolchain"))
        return None

    return get


@pytest.fixture(scope="session")
def compiled(tmp_path_factory, toolchain_for):
    cache: dict[tuple, object] = {}

    def get(program: str, target: str, **kw):
        key = (program, target, tuple(sorted(kw.items())))
        if key not in cache:
            out = tmp_path_factory.mktemp(f"{program}-{target}") / "artifact"
            kw.setdefault("toolchain", toolchain_for(target))
            cache[key] = compile_program(PROGRAMS / f"{program}.mlir", target=target, out=out, **kw)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def reference():
    """`reference(program, seed)` -> (inputs, numpy reference outputs)."""
    return _inputs_for


@pytest.fixture(scope="session")
def pjrt_cpu_plugin() -> str:
    plugin = cpu_pjrt_plugin()
    if plugin is None:
        pytest.skip("PyPI lammps-jax-pjrt-cpu (pjrt_c_api_cpu_plugin.so) is not installed")
    return plugin


def _inputs_for(program: str, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Random inputs and the numpy reference outputs of a sample program."""
    rng = np.random.default_rng(seed)

    def rand(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    if program == "matmul":
        a, b = rand(64, 128), rand(128, 32)
        return [a, b], [a @ b]
    if program == "mlp":
        x, w1, b1, w2, b2 = rand(16, 64), rand(64, 128), rand(128), rand(128, 10), rand(10)
        return [x, w1, b1, w2, b2], [np.maximum(x @ w1 + b1, 0) @ w2 + b2]
    if program == "loop_matmul":
        a, b = rand(96, 80), rand(80, 48)
        c = np.zeros((96, 48), np.float32)
        return [a, b, c], [a, b, a @ b]
    if program == "affine_matmul":
        a, b, c = rand(40, 24), rand(24, 36), rand(40, 36)
        return [a, b, c], [a, b, c + a @ b]
    if program == "loop_matmul_f64":
        a, b = rng.standard_normal((37, 29)), rng.standard_normal((29, 45))
        return [a, b, np.zeros((37, 45))], [a, b, a @ b]
    if program == "batch_generic":
        a, b = rand(4, 24, 32), rand(4, 32, 20)
        return [a, b], [a @ b]
    if program == "chain":
        a, b, v = rand(256, 256), rand(256, 256), rand(256, 2)
        return [a, b, v], [a @ (b @ v)]
    if program == "conv2d":
        x, f = rand(2, 10, 10, 3), rand(3, 3, 3, 4)
        windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
        out = np.einsum("nhwcij,ijcf->nhwf", windows, f).astype(np.float32)
        return [x, f, np.zeros((2, 8, 8, 4), np.float32)], [x, f, out]
    raise KeyError(program)
