"""Shared test helpers: run the real `mlirboot` CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Every test compiles for real: a compile-cache hit would skip the code under
# test (tests/backend/test_compile_cache.py turns the cache on for itself).
os.environ["MLIRBOOT_COMPILE_CACHE"] = "off"


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def cli(tmp_path: Path):
    def call(*args: str | os.PathLike[str], **kw) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=kw.pop("cwd", tmp_path), **kw)

    return call
