"""Split host/device code through the LLVM offload runtime: the entry is
outlined into an omp.target region, translated twice (host and device
module), the device image is packaged, embedded into the host object and
linked by clang's linker wrapper. The device modules (x86, nvptx, amdgpu,
spirv) turn the device IR into the image and validate what got embedded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...bootstrap import proc
from ...bootstrap.errors import BuildError, UsageError
from ..context import SIGNATURE, TEMPS, Context
from ..offload import (
    allocas_in_address_space,
    kernel_names,
    with_module_attributes,
    wrap_entry_in_target,
)
from ..program import Signature
from . import blas
from .host_code import cached_c_object
from .registry import Contract, Uses, step

STUBS = Path(__file__).parents[1] / "data" / "stubs"


@step("omp-target", needs=(SIGNATURE,), makes=("offload_mlir",))
def omp_target(ctx: Context) -> Path:
    assert ctx.signature is not None and ctx.current is not None
    text = ctx.current.read_text()
    _check_no_parallel_callee(text, ctx.signature.entry, ctx.where())
    out = ctx.temp(".mlir")
    out.write_text(wrap_entry_in_target(text, ctx.signature, out, ctx.where()))
    return ctx.make("offload_mlir", out)


#: The MlirbootPasses pass that splits the entry into kernels (see
#: backend/passes/OffloadNests.cpp).
OFFLOAD_NESTS = "mlirboot-offload-nests"


def map_kinds(sig: Signature) -> list[str]:
    """Per entry buffer: inputs `to`, result out-params `from`, memref
    arguments (written in place) `tofrom`."""
    kinds = ["tofrom" if b.kind == "memref" else "to" for b in sig.args]
    return kinds + ["from"] * len(sig.results)


@step("omp-target-nests", needs=(SIGNATURE,))
def omp_target_nests(ctx: Context) -> Path:
    """The parallel mapping: the entry (memrefs, its parallel loop nests as
    omp.parallel + omp.wsloop) becomes one composite teams/distribute/
    parallel/wsloop kernel per parallel nest and one Generic kernel per run
    of other code, inside one omp.target_data that maps the buffers once
    (mlirboot-offload-nests). Kernel i is located at <this stage's
    output>:i:1 (host and device kernel names derive from it)."""
    assert ctx.signature is not None and ctx.current is not None
    _check_no_parallel_callee(ctx.current.read_text(), ctx.signature.entry, ctx.where())
    out = ctx.temp(".mlir")
    out.touch()
    options = (
        f"entry={ctx.signature.entry} maps={','.join(map_kinds(ctx.signature))} kernel-file={out}"
    )
    result = ctx.run(
        [
            ctx.tools.tool("mlir-opt"),
            ctx.current,
            "-o",
            out,
            "--mlir-print-debuginfo",
            f"--load-pass-plugin={ctx.tools.plugin('passes')}",
            "--mlir-print-op-on-diagnostic=false",
            f"--pass-pipeline=builtin.module({OFFLOAD_NESTS}{{{options}}},canonicalize)",
        ],
        check=False,
    )
    if result.returncode != 0:
        first = proc.first_diagnostic(result.output.splitlines()) or "mlir-opt failed"
        raise BuildError(
            f"{OFFLOAD_NESTS} failed: {first}", where=ctx.where(), hint=f"log: {result.log_path}"
        )
    for found in re.finditer(r"^(\S+?:\d+:\d+): remark: mlirboot: (.*)$", result.output, re.M):
        ctx.remark(found[1], found[2].strip())
    return out


@step("offload-module", makes=("offload_mlir",))
def offload_module(ctx: Context) -> Path:
    """The lowered module with its kernels (omp-target-nests) is what the
    host and device translations read."""
    assert ctx.current is not None
    return ctx.make("offload_mlir", ctx.current)


# A function definition, on the LLVM dialect (omp-target) or before it (omp-target-nests).
_FUNC = re.compile(r"^  (?:llvm|func)\.func (?:private )?@([\w$.]+)\(", re.M)


def _check_no_parallel_callee(text: str, entry: str, where: str) -> None:
    """Only the entry's body becomes the target region: parallel loops in a
    function it calls (one the inliner kept: recursion) would be translated
    for the device outside any target region, which computes garbage."""
    starts = list(_FUNC.finditer(text))
    for found, after in zip(starts, [*starts[1:], None], strict=True):
        name = found.group(1)
        body = text[found.end() : after.start() if after else len(text)]
        called = f"llvm.call @{name}(" in text or f"call @{name}(" in text
        if name != entry and "omp.parallel" in body and called:
            raise UsageError(
                f"@{entry} calls @{name}, which has parallel loops and cannot be inlined",
                where=where,
                hint="offload targets run the entry's own body on the device: "
                "make @" + name + " non-recursive so it can be inlined, or use --target host",
            )


@step("translate-host", needs=("offload_mlir",), makes=("host_bc",))
def translate_host(ctx: Context) -> Path:
    mlir = ctx.temp(".mlir")
    mlir.write_text(
        with_module_attributes(
            ctx.file("offload_mlir").read_text(),
            {
                "omp.is_target_device": "false",
                "omp.target_triples": f'["{ctx.device.triple}"]',
                "llvm.target_triple": f'"{ctx.host.triple}"',
            },
        )
    )
    ll = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("mlir-translate"), "--mlir-to-llvmir", mlir, "-o", ll])
    bc = ctx.temp(".bc")
    ctx.run([ctx.tools.tool("llvm-as"), ll, "-o", bc])
    return ctx.make("host_bc", bc)


def device_is_gpu(ctx: Context) -> bool:
    return ctx.device.triple != ctx.host.triple


def _data_layout(ctx: Context) -> str | None:
    layout = ctx.device.data_layout
    if layout != "clang":
        return layout
    # The target's own layout as clang knows it (e.g. AMDGPU: allocas in addrspace 5).
    cmd: list[Any] = [
        ctx.tools.tool("clang"),
        f"--target={ctx.device.triple}",
        "-nogpulib",
        "-S",
        "-emit-llvm",
        "-x",
        "c",
        "/dev/null",
        "-o",
        "-",
    ]
    if ctx.device.arch != "generic":
        cmd.insert(2, f"-mcpu={ctx.device.arch}")
    found = re.search(r'^target datalayout = "(.*)"', ctx.run(cmd, tag="datalayout").output, re.M)
    return found.group(1) if found else None


@step("translate-device", needs=("offload_mlir", "host_bc"), makes=("device_ll",))
def translate_device(ctx: Context) -> Path:
    attrs = {
        "omp.is_target_device": "true",
        "omp.is_gpu": "true" if device_is_gpu(ctx) else "false",
        "llvm.target_triple": f'"{ctx.device.triple}"',
        "omp.host_ir_filepath": f'"{ctx.file("host_bc")}"',
    }
    layout = _data_layout(ctx)
    if layout:
        attrs["llvm.data_layout"] = f'"{layout}"'
    text = ctx.file("offload_mlir").read_text()
    space = ctx.device.alloca_address_space
    if space is not None:
        attrs["dlti.dl_spec"] = f'#dlti.dl_spec<"dlti.alloca_memory_space" = {space} : ui64>'
        text = allocas_in_address_space(text, space)
    mlir = ctx.temp(".mlir")
    mlir.write_text(with_module_attributes(text, attrs))
    ll = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("mlir-translate"), "--mlir-to-llvmir", mlir, "-o", ll])
    kernels = kernel_names(ll.read_text())
    if not kernels:
        raise BuildError("the device module has no offload kernel", where=ctx.where())
    ctx.info.kernels = kernels
    return ctx.make("device_ll", ll)


def _device_runtime(ctx: Context, device: Path) -> Path:
    """The target's own device runtime as IR: data/stubs/<entry_stub>.c compiled
    by the toolchain's clang to bitcode for the device triple (x86: the
    OpenMP entry points on libomp), or data/stubs/<entry_stub>.ll (a
    kernel-entry stub, for a triple LLVM builds no DeviceRTL for) under the
    device module's triple and data layout."""
    source = STUBS / f"{ctx.device.entry_stub}.c"
    if source.exists():
        # The same for every program: reused from the compile cache's objects/.
        flags = [f"--target={ctx.device.triple}", "-O2", "-fPIC", "-emit-llvm", "-c"]
        bc, _ = cached_c_object(ctx, source, flags, suffix=".bc", tag="runtime")
        return bc
    header = [
        line
        for line in device.read_text().splitlines()
        if line.startswith(("target datalayout", "target triple"))
    ]
    stub = ctx.temp(".ll", "stub")
    stub_src = STUBS / f"{ctx.device.entry_stub}.ll"
    stub.write_text("\n".join(header) + "\n" + stub_src.read_text())
    return stub


def device_libraries(ctx: Context) -> list[Path]:
    """codegen.device_libraries (the DeviceRTL bitcode, ...) as the
    toolchain's manifest names them; one line naming the component that
    builds them when the toolchain lacks one."""
    assert ctx.device.triple is not None
    target = ctx.pipeline.device_target or ctx.target
    return [
        ctx.tools.device_library(name, ctx.device.triple, target)
        for name in ctx.device.device_libraries
    ]


def linked_device_ir(ctx: Context) -> Path:
    """Device IR + the target's device runtime, optimized at the -O level.
    The device runtime is either the toolchain's libraries
    (codegen.device_libraries: linked as clang links the DeviceRTL, only
    what the kernels need, internalized, then optimized with them at O2 or
    higher, as clang-linker-wrapper's device LTO does) or the target's
    entry_stub. (Steps calling this declare
    `needs=("device_ll",), reads=("blas_device_ir",)`.)"""
    device = ctx.file("device_ll")
    libraries = device_libraries(ctx)
    runtime = [] if libraries else [_device_runtime(ctx, device)]
    linked = ctx.temp(".bc", "linked")
    llvm_link = ctx.tools.tool("llvm-link")
    ctx.run([llvm_link, device, *runtime, *ctx.each("blas_device_ir"), "-o", linked])
    level = ctx.opt if ctx.opt != "O0" else "O1"
    if libraries:
        # The flags apply to every file after the first.
        with_rt = ctx.temp(".bc", "devicertl")
        ctx.run(
            [llvm_link, linked, "--only-needed", "--internalize", *libraries, "-o", with_rt],
            tag="link-devicertl",
        )
        _check_entry_points(ctx, with_rt, libraries)
        linked = with_rt
        level = ctx.opt if ctx.opt in ("O2", "O3") else "O2"
    optimized = ctx.temp(".bc", "opt")
    # The middle end folds the memref descriptors away; the SPIR-V backend
    # cannot type them otherwise.
    ctx.run([ctx.tools.tool("opt"), f"-passes=default<{level}>", linked, "-o", optimized])
    return optimized


# What MLIR's OpenMP translation calls in every kernel (generic or SPMD).
ENTRY_POINTS = ("__kmpc_target_init", "__kmpc_target_deinit")


def _check_entry_points(ctx: Context, linked: Path, libraries: list[Path]) -> None:
    """The device runtime defines the kernel entry points (a library that is
    not a DeviceRTL would leave them undefined until the device link fails)."""
    listing = ctx.temp(".ll", "devicertl")
    ctx.run([ctx.tools.tool("llvm-dis"), linked, "-o", listing], tag="dis")
    text = listing.read_text()
    defined = set(re.findall(r"^define [^@]*@([\w.$]+)\(", text, re.M))
    missing = [name for name in ENTRY_POINTS if name not in defined]
    names = ", ".join(lib.name for lib in libraries)
    if missing:
        raise BuildError(f"{names} does not define {missing[0]}", where=ctx.where())
    ctx.info.validation["devicertl"] = f"linked {names}: {', '.join(ENTRY_POINTS)} defined"


DEVICE_IR: Uses = {"needs": ("device_ll",), "reads": ("blas_device_ir",)}


@step("offload-binary", needs=("device_embed",), makes=("offload_binary",))
def offload_binary(ctx: Context) -> Path:
    out = ctx.temp(".offload")
    image = (
        f"file={ctx.file('device_embed')},triple={ctx.device.triple},"
        f"arch={ctx.device.arch},kind=openmp"
    )
    ctx.run([ctx.tools.tool("llvm-offload-binary"), "-o", out, f"--image={image}"])
    return ctx.make("offload_binary", out)


@step("embed-host", needs=("offload_binary", "host_bc"), makes=("host_object",))
def embed_host(ctx: Context) -> Path:
    """The host object with the device image in its .llvm.offloading section."""
    obj = ctx.temp(".o")
    ctx.run(
        [
            ctx.tools.tool("clang"),
            "-cc1",
            "-triple",
            ctx.host.triple,
            "-emit-obj",
            ctx.opt_flag,
            "-mrelocation-model",
            "pic",
            "-pic-level",
            "2",
            "-fopenmp",
            f"-fembed-offload-object={ctx.file('offload_binary')}",
            f"--offload-targets={ctx.device.triple}",
            "-x",
            "ir",
            ctx.file("host_bc"),
            "-o",
            obj,
        ]
    )
    return ctx.make("host_object", obj)


def link(ctx: Context, extra: list[str] | None = None, *, shared: bool = False) -> Path:
    """clang drives clang-linker-wrapper: it device-links the embedded image,
    wraps it with the registration code and links against libomptarget.
    `shared`: libprog.so (the entry without the launcher; its constructor
    registers the image when it is loaded), else the executable."""
    exe = ctx.product("libprog.so" if shared else "prog")
    lib = ctx.tools.lib_dir
    device_flags = list(extra or [])
    if device_is_gpu(ctx):
        # The device runtime is already in the image (linked_device_ir):
        # the device link must not look for one.
        device_flags += [f"--offload-arch={ctx.device.arch}", "-nogpulib"]
    ctx.run(
        [
            ctx.tools.tool("clang"),
            "-fopenmp",
            "--offload-new-driver",
            f"-fopenmp-targets={ctx.device.triple}",
            *device_flags,
            *(["-shared"] if shared else [ctx.file("launcher_object")]),
            ctx.file("host_object"),
            # Not checking that libomptarget's own dependencies (libLLVM) define
            # what it uses: GNU ld reads all of libLLVM for that, 0.35 of the
            # 0.45 s this link took.
            "-Wl,--allow-shlib-undefined",
            f"-L{lib}",
            f"-Wl,-rpath,{lib}",
            *blas.link_args(ctx),
            "-lm",
            "-o",
            exe,
        ]
    )
    return ctx.make("shared_library" if shared else "executable", exe)


LINK: Contract = {
    "needs": ("launcher_object", "host_object"),
    "reads": ("blas_objects",),
    "makes": ("executable",),
    "side": True,
}


@step("link-offload", **LINK)
def link_offload(ctx: Context) -> Path:
    return link(ctx)


@step(
    "link-offload-shared",
    needs=("host_object",),
    reads=("blas_objects",),
    makes=("shared_library",),
    side=True,
)
def link_offload_shared(ctx: Context) -> Path:
    """The entry and its embedded device image as a shared library:
    Artifact.run calls it inside the Python process (offload-host)."""
    return link(ctx, shared=True)


# --- validation of the image that ended up in the executable -----------------


def extract_image(ctx: Context) -> Path:
    """The device image embedded in the linked executable, as the runtime sees
    it. (Steps calling this declare `needs=("executable",)`.)"""
    outdir = ctx.workdir / TEMPS / f"{ctx.index:02d}-extract"
    outdir.mkdir(exist_ok=True)
    image = outdir / "image.bin"
    exe = ctx.file("executable")
    triple = ctx.device.triple
    ctx.run(
        [ctx.tools.tool("llvm-offload-binary"), exe, f"--image=file={image},triple={triple}"],
        cwd=outdir,
    )
    listing = ctx.run(
        [ctx.tools.tool("llvm-objdump"), "--offloading", exe], tag="objdump-offloading"
    ).output
    if not triple or triple not in listing or not image.exists():
        raise BuildError(f"no {triple} image embedded in the executable", where=ctx.where())
    ctx.info.offloading = [
        line.strip()
        for line in listing.splitlines()
        if line.strip() and not line.startswith(str(ctx.workdir))
    ]
    return image


def require_kernels(ctx: Context, symbols: str, what: str) -> None:
    missing = [k for k in ctx.info.kernels or [] if k not in symbols]
    if missing:
        raise BuildError(f"{what} lacks kernel {missing[0]}", where=ctx.where())
