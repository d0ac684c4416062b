"""The MlirbootPasses plugin's sources (backend/passes: CMakeLists.txt and the
C++ files) and their hash, which keys both the planned component's version and
the backend's plugin cache. Stdlib only: the backend imports it too."""

from __future__ import annotations

import hashlib
from pathlib import Path

#: Built with the plugin and installed beside it: mlir-opt and mlir-translate
#: runs in one process (backend/passes/Resident.cpp, backend/resident.py).
RESIDENT_NAME = "mlirboot-mlir"


def source_dir() -> Path:
    """backend/passes inside the installed package (or the checkout):
    mlirboot/bootstrap/passes/sources.py -> mlirboot/backend/passes."""
    return Path(__file__).resolve().parents[2] / "backend" / "passes"


def source_files(src: Path | None = None) -> list[Path]:
    """What goes into the plugin build, in a stable order."""
    src = source_dir() if src is None else src
    return sorted([src / "CMakeLists.txt", *src.glob("*.cpp"), *src.glob("*.h")])


def source_hash(src: Path | None = None) -> str:
    """A short hash of everything that goes into the build (cache key)."""
    digest = hashlib.sha256()
    for path in source_files(src):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
