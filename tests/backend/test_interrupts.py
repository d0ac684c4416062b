"""SIGINT/SIGTERM to `mlirboot compile` and `mlirboot run` while a tool or the
compiled program runs: exit 128 + signal with one line, no process of the
command left running, nothing left in $TMPDIR (the tools' own temporaries
included), no artifact or output file half-written. Real tools."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

# Runs for minutes at -O0: it is always interrupted.
LONG = """\
func.func @spin(%A: memref<200x200xf32>, %B: memref<200x200xf32>,
                %C: memref<200x200xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 200 : index
  %reps = arith.constant 100000 : index
  scf.for %r = %c0 to %reps step %c1 {
    scf.for %i = %c0 to %n step %c1 {
      scf.for %j = %c0 to %n step %c1 {
        scf.for %k = %c0 to %n step %c1 {
          %a = memref.load %A[%i, %k] : memref<200x200xf32>
          %b = memref.load %B[%k, %j] : memref<200x200xf32>
          %c = memref.load %C[%i, %j] : memref<200x200xf32>
          %p = arith.mulf %a, %b : f32
          %s = arith.subf %c, %p : f32
          memref.store %s, %C[%i, %j] : memref<200x200xf32>
        }
      }
    }
  }
  return
}
"""


def _marked(mark: str) -> list[tuple[int, str]]:
    """Processes whose environment carries `mark` (the command and its children,
    orphans included)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if f"MLIRBOOT_TEST_MARK={mark}".encode() in environ.split(b"\0"):
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


@pytest.mark.parametrize(
    ("target", "wait_for", "sig"),
    [
        ("host", "/prog", signal.SIGINT),
        ("host", "/prog", signal.SIGTERM),
        # While the resident MLIR process serves the compile's mlir-opt runs.
        ("host", "mlirboot-mlir", signal.SIGTERM),
        # Stopped while linking (or, if the link is already done, while running).
        ("offload-host", "clang-linker-wrapper", signal.SIGINT),
    ],
)
def test_interrupted_run_leaves_nothing(tmp_path: Path, target: str, wait_for: str, sig: int):
    work, tmpdir = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmpdir.mkdir()
    (work / "spin.mlir").write_text(LONG)
    for name in "abc":
        np.save(work / f"{name}.npy", np.ones((200, 200), np.float32))
    mark = uuid.uuid4().hex
    env = {
        **os.environ,
        "TMPDIR": str(tmpdir),
        "MLIRBOOT_COMPILE_CACHE": "off",
        "MLIRBOOT_TEST_MARK": mark,
    }
    cmd = [sys.executable, "-m", "mlirboot.bootstrap.cli", "run", "spin.mlir", "-O0"]
    cmd += ["--target", target, "-i", "a.npy", "-i", "b.npy", "-i", "c.npy"]
    cmd += ["--output", "2=out.npy"]
    before = sorted(p.name for p in work.iterdir())
    proc = subprocess.Popen(cmd, cwd=work, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            children = [c for pid, c in _marked(mark) if pid != proc.pid]
            if any(wait_for in c or "/prog " in c for c in children):
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, err
    assert err.strip().splitlines() == ["mlirboot: interrupted"], err
    time.sleep(0.5)
    assert _marked(mark) == []
    assert list(tmpdir.iterdir()) == []
    assert sorted(p.name for p in work.iterdir()) == before
