"""The differential fuzzer (tests/fuzz, scripts/fuzz.py): its programs are
valid MLIR, its comparison catches a wrong answer and reduces it, and a
fixed-seed batch matches numpy under every configuration."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from .batch import run_batch
from .compare import compare
from .generate import Component, generate
from .runner import CPU_CONFIGS, Config, reduce, reproducer

MLIR_OPT = Path("/usr/lib/llvm-22/bin/mlir-opt")
# The CI batch: programs CI_SEED .. CI_SEED+CI_COUNT-1 (6-25 s each on 2 cores).
CI_SEED, CI_COUNT = 20261130, 12


@pytest.mark.skipif(not MLIR_OPT.exists(), reason="mlir-22-tools is not installed")
def test_generated_programs_are_valid_mlir_and_cover_the_catalog():
    kinds: Counter[str] = Counter()
    for seed in range(300):
        program = generate(seed)
        kinds.update(k.split("-")[0] for k in program.kinds)
        result = subprocess.run(
            [MLIR_OPT, "-o", "/dev/null"],
            input=program.text(),
            text=True,
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, f"seed {seed}: {result.stderr}\n{program.text()}"
    for kind in (
        "fill",
        "matmul",
        "batch",
        "overwrite",
        "sub",
        "plus",
        "k",
        "max",
        "transposed",
        "elementwise",
        "reduce",
        "linalg",
        "scratch",
        "call",
        "t",
    ):
        assert kinds[kind] > 0, kind


def test_generation_is_deterministic():
    assert generate(7).text() == generate(7).text()
    a, b = generate(7).inputs(), generate(7).inputs()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_compare_tolerates_rounding_only():
    e = [np.ones((3, 3), np.float32)]
    assert compare([e[0] + 1e-6], e, "f32") == ""
    bad = e[0].copy()
    bad[1, 2] = 0
    assert "first at (1, 2)" in compare([bad], e, "f32")
    assert compare([np.array([1], np.int32)], [np.array([2], np.int32)], "i32")


def test_a_wrong_answer_is_caught_and_reduced():
    """Break one component's model on purpose: the fuzzer must report a
    mismatch, drop the components that do not matter and name the smallest
    failing configuration."""
    seed = next(
        s for s in range(100) if generate(s).family == "memref" and len(generate(s).components) >= 3
    )
    program = generate(seed)
    victim = program.components[-1]

    def wrong(state):
        victim.model(state)
        for value in state.values():
            value[...] = value + 1

    program.components[-1] = Component(victim.kind, victim.emit, wrong)
    small, config, outcome = reduce(program, Config("host", "O2", True))
    assert outcome.status == "mismatch"
    assert len(small.components) < len(program.components)
    assert config == CPU_CONFIGS[0]  # host -O0 already shows it
    text = reproducer(small, config, outcome)
    assert "FUZZ MISMATCH" in text and "--target host -O0" in text and "func.func @fuzz" in text


@pytest.mark.slow
def test_fixed_seed_batch_matches_numpy():
    summary = run_batch(CI_SEED, CI_COUNT, log=lambda line: None)
    assert summary.programs == CI_COUNT
    assert not summary.failures, "\n\n".join(summary.failures)
    assert summary.runs["ok"] >= CI_COUNT * len(CPU_CONFIGS)
