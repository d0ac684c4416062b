"""The named pipeline steps (`step:` in backend/pipelines/*.yaml). Each takes
the compile Context, runs its tools through bootstrap.proc, and returns the
file that is the stage's output (or None to keep the current one)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from ..bootstrap import proc
from ..bootstrap.errors import BuildError, UsageError
from .driver import TEMPS, Context
from .entry_effects import require_outputs
from .grad import GradRequest
from .grad import resolve as resolve_wrt
from .launcher import launcher_source
from .offload import (
    allocas_in_address_space,
    kernel_names,
    with_module_attributes,
    wrap_entry_in_target,
)
from .program import parse_signature

HOST_TRIPLE = "x86_64-pc-linux-gnu"
STUBS = Path(__file__).parent / "data" / "stubs"
STEPS: dict[str, Callable[[Context], Path | None]] = {}


def step(name: str):
    def register(fn: Callable[[Context], Path | None]):
        STEPS[name] = fn
        return fn

    return register


def run_step(name: str, ctx: Context) -> Path | None:
    if name not in STEPS:
        raise UsageError(f"unknown pipeline step `{name}`", where=ctx.where(),
                         hint=f"known steps: {', '.join(sorted(STEPS))}")
    return STEPS[name](ctx)


# --- front: parse and check the program -------------------------------------

@step("parse")
def parse(ctx: Context) -> Path:
    """Verify the program with mlir-opt (bad MLIR is bad input: exit 2) and
    read the entry's signature."""
    out = ctx.temp(".mlir")
    result = ctx.run([ctx.tools.tool("mlir-opt"), ctx.source, "-o", out, "--mlir-print-debuginfo"],
                     check=False)
    if result.returncode != 0:
        first = proc.first_diagnostic(result.output.splitlines()) or "mlir-opt rejected it"
        raise UsageError(f"invalid MLIR: {first}", where=ctx.where(),
                         hint="fix the program; mlir-opt's full output: " + str(result.log_path))
    text = out.read_text()
    ctx.signature = parse_signature(text, ctx.entry, str(ctx.source))
    require_outputs(text, ctx.signature, str(ctx.source))
    return out


# --- memref entries as tensor programs (backend/tensorize.py) ---------------

@step("memref-to-tensor")
def memref_to_tensor(ctx: Context) -> Path | None:
    """A raised memref entry becomes value-semantic (same signature): the
    tensor-only consumers (matmul schedule, StableHLO) then see its ops."""
    from .tensorize import memrefs_to_tensors

    assert ctx.signature is not None
    if not any(a.kind == "memref" for a in ctx.signature.args):
        return None
    generic = ctx.temp(".mlir", "generic")
    ctx.run([ctx.tools.tool("mlir-opt"), ctx.current, "--mlir-print-op-generic",
             "--mlir-print-debuginfo", "-o", generic], tag="mlir-opt-generic")
    converted = memrefs_to_tensors(generic.read_text())
    if ctx.signature.entry not in converted.writes:
        return None  # not straight-line linalg (e.g. -O0): the plain lowering takes it
    raw = ctx.temp(".mlir", "converted")
    raw.write_text(converted.text)
    out = ctx.temp(".mlir")
    # mlir-opt verifies the rewrite (a bad one is our bug: exit 1, not the user's).
    ctx.run([ctx.tools.tool("mlir-opt"), raw, "--mlir-print-debuginfo", "-o", out],
            tag="mlir-opt-verify")
    ctx.info["writes"] = converted.writes[ctx.signature.entry]
    for location, what in converted.remarks:
        ctx.remark(location or str(ctx.source), what)
    return out


# --- BLAS replacement (--blas; backend/schedules/blas.py) --------------------

_LOC_SUFFIX = re.compile(r"^(?P<op>[ \t]*linalg\.matmul .*?)[ \t]+loc\([^()]*\)[ \t]*$", re.M)
_SHIM_CALL = re.compile(r"^(?P<ind>[ \t]*)func\.call @(?P<f>mlirboot_blas_(?P<t>[sd])gemm)\("
                        r"(?P<ops>[^)]*)\) : .*$", re.M)
_SHIM_DECL = re.compile(r"^[ \t]*func\.func private @mlirboot_blas_[sd]gemm\(.*\n", re.M)
BLAS_RAW = Path(__file__).parent / "data" / "blas" / "blas_raw.c"


def _raw_blas_calls(text: str) -> str:
    """The shim takes memref descriptors (its C interface), which the bare-pointer
    calling convention of these pipelines cannot pass: call its scalar entry
    (data/blas/blas_raw.c) with each operand's pointer, offset, sizes, strides."""
    from .schedules.blas import _dyn

    counter = 0
    used: set[str] = set()

    def call(m: re.Match[str]) -> str:
        nonlocal counter
        ind, element = m["ind"], "f32" if m["t"] == "s" else "f64"
        ty, args, lines = _dyn(element), [], []
        for operand in (o.strip() for o in m["ops"].split(",")):
            v = f"%blasraw{counter}"
            counter += 1
            lines.append(f"{ind}{v}_base, {v}_off, {v}_sz:2, {v}_st:2 = "
                         f"memref.extract_strided_metadata {operand} : {ty} -> "
                         f"memref<{element}>, index, index, index, index, index")
            lines.append(f"{ind}{v}_ptr = memref.extract_aligned_pointer_as_index {operand} "
                         f": {ty} -> index")
            args += [f"{v}_ptr", f"{v}_off", f"{v}_sz#0", f"{v}_sz#1", f"{v}_st#0",
                     f"{v}_st#1"]
        used.add(m["f"])
        lines.append(f"{ind}func.call @{m['f']}_raw({', '.join(args)}) : "
                     f"({', '.join(['index'] * len(args))}) -> ()")
        return "\n".join(lines)

    out = _SHIM_DECL.sub("", _SHIM_CALL.sub(call, text))
    head = re.search(r"^module\b[^\n]*\{[ \t]*\n", out, re.M)
    assert head is not None  # replace_matmuls put its declarations there
    decls = "".join(f"  func.func private @{f}_raw({', '.join(['index'] * 18)})\n"
                    for f in sorted(used))
    return out[: head.end()] + decls + out[head.end():]


@step("blas")
def blas(ctx: Context) -> Path:
    """memref linalg.matmul (f32/f64) -> the shim's cblas_?gemm call; the shim
    and -lopenblas join the link of whichever image runs the code (the host
    executable, or the offload device image: the shim is linked into its IR)."""
    from .schedules import blas as blas_mod

    # The rewrite matches mlir-opt's plain printed form: drop the matmuls' locs.
    text = _LOC_SUFFIX.sub(lambda m: m["op"], ctx.current.read_text())
    rewritten = blas_mod.replace_matmuls(text)
    calls = len(_SHIM_CALL.findall(rewritten))
    out = ctx.temp(".mlir")
    out.write_text(_raw_blas_calls(rewritten) if calls else rewritten)
    if not calls:
        return out
    clang = ctx.tools.tool("clang")
    hint = "apt-get install libopenblas-dev (cblas.h, libopenblas.so)"
    for src in (blas_mod.SHIM_SOURCE, BLAS_RAW):
        # The executable needs the shim even on offload-host: the host module
        # keeps a host-fallback copy of the target region.
        obj = ctx.temp(".o", src.stem)
        ctx.run([clang, "-O2", "-fPIC", "-c", src, "-o", obj], tag=src.stem, hint=hint)
        ctx.files[f"blas_{src.stem}"] = obj
        if ctx.device("offload"):
            bc = ctx.temp(".bc", src.stem)
            ctx.run([clang, "-O2", "-fPIC", "-c", "-emit-llvm", src, "-o", bc],
                    tag=f"{src.stem}-bc", hint=hint)
            ctx.files[f"blas_device_ir_{src.stem}"] = bc
    ctx.info["blas"] = {"calls": calls, "libs": blas_mod.link_args()}
    ctx.remark(str(ctx.source), f"{calls} linalg.matmul -> OpenBLAS gemm calls (mlirboot shim)")
    return out


def _codegen_flags(ctx: Context) -> list[str]:
    flags = ctx.device("codegen-flags") or {}
    return list(flags.get(ctx.opt, [])) if isinstance(flags, dict) else list(flags)


def _blas_link(ctx: Context) -> list[str | Path]:
    """Shim objects (host) and OpenBLAS. On offload-host the shim lives in the
    device image and its cblas_* references resolve at load time against the
    executable's global scope, so libopenblas must stay a needed library."""
    if "blas" not in ctx.info:
        return []
    objs = [v for k, v in ctx.files.items() if k in ("blas_blas_shim", "blas_blas_raw")]
    return [*objs, "-Wl,--no-as-needed", *ctx.info["blas"]["libs"], "-Wl,--as-needed"]


# --- plain host code --------------------------------------------------------

@step("translate-llvmir")
def translate_llvmir(ctx: Context) -> Path:
    out = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("mlir-translate"), "--mlir-to-llvmir", ctx.current, "-o", out])
    return out


@step("host-object")
def host_object(ctx: Context) -> Path:
    out = ctx.temp(".o")
    ctx.run([ctx.tools.tool("clang"), "-c", ctx.opt_flag, *_codegen_flags(ctx), "-fPIC",
             "-Wno-override-module", "-x", "ir", ctx.current, "-o", out])
    ctx.files["host_object"] = out
    return out


@step("launcher")
def launcher(ctx: Context) -> Path:
    assert ctx.signature is not None
    src = ctx.temp(".c")
    src.write_text(launcher_source(ctx.signature))
    obj = ctx.temp(".o")
    ctx.run([ctx.tools.tool("clang"), "-c", "-O2", "-fPIC", src, "-o", obj])
    ctx.files["launcher_object"] = obj
    return obj


@step("link-host")
def link_host(ctx: Context) -> Path:
    exe = ctx.product("prog")
    ctx.run([ctx.tools.tool("clang"), ctx.files["launcher_object"], ctx.files["host_object"],
             *_blas_link(ctx), "-lm", "-o", exe])
    ctx.files["executable"] = exe
    return exe


# --- split host/device through the OpenMP offload runtime --------------------

@step("omp-target")
def omp_target(ctx: Context) -> Path:
    assert ctx.signature is not None
    out = ctx.temp(".mlir")
    text = wrap_entry_in_target(ctx.current.read_text(), ctx.signature, out, ctx.where())
    out.write_text(text)
    ctx.files["offload_mlir"] = out
    return out


def _triple(ctx: Context) -> str:
    return ctx.device("triple")


@step("translate-host")
def translate_host(ctx: Context) -> Path:
    mlir = ctx.temp(".mlir")
    mlir.write_text(with_module_attributes(ctx.files["offload_mlir"].read_text(), {
        "omp.is_target_device": "false",
        "omp.target_triples": f'["{_triple(ctx)}"]',
        "llvm.target_triple": f'"{HOST_TRIPLE}"',
    }))
    ll = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("mlir-translate"), "--mlir-to-llvmir", mlir, "-o", ll])
    bc = ctx.temp(".bc")
    ctx.run([ctx.tools.tool("llvm-as"), ll, "-o", bc])
    ctx.files["host_bc"] = bc
    return bc


def _data_layout(ctx: Context) -> str | None:
    layout = ctx.device("data-layout")
    if layout != "clang":
        return layout
    # The target's own layout as clang knows it (e.g. AMDGPU: allocas in addrspace 5).
    cmd = [ctx.tools.tool("clang"), f"--target={_triple(ctx)}", "-nogpulib", "-S", "-emit-llvm",
           "-x", "c", "/dev/null", "-o", "-"]
    if ctx.device("arch") != "generic":
        cmd.insert(2, f"-mcpu={ctx.device('arch')}")
    found = re.search(r'^target datalayout = "(.*)"', ctx.run(cmd, tag="datalayout").output, re.M)
    return found.group(1) if found else None


@step("translate-device")
def translate_device(ctx: Context) -> Path:
    attrs = {
        "omp.is_target_device": "true",
        "omp.is_gpu": "false" if _triple(ctx) == HOST_TRIPLE else "true",
        "llvm.target_triple": f'"{_triple(ctx)}"',
        "omp.host_ir_filepath": f'"{ctx.files["host_bc"]}"',
    }
    layout = _data_layout(ctx)
    if layout:
        attrs["llvm.data_layout"] = f'"{layout}"'
    if ctx.device("alloca-address-space") is not None:
        space = int(ctx.device("alloca-address-space"))
        attrs["dlti.dl_spec"] = f'#dlti.dl_spec<"dlti.alloca_memory_space" = {space} : ui64>'
    text = ctx.files["offload_mlir"].read_text()
    if ctx.device("alloca-address-space") is not None:
        text = allocas_in_address_space(text, int(ctx.device("alloca-address-space")))
    mlir = ctx.temp(".mlir")
    mlir.write_text(with_module_attributes(text, attrs))
    ll = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("mlir-translate"), "--mlir-to-llvmir", mlir, "-o", ll])
    kernels = kernel_names(ll.read_text())
    if not kernels:
        raise BuildError("the device module has no offload kernel", where=ctx.where())
    ctx.info["kernels"] = kernels
    ctx.files["device_ll"] = ll
    return ll


def _linked_device_ir(ctx: Context) -> Path:
    """Device IR + the target's kernel-entry stub, optimized at the -O level."""
    device = ctx.files["device_ll"]
    header = [line for line in device.read_text().splitlines()
              if line.startswith(("target datalayout", "target triple"))]
    stub = ctx.temp(".ll", "stub")
    stub_src = STUBS / f"{ctx.device('stub', 'x86')}.ll"
    stub.write_text("\n".join(header) + "\n" + stub_src.read_text())
    linked = ctx.temp(".bc", "linked")
    blas_ir = [v for k, v in ctx.files.items() if k.startswith("blas_device_ir_")]
    ctx.run([ctx.tools.tool("llvm-link"), device, stub, *blas_ir, "-o", linked])
    optimized = ctx.temp(".bc", "opt")
    # The middle end folds the memref descriptors away; the SPIR-V backend
    # cannot type them otherwise.
    level = ctx.opt if ctx.opt != "O0" else "O1"
    ctx.run([ctx.tools.tool("opt"), f"-passes=default<{level}>", linked, "-o", optimized])
    return optimized


@step("device-object-x86")
def device_object_x86(ctx: Context) -> Path:
    obj = ctx.temp(".o")
    ctx.run([ctx.tools.tool("clang"), "-c", ctx.opt_flag, *_codegen_flags(ctx), "-fPIC",
             "-Wno-override-module", _linked_device_ir(ctx), "-o", obj])
    ctx.files["device_embed"] = obj
    return obj


@step("device-ptx")
def device_ptx(ctx: Context) -> Path:
    ptx = ctx.product("kernel.ptx")
    ctx.run([ctx.tools.tool("llc"), ctx.opt_flag, f"-mtriple={_triple(ctx)}",
             f"-mcpu={ctx.device('arch')}", f"-mattr={ctx.device('ptx-features', '')}",
             _linked_device_ir(ctx), "-o", ptx])
    ctx.files["ptx"] = ptx
    return ptx


@step("ptxas")
def ptxas(ctx: Context) -> Path:
    """ptxas is the PTX validator: a standalone cubin (shipped, validated) and
    a relocatable one that the linker wrapper's nvlink device-links."""
    tool = ctx.tools.ptxas()
    arch = ctx.device("arch")
    cubin = ctx.product("kernel.cubin")
    ctx.run([tool, f"-arch={arch}", ctx.opt_flag, ctx.files["ptx"], "-o", cubin], tag="ptxas")
    relocatable = ctx.temp(".cubin", "relocatable")
    ctx.run([tool, "-c", f"-arch={arch}", ctx.opt_flag, ctx.files["ptx"], "-o", relocatable],
            tag="ptxas-c")
    ctx.files["cubin"] = cubin
    ctx.files["device_embed"] = relocatable
    ctx.info.setdefault("validation", {})["ptxas"] = f"ptxas -arch={arch}: ok"
    return cubin


@step("device-object-amdgpu")
def device_object_amdgpu(ctx: Context) -> Path:
    obj = ctx.temp(".o")
    ctx.run([ctx.tools.tool("clang"), f"--target={_triple(ctx)}", f"-mcpu={ctx.device('arch')}",
             "-nogpulib", "-c", ctx.opt_flag, _linked_device_ir(ctx), "-o", obj])
    ctx.files["device_embed"] = obj
    return obj


@step("code-object-amdgpu")
def code_object_amdgpu(ctx: Context) -> Path:
    hsaco = ctx.product("kernel.hsaco")
    ctx.run([ctx.tools.tool("ld.lld"), "-shared", ctx.files["device_embed"], "-o", hsaco])
    ctx.files["code_object"] = hsaco
    _check_amdgpu(ctx, hsaco)
    return hsaco


@step("device-spirv")
def device_spirv(ctx: Context) -> Path:
    spv = ctx.product("kernel.spv")
    ctx.run([ctx.tools.tool("llc"), ctx.opt_flag, f"-mtriple={_triple(ctx)}", "-filetype=obj",
             _linked_device_ir(ctx), "-o", spv])
    ctx.run([ctx.tools.spirv_val(), spv], tag="spirv-val")
    ctx.files["spirv"] = spv
    ctx.files["device_embed"] = spv
    ctx.info.setdefault("validation", {})["spirv-val"] = f"{spv.name}: ok"
    return spv


@step("offload-binary")
def offload_binary(ctx: Context) -> Path:
    out = ctx.temp(".offload")
    image = (f"file={ctx.files['device_embed']},triple={_triple(ctx)},"
             f"arch={ctx.device('arch')},kind=openmp")
    ctx.run([ctx.tools.tool("llvm-offload-binary"), "-o", out, f"--image={image}"])
    ctx.files["offload_binary"] = out
    return out


@step("embed-host")
def embed_host(ctx: Context) -> Path:
    """The host object with the device image in its .llvm.offloading section."""
    obj = ctx.temp(".o")
    ctx.run([ctx.tools.tool("clang"), "-cc1", "-triple", HOST_TRIPLE, "-emit-obj", ctx.opt_flag,
             "-mrelocation-model", "pic", "-pic-level", "2", "-fopenmp",
             f"-fembed-offload-object={ctx.files['offload_binary']}",
             f"--offload-targets={_triple(ctx)}", "-x", "ir", ctx.files["host_bc"], "-o", obj])
    ctx.files["host_object"] = obj
    return obj


@step("link-offload")
def link_offload(ctx: Context) -> Path:
    """clang drives clang-linker-wrapper: it device-links the embedded image,
    wraps it with the registration code and links against libomptarget."""
    exe = ctx.product("prog")
    lib = ctx.tools.lib_dir
    cmd = [ctx.tools.tool("clang"), "-fopenmp", "--offload-new-driver",
           f"-fopenmp-targets={_triple(ctx)}", ctx.files["launcher_object"],
           ctx.files["host_object"], f"-L{lib}", f"-Wl,-rpath,{lib}", *_blas_link(ctx), "-lm",
           "-o", exe]
    if _triple(ctx) != HOST_TRIPLE:
        # No OpenMP device runtime is linked: the image is self-contained
        # (see data/stubs), so the device link must not look for one.
        cmd[4:4] = [f"--offload-arch={ctx.device('arch')}", "-nogpulib"]
    if _triple(ctx).startswith("nvptx"):
        cmd.insert(4, f"--cuda-path={ctx.tools.cuda_root()}")
    ctx.run(cmd)
    ctx.files["executable"] = exe
    return exe


# --- validation of the image that ended up in the executable -----------------

def _extract_image(ctx: Context) -> Path:
    """The device image embedded in the linked executable, as the runtime sees it."""
    outdir = ctx.workdir / TEMPS / f"{ctx.index:02d}-extract"
    outdir.mkdir(exist_ok=True)
    image = outdir / "image.bin"
    ctx.run([ctx.tools.tool("llvm-offload-binary"), ctx.files["executable"],
             f"--image=file={image},triple={_triple(ctx)}"], cwd=outdir)
    listing = ctx.run([ctx.tools.tool("llvm-objdump"), "--offloading", ctx.files["executable"]],
                      tag="objdump-offloading").output
    if _triple(ctx) not in listing or not image.exists():
        raise BuildError(f"no {_triple(ctx)} image embedded in the executable", where=ctx.where())
    ctx.info["offloading"] = [line.strip() for line in listing.splitlines()
                              if line.strip() and not line.startswith(str(ctx.workdir))]
    return image


def _require_kernels(ctx: Context, symbols: str, what: str) -> None:
    missing = [k for k in ctx.info.get("kernels", []) if k not in symbols]
    if missing:
        raise BuildError(f"{what} lacks kernel {missing[0]}", where=ctx.where())


def _check_amdgpu(ctx: Context, image: Path) -> None:
    out = ctx.run([ctx.tools.tool("llvm-readelf"), "-h", "-s", "--notes", image],
                  tag="readelf").output
    arch = ctx.device("arch")
    if "EM_AMDGPU" not in out or arch not in out:
        raise BuildError(f"{image.name} is not an AMDGPU {arch} code object", where=ctx.where())
    for kernel in ctx.info.get("kernels", []):
        if f"{kernel}.kd" not in out or f".name:           {kernel}" not in out:
            raise BuildError(f"{image.name} lacks kernel {kernel} or its descriptor",
                             where=ctx.where())
    ctx.info.setdefault("validation", {})["llvm-readelf"] = (
        f"{image.name}: EM_AMDGPU {arch}, kernels+descriptors: {ctx.info.get('kernels')}")


@step("validate-x86")
def validate_x86(ctx: Context) -> None:
    image = _extract_image(ctx)
    out = ctx.run([ctx.tools.tool("llvm-readelf"), "-h", "--dyn-syms", image], tag="readelf").output
    if "X86-64" not in out:
        raise BuildError("embedded image is not an x86-64 ELF", where=ctx.where())
    _require_kernels(ctx, out, "embedded image")
    ctx.info.setdefault("validation", {})["llvm-readelf"] = "image: x86-64 ELF with the kernels"


@step("validate-nvidia")
def validate_nvidia(ctx: Context) -> None:
    image = _extract_image(ctx)
    header = image.read_bytes()[:20]
    # ELF e_machine 190 = EM_CUDA: the nvlink-linked cubin.
    if header[:4] != b"\x7fELF" or int.from_bytes(header[18:20], "little") != 190:
        raise BuildError("embedded image is not a CUDA ELF (cubin)", where=ctx.where())
    syms = ctx.run([ctx.tools.tool("llvm-readelf"), "-s", image], tag="readelf", check=False).output
    _require_kernels(ctx, syms + image.read_bytes().decode("latin-1"), "embedded cubin")
    ctx.info.setdefault("validation", {})["embedded"] = "image: CUDA ELF (cubin) with the kernels"


@step("validate-amd")
def validate_amd(ctx: Context) -> None:
    _check_amdgpu(ctx, _extract_image(ctx))


@step("validate-intel")
def validate_intel(ctx: Context) -> None:
    """The linker wrapper packs SPIR-V into an ELF for the Level Zero plugin;
    pull each SPIR-V section out and validate it."""
    image = _extract_image(ctx)
    sections = ctx.run([ctx.tools.tool("llvm-readelf"), "-S", image], tag="readelf").output
    names = re.findall(r"(__openmp_offload_spirv_\d+)", sections)
    if not names:
        raise BuildError("embedded image has no SPIR-V section", where=ctx.where())
    for name in names:
        spv = image.with_name(f"{name}.spv")
        _dump_section(ctx, image, name, spv)
        ctx.run([ctx.tools.spirv_val(), spv], tag=f"spirv-val-{name}")
    ctx.info.setdefault("validation", {})["spirv-val-embedded"] = f"{names}: ok"


def _dump_section(ctx: Context, image: Path, name: str, dest: Path) -> None:
    # Manifests written before llvm-objcopy was a manifest tool: it sits beside
    # the LLVM tools, which for the system provider are not under the prefix.
    objcopy = ctx.tools.manifest.tools.get("llvm-objcopy") or (
        ctx.tools.tool("llvm-readelf").parent / "llvm-objcopy")
    ctx.run([objcopy, f"--dump-section={name}={dest}", image, "/dev/null"], tag="objcopy")


# --- TPU: StableHLO + PJRT ---------------------------------------------------

@step("stablehlo")
def stablehlo(ctx: Context) -> Path:
    from .stablehlo import translate

    assert ctx.signature is not None
    out = ctx.product("program.stablehlo.mlir")
    text = translate(ctx.current.read_text(), ctx.signature, ctx.where(),
                     ctx.info.get("writes"))
    ctx.temp(".mlir").write_text(text)  # kept by --save-temps even if a later stage fails
    out.write_text(text)
    ctx.files["stablehlo"] = out
    return out


@step("portable-artifact")
def portable_artifact(ctx: Context) -> Path:
    from .pjrt import serialize_portable

    out = ctx.product("program.stablehlo.bc")
    version = str(ctx.device("stablehlo-version", "1.0.0"))
    out.write_bytes(serialize_portable(ctx.files["stablehlo"].read_text(), version, ctx.where()))
    ctx.files["portable_artifact"] = out
    ctx.info["stablehlo_version"] = version
    return out


@step("pjrt-launcher")
def pjrt_launcher(ctx: Context) -> Path:
    src = Path(__file__).parent / "pjrt_launcher.py"
    out = ctx.product("launch.py")
    shutil.copyfile(src, out)
    out.chmod(0o755)
    ctx.files["launcher"] = out
    ctx.info["pjrt_plugin"] = ctx.options.get("pjrt_plugin") or ctx.device("pjrt-plugin", "tpu")
    # The toolchain's own libtpu (the pjrt component) serves `--pjrt-plugin tpu`.
    libtpu = ctx.tools.manifest.libraries.get("libtpu")
    if libtpu:
        ctx.info["libtpu"] = libtpu
    return out


# --- gradients through Enzyme (`when: grad` stages; see backend/grad.py) -----

def _grad_setup(ctx: Context) -> tuple[GradRequest, tuple[int, ...]]:
    assert ctx.grad is not None and ctx.signature is not None
    return ctx.grad, resolve_wrt(ctx.grad, ctx.signature, ctx.where())


@step("enzyme-stablehlo")
def enzyme_stablehlo(ctx: Context) -> Path:
    """Enzyme-MLIR differentiates the StableHLO program; the gradient program
    replaces it as what the portable artifact carries."""
    from .grad import enzyme_stablehlo as differentiate
    from .grad import grad_info, grad_signature

    request, wrt = _grad_setup(ctx)
    primal = ctx.signature
    text, passes = differentiate(ctx.files["stablehlo"].read_text(), primal, wrt, ctx.where())
    out = ctx.product("grad.stablehlo.mlir")
    out.write_text(text)
    ctx.temp(".mlir").write_text(text)
    ctx.files["primal_stablehlo"] = ctx.files["stablehlo"]
    ctx.files["stablehlo"] = out
    ctx.signature = grad_signature(primal, wrt, f"{primal.entry}_grad")
    ctx.info["grad"] = grad_info(request, primal, wrt, "Enzyme-MLIR (enzyme-ad)",
                                 enzyme_passes=passes)
    return out


@step("enzyme-llvm")
def enzyme_llvm(ctx: Context) -> Path:
    """The entry's LLVM IR + a wrapper calling __enzyme_autodiff on it, through
    `opt -load-pass-plugin=LLVMEnzyme-22.so -passes=enzyme`."""
    from .grad import enzyme_plugin, enzyme_wrapper, grad_info, grad_signature, unique_name

    request, wrt = _grad_setup(ctx)  # bad requests are reported before the toolchain
    plugin = enzyme_plugin(ctx.tools.manifest, ctx.where())
    primal = ctx.signature
    name = unique_name(f"{primal.entry}_grad", ctx.current.read_text())
    wrapper = ctx.temp(".ll", "wrapper")
    wrapper.write_text(enzyme_wrapper(primal, wrt, name, ctx.where()))
    linked = ctx.temp(".bc", "linked")
    ctx.run([ctx.tools.tool("llvm-link"), ctx.current, wrapper, "-o", linked])
    out = ctx.temp(".ll")
    ctx.run([ctx.tools.tool("opt"), f"-load-pass-plugin={plugin}", "-passes=enzyme", linked,
             "-S", "-o", out], tag="opt-enzyme")
    if re.search(r"call .*@__enzyme_autodiff", out.read_text()):
        raise BuildError("Enzyme left a __enzyme_autodiff call undifferentiated",
                         where=ctx.where(), hint=f"plugin {plugin}; rerun with --save-temps")
    ctx.signature = grad_signature(primal, wrt, name)
    ctx.info["grad"] = grad_info(request, primal, wrt, f"Enzyme LLVM plugin ({plugin.name})",
                                 plugin=str(plugin))
    return out


@step("enzyme-split")
def enzyme_split(ctx: Context) -> None:
    """Split host/device targets: Enzyme must be in the toolchain, and even
    then the device kernel is not differentiated yet (said plainly)."""
    from .grad import enzyme_plugin

    _grad_setup(ctx)
    enzyme_plugin(ctx.tools.manifest, ctx.where())
    raise UsageError(f"--grad is not implemented for the split target {ctx.target} yet "
                     "(the outlined device kernel would need Enzyme's OpenMP support)",
                     where=ctx.where(), hint="use --target host or --target tpu for gradients")
