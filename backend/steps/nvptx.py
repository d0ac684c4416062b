"""NVIDIA GPUs: NVPTX code, ptxas (the PTX validator) and nvlink through the
linker wrapper, both from the nvidia-cuda-nvcc wheel."""

from __future__ import annotations

from pathlib import Path

from ...bootstrap.errors import BuildError
from ..context import Context
from .offload import DEVICE_IR, LINK, extract_image, link, linked_device_ir, require_kernels
from .registry import step

EM_CUDA = 190  # ELF e_machine of a cubin


@step("device-ptx", **DEVICE_IR, makes=("ptx",))
def device_ptx(ctx: Context) -> Path:
    ptx = ctx.product("kernel.ptx")
    ctx.run(
        [
            ctx.tools.tool("llc"),
            ctx.opt_flag,
            f"-mtriple={ctx.device.triple}",
            f"-mcpu={ctx.device.arch}",
            f"-mattr={ctx.device.features}",
            linked_device_ir(ctx),
            "-o",
            ptx,
        ]
    )
    return ctx.make("ptx", ptx)


@step("ptxas", needs=("ptx",), makes=("cubin", "device_embed"))
def ptxas(ctx: Context) -> Path:
    """ptxas is the PTX validator: a standalone cubin (shipped, validated) and
    a relocatable one that the linker wrapper's nvlink device-links."""
    tool = ctx.tools.ptxas()
    arch = ctx.device.arch
    ptx = ctx.file("ptx")
    cubin = ctx.product("kernel.cubin")
    ctx.run([tool, f"-arch={arch}", ctx.opt_flag, ptx, "-o", cubin], tag="ptxas")
    relocatable = ctx.temp(".cubin", "relocatable")
    ctx.run([tool, "-c", f"-arch={arch}", ctx.opt_flag, ptx, "-o", relocatable], tag="ptxas-c")
    ctx.make("device_embed", relocatable)
    ctx.info.validation["ptxas"] = f"ptxas -arch={arch}: ok"
    return ctx.make("cubin", cubin)


@step("link-offload-cuda", **LINK)
def link_offload_cuda(ctx: Context) -> Path:
    """The linker wrapper finds nvlink under the CUDA root (the wheel's)."""
    return link(ctx, [f"--cuda-path={ctx.tools.cuda_root()}"])


@step("validate-nvidia", needs=("executable",))
def validate_nvidia(ctx: Context) -> None:
    image = extract_image(ctx)
    header = image.read_bytes()[:20]
    if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != EM_CUDA:
        raise BuildError("embedded image is not a CUDA ELF (cubin)", where=ctx.where())
    syms = ctx.run([ctx.tools.tool("llvm-readelf"), "-s", image], tag="readelf", check=False).output
    require_kernels(ctx, syms + image.read_bytes().decode("latin-1"), "embedded cubin")
    ctx.info.validation["embedded"] = "image: CUDA ELF (cubin) with the kernels"
