"""Is the target's device present? Asks the offload runtime itself
(llvm-offload-device-info), so `run` fails with one clear line instead of
falling back to the host."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..bootstrap import proc

if TYPE_CHECKING:
    from .artifact import Artifact


def runtime_backends(tools) -> list[str]:
    """The backends (HOST, CUDA, AMDGPU, LEVEL_ZERO) that have a device here."""
    result = proc.run([tools.tool("llvm-offload-device-info")], stage="run/device-check",
                      env={"LD_LIBRARY_PATH": str(tools.lib_dir)}, check=False)
    return sorted(set(re.findall(r"^Platform Backend:\s*(\w+)", result.output, re.M)))


def require_device(artifact: Artifact, backend: str) -> None:
    from .artifact import DeviceError
    from .toolbox import Toolbox

    found = runtime_backends(Toolbox(artifact.meta.get("toolchain")))
    if backend.upper() not in found:
        raise DeviceError(
            f"no {backend} device: the offload runtime found only "
            f"{', '.join(found) or 'no devices'}",
            where=f"{artifact.target}/run",
            hint=f"run on a machine with a {artifact.target} GPU and its driver",
        )
