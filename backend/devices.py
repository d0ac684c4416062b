"""Is the target's device present? Asks the offload runtime itself
(llvm-offload-device-info), so `run` fails with one clear line instead of
falling back to the host."""

from __future__ import annotations

import os
import re

from ..bootstrap import proc
from ..bootstrap.errors import BuildError
from .toolbox import Toolbox


class DeviceError(BuildError):
    """The target's device is absent: never fall back to the host."""


def runtime_backends(tools: Toolbox) -> list[str]:
    """The backends (HOST, CUDA, AMDGPU, LEVEL_ZERO) that have a device here."""
    result = proc.run(
        [tools.tool("llvm-offload-device-info")],
        stage="run/device-check",
        env={"LD_LIBRARY_PATH": str(tools.lib_dir)},
        check=False,
    )
    return sorted(set(re.findall(r"^Platform Backend:\s*(\w+)", result.output, re.M)))


def require_device(
    backend: str, target: str, toolchain: str | os.PathLike[str] | None = None
) -> None:
    """Raises DeviceError unless the offload runtime of `toolchain` (a manifest
    path; None: the one found by default) sees a `backend` device, for a
    program compiled for `target`."""
    found = runtime_backends(Toolbox(toolchain))
    if backend.upper() not in found:
        raise DeviceError(
            f"no {backend} device: the offload runtime found only "
            f"{', '.join(found) or 'no devices'}",
            where=f"{target}/run",
            hint=f"run on a machine with a {target} GPU and its driver",
        )
