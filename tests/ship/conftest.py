"""Fixtures for shipping tests: real toolchain manifests of the system LLVM 22."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LLVM = Path("/usr/lib/llvm-22")


def _mlirboot(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def system_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `mlirboot configure --target host && mlirboot build` (system
    provider): <dir>/build/{lock.json,plan.json,toolchain/toolchain.json}."""
    if not (LLVM / "bin" / "llvm-config").exists():
        pytest.skip("the distribution's LLVM 22 is not installed (mlirboot provision)")
    work = tmp_path_factory.mktemp("system")
    _mlirboot("configure", "--target", "host", cwd=work)
    _mlirboot("build", cwd=work)
    return work / "build"


@pytest.fixture
def small_build(system_build: Path, tmp_path: Path) -> Path:
    """The same build dir with a manifest cut down to FileCheck (a real LLVM tool
    that loads no LLVM library) and libomp (a symlink chain: libomp.so ->
    libomp.so.5 inside the prefix -> a file outside it): a package of it takes
    a second, not a minute (libLLVM alone is 150 MB)."""
    build = tmp_path / "build"
    (build / "toolchain").mkdir(parents=True)
    for name in ("lock.json", "plan.json"):
        shutil.copy(system_build / name, build / name)
    data = json.loads((system_build / "toolchain" / "toolchain.json").read_text())
    data["tools"] = {k: v for k, v in data["tools"].items() if k == "FileCheck"}
    data["libraries"] = {k: v for k, v in data["libraries"].items() if k == "omp"}
    data["files"] = []  # files mlirboot built into the prefix (plugins loading libMLIR)
    (build / "toolchain" / "toolchain.json").write_text(json.dumps(data, indent=2))
    return build
