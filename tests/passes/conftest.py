"""The plugin is built once per source hash (real cmake + ninja against the
installed MLIR 22) and cached under $MLIRBOOT_CACHE_DIR or ~/.cache/mlirboot."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlirboot.backend.passes import plugin as passes_plugin

from .harness import FILECHECK, MLIR_DIR, MLIR_OPT, MLIR_RUNNER


def _missing() -> list[str]:
    needed = [MLIR_OPT, FILECHECK, MLIR_RUNNER, MLIR_DIR / "MLIRConfig.cmake"]
    return [str(p) for p in needed if not p.exists()]


@pytest.fixture(scope="session")
def plugin() -> Path:
    missing = _missing()
    if missing:
        pytest.skip(
            f"LLVM/MLIR 22 tools not installed: {', '.join(missing)} "
            "(apt-get install mlir-22-tools libmlir-22-dev llvm-22-tools)"
        )
    return passes_plugin.cached_plugin(MLIR_DIR)
