"""mlirboot.backend: lower, optimize and link split host/device programs.

from mlirboot import backend
art = backend.compile("prog.mlir", target="offload-host")
(out,) = art.run(a, b)          # numpy in, numpy out
art.files                       # every product: executable, device images, ...
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifact import Artifact


def compile(
    source: str | os.PathLike[str],
    target: str | None = None,
    arch: str | None = None,
    **kwargs: Any,
) -> Artifact:
    """Compile MLIR (a path or the text) for `target` (default: the default
    target of backend/pipelines/_common.yaml); see driver.compile_program."""
    from .driver import compile_program

    return compile_program(source, target=target, arch=arch, **kwargs)


__all__ = ["compile"]
