"""AMD GPUs: an AMDGPU code object, checked with llvm-readelf."""

from __future__ import annotations

from pathlib import Path

from ...bootstrap.errors import BuildError
from ..context import Context
from .offload import DEVICE_IR, extract_image, linked_device_ir
from .registry import step


@step("device-object-amdgpu", **DEVICE_IR, makes=("device_embed",))
def device_object_amdgpu(ctx: Context) -> Path:
    obj = ctx.temp(".o")
    ctx.run(
        [
            ctx.tools.tool("clang"),
            f"--target={ctx.device.triple}",
            f"-mcpu={ctx.device.arch}",
            "-nogpulib",
            "-c",
            ctx.opt_flag,
            linked_device_ir(ctx),
            "-o",
            obj,
        ]
    )
    return ctx.make("device_embed", obj)


@step("code-object-amdgpu", needs=("device_embed",), makes=("code_object",))
def code_object_amdgpu(ctx: Context) -> Path:
    hsaco = ctx.product("kernel.hsaco")
    ctx.run([ctx.tools.tool("ld.lld"), "-shared", ctx.file("device_embed"), "-o", hsaco])
    _check_code_object(ctx, hsaco)
    return ctx.make("code_object", hsaco)


def _check_code_object(ctx: Context, image: Path) -> None:
    out = ctx.run(
        [ctx.tools.tool("llvm-readelf"), "-h", "-s", "--notes", image], tag="readelf"
    ).output
    arch = ctx.device.arch or ""
    if "EM_AMDGPU" not in out or arch not in out:
        raise BuildError(f"{image.name} is not an AMDGPU {arch} code object", where=ctx.where())
    for kernel in ctx.info.kernels or []:
        if f"{kernel}.kd" not in out or f".name:           {kernel}" not in out:
            raise BuildError(
                f"{image.name} lacks kernel {kernel} or its descriptor", where=ctx.where()
            )
    ctx.info.validation["llvm-readelf"] = (
        f"{image.name}: EM_AMDGPU {arch}, kernels+descriptors: {ctx.info.kernels}"
    )


@step("validate-amd", needs=("executable",))
def validate_amd(ctx: Context) -> None:
    _check_code_object(ctx, extract_image(ctx))
