"""benchmarks/device_check.py refuses in one line where no NVIDIA GPU is visible."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "device_check.py"


def test_no_gpu_is_one_line_exit_3(tmp_path):
    try:
        ctypes.CDLL("libcuda.so.1")
        pytest.skip("an NVIDIA driver is installed here")
    except OSError:
        pass
    res = subprocess.run(
        [sys.executable, str(SCRIPT), "--bundle", str(tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 3
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("device_check: error: no NVIDIA GPU visible")


@pytest.mark.slow
def test_prepare_fuzz_compiles_programs_with_their_models(tmp_path, gpu_toolchain, monkeypatch):
    """--prepare --fuzz: each generated program compiled for nvidia at -O0 and
    -O2 (seed 2 at -O2 was once refused: a fused tile of dynamic shape), its
    inputs and its numpy model's outputs saved beside it, no file the run
    does not need (the PTX and cubin are embedded in prog)."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import device_check

    executables = device_check.prepare_fuzz(tmp_path, gpu_toolchain, seed=2, count=1)
    manifest = json.loads((tmp_path / "fuzz" / "manifest.json").read_text())
    assert [(e["art"], e["compile"]) for e in manifest] == [("2-O0", "ok"), ("2-O2", "ok")]
    assert [p.parent.name for p in executables] == ["2-O0", "2-O2"]
    data = tmp_path / "fuzz" / "2"
    assert sorted(p.name for p in data.iterdir()) == [
        "expected0.npy",
        "in0.npy",
        "in1.npy",
        "in2.npy",
    ]
    assert sorted(p.name for p in (tmp_path / "fuzz" / "2-O2").iterdir()) == [
        "artifact.json",
        "prog",
    ]
