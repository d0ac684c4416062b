"""SPIR-V devices (Intel GPUs through Level Zero): llc's SPIR-V backend,
checked with spirv-val before and after the linker wrapper packs it."""

from __future__ import annotations

import re
from pathlib import Path

from ...bootstrap.errors import BuildError
from ..context import Context
from .offload import DEVICE_IR, extract_image, linked_device_ir
from .registry import step


@step("device-spirv", **DEVICE_IR, makes=("spirv", "device_embed"))
def device_spirv(ctx: Context) -> Path:
    spv = ctx.product("kernel.spv")
    ctx.run(
        [
            ctx.tools.tool("llc"),
            ctx.opt_flag,
            f"-mtriple={ctx.device.triple}",
            "-filetype=obj",
            linked_device_ir(ctx),
            "-o",
            spv,
        ]
    )
    ctx.run([ctx.tools.spirv_val(), spv], tag="spirv-val")
    ctx.make("device_embed", spv)
    ctx.info.validation["spirv-val"] = f"{spv.name}: ok"
    return ctx.make("spirv", spv)


@step("validate-intel", needs=("executable",))
def validate_intel(ctx: Context) -> None:
    """The linker wrapper packs SPIR-V into an ELF for the Level Zero plugin;
    pull each SPIR-V section out and validate it."""
    image = extract_image(ctx)
    sections = ctx.run([ctx.tools.tool("llvm-readelf"), "-S", image], tag="readelf").output
    names = re.findall(r"(__openmp_offload_spirv_\d+)", sections)
    if not names:
        raise BuildError("embedded image has no SPIR-V section", where=ctx.where())
    for name in names:
        spv = image.with_name(f"{name}.spv")
        _dump_section(ctx, image, name, spv)
        ctx.run([ctx.tools.spirv_val(), spv], tag=f"spirv-val-{name}")
    ctx.info.validation["spirv-val-embedded"] = f"{names}: ok"


def _dump_section(ctx: Context, image: Path, name: str, dest: Path) -> None:
    # Manifests written before llvm-objcopy was a manifest tool: it sits beside
    # the LLVM tools, which for the system provider are not under the prefix.
    objcopy = ctx.tools.manifest.tools.get("llvm-objcopy") or (
        ctx.tools.tool("llvm-readelf").parent / "llvm-objcopy"
    )
    ctx.run([objcopy, f"--dump-section={name}={dest}", image, "/dev/null"], tag="objcopy")
