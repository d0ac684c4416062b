"""x86-64 as the offload device (the offload runtime's host plugin)."""

from __future__ import annotations

from pathlib import Path

from ...bootstrap.errors import BuildError
from ..context import Context
from .host_code import cpu_object
from .offload import DEVICE_IR, extract_image, linked_device_ir, require_kernels
from .registry import step


@step("device-object-x86", **DEVICE_IR, makes=("device_embed",))
def device_object_x86(ctx: Context) -> Path:
    return ctx.make("device_embed", cpu_object(ctx, ctx.device, linked_device_ir(ctx)))


@step("validate-x86", needs=("executable",))
def validate_x86(ctx: Context) -> None:
    image = extract_image(ctx)
    out = ctx.run([ctx.tools.tool("llvm-readelf"), "-h", "--dyn-syms", image], tag="readelf").output
    if "X86-64" not in out:
        raise BuildError("embedded image is not an x86-64 ELF", where=ctx.where())
    require_kernels(ctx, out, "embedded image")
    # The device runtime (data/stubs/x86.c) forks libomp's threads: the image
    # must load libomp (clang-linker-wrapper links it with the host link's -lomp).
    needed = ctx.run([ctx.tools.tool("llvm-readelf"), "-d", image], tag="readelf-dynamic").output
    if "[libomp.so" not in needed:
        raise BuildError(
            "embedded image does not link libomp",
            where=ctx.where(),
            hint="the device link needs -lomp (clang -fopenmp adds it)",
        )
    ctx.info.validation["llvm-readelf"] = "image: x86-64 ELF with the kernels, linked to libomp"
