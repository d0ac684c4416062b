"""benchmarks/device_check.py refuses in one line where no NVIDIA GPU is visible."""

from __future__ import annotations

import ctypes
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
