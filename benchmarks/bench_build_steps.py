"""Build steps of each target's planned toolchain vs the naive config, counted
with `ninja -n` on the real LLVM 22.1.8 source (configure only, nothing built).

The naive config is what a user writes without mlirboot: every LLVM backend,
clang;lld;mlir, runtimes openmp;offload, build everything (8,036 steps on 22.1.8
per DESIGN.md). mlirboot's plan builds only the distribution the targets need.

    MLIRBOOT_LLVM_SOURCE=<llvm-project> python benchmarks/bench_build_steps.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from mlirboot.bootstrap.config import resolve
from mlirboot.bootstrap.configure import configure

SELECTIONS = ["host", "nvidia", "amd", "intel", "tpu", "nvidia,amd"]
NAIVE = """\
set(LLVM_ENABLE_PROJECTS "clang;lld;mlir" CACHE STRING "")
set(LLVM_ENABLE_RUNTIMES "openmp;offload" CACHE STRING "")
set(CMAKE_BUILD_TYPE Release CACHE STRING "")
set(LLVM_INCLUDE_TESTS OFF CACHE BOOL "")
"""


def steps(cache: str, source: Path, work: Path, target: str) -> int:
    """Configure with `cache` and count what `ninja -n <target>` would run."""
    work.mkdir(parents=True)
    (work / "init.cmake").write_text(cache)
    subprocess.run(
        ["cmake", "-G", "Ninja", "-C", "init.cmake", str(source / "llvm")],
        cwd=work,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        ["ninja", "-n", target], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    counts = re.findall(r"^\[\d+/(\d+)\]", out, re.MULTILINE)
    return int(counts[-1]) if counts else 0


def main() -> int:
    source = Path(os.environ.get("MLIRBOOT_LLVM_SOURCE", ""))
    if not (source / "llvm" / "CMakeLists.txt").exists():
        print(
            "set MLIRBOOT_LLVM_SOURCE to the LLVM 22.1.8 source "
            "(`mlirboot fetch llvm --print-path`)",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        naive = steps(NAIVE, source, root / "naive", "all")
        print(f"{'config':<24} {'steps':>7} {'x naive':>8}")
        print(f"{'naive (all backends)':<24} {naive:>7} {1.0:>8.2f}")
        for targets in SELECTIONS:
            resolved = resolve(targets=targets.split(","), sets=["provider=source"], cwd=root)
            files = configure(
                resolved, build_dir=root / "b", prefix=None, cwd=root, codename=None
            ).files
            count = steps(
                files["llvm.cmake"], source, root / targets.replace(",", "-"), "distribution"
            )
            print(f"{targets:<24} {count:>7} {count / naive:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
