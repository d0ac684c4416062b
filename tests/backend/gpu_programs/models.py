"""numpy models of the GPU test programs (tests/backend/gpu_programs/*.mlir):
`inputs_for(name, seed)` -> (inputs, expected results). Used by
tests/backend/test_gpu_programs.py and benchmarks/device_check.py (which has
only numpy on the GPU machine: keep this module dependency-free)."""

from __future__ import annotations

import numpy as np

PROGRAMS = ("softmax", "layernorm", "mlp_relu")


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def mlp_relu(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(x @ w + b, 0)


def inputs_for(name: str, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    if name == "softmax":
        x = rand(64, 256) * 4
        return [x], [softmax(x.astype(np.float64)).astype(np.float32)]
    if name == "layernorm":
        x, g, b = rand(64, 256) * 3 + 1, rand(256), rand(256)
        ref = layernorm(x.astype(np.float64), g.astype(np.float64), b.astype(np.float64))
        return [x, g, b], [ref.astype(np.float32)]
    if name == "mlp_relu":
        x, w, b = rand(64, 128), rand(128, 256), rand(256)
        return [x, w, b], [mlp_relu(x.astype(np.float64), w, b).astype(np.float32)]
    raise KeyError(name)
