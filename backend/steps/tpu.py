"""TPU: the program as StableHLO, serialized as a portable artifact that a
PJRT plugin (libtpu on TPU hosts) compiles and runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..context import SIGNATURE, Context
from ..pjrt import serialize_portable
from ..stablehlo import translate
from .registry import step

PJRT_LAUNCHER = Path(__file__).parents[1] / "pjrt_launcher.py"


@step("stablehlo", needs=(SIGNATURE,), makes=("stablehlo",))
def stablehlo(ctx: Context) -> Path:
    assert ctx.signature is not None and ctx.current is not None
    out = ctx.product("program.stablehlo.mlir")
    text = translate(ctx.current.read_text(), ctx.signature, ctx.where(), ctx.info.writes, ctx.opt)
    ctx.temp(".mlir").write_text(text)  # kept by --save-temps even if a later stage fails
    out.write_text(text)
    return ctx.make("stablehlo", out)


@step("portable-artifact", needs=("stablehlo",), makes=("portable_artifact",))
def portable_artifact(ctx: Context) -> Path:
    out = ctx.product("program.stablehlo.bc")
    version = ctx.device.stablehlo_version or "1.0.0"
    out.write_bytes(serialize_portable(ctx.file("stablehlo").read_text(), version, ctx.where()))
    ctx.info.stablehlo_version = version
    return ctx.make("portable_artifact", out)


@step("pjrt-launcher", makes=("launcher",))
def pjrt_launcher(ctx: Context) -> Path:
    out = ctx.product("launch.py")
    shutil.copyfile(PJRT_LAUNCHER, out)
    out.chmod(0o755)
    ctx.info.pjrt_plugin = ctx.options.get("pjrt_plugin") or ctx.device.pjrt_plugin
    # The toolchain's own libtpu (the pjrt component) serves the default plugin.
    libtpu = ctx.tools.manifest.libraries.get("libtpu")
    if libtpu:
        ctx.info.libtpu = libtpu
    return ctx.make("launcher", out)
