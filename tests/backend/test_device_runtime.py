"""The nvidia and amd images link the OpenMP DeviceRTL (and whatever else
codegen.device_libraries names) that mlirboot builds, found through the
toolchain manifest: no stub is involved. The toolchain comes from the
session's gpu_toolchain fixture (tests/conftest.py): built once from
MLIRBOOT_LLVM_SOURCE, skipped with the reason without it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mbtest import device_runtime_targets
from mlirboot.backend.driver import compile_program
from mlirboot.backend.pipeline import load
from mlirboot.bootstrap.cli import main
from mlirboot.bootstrap.errors import UsageError
from mlirboot.bootstrap.manifest import Manifest

PROGRAMS = Path(__file__).parent / "programs"
GPU_PROGRAMS = Path(__file__).parent / "gpu_programs"
LLVM = Path("/usr/lib/llvm-22/bin")
TARGETS = device_runtime_targets()[0]


def _readelf(image: Path) -> str:
    return subprocess.run(
        [LLVM / "llvm-readelf", "-s", image], capture_output=True, text=True, check=True
    ).stdout


def _symbol(symbols: str, name: str) -> list[str]:
    return [line.split() for line in symbols.splitlines() if line.split()[-1:] == [name]]


@pytest.fixture(scope="module")
def with_devicertl(gpu_toolchain, tmp_path_factory):
    """matmul for each target that links device libraries, temps kept."""
    out = {}
    for target in TARGETS:
        base = tmp_path_factory.mktemp(f"devicertl-{target}")
        art = compile_program(
            PROGRAMS / "matmul.mlir",
            target=target,
            out=base / "art",
            toolchain=str(gpu_toolchain),
            save_temps=base / "temps",
        )
        out[target] = (art, base / "temps")
    return out


def test_the_manifest_names_each_device_library_per_triple(gpu_toolchain):
    # paths inside the prefix are relative in the file (relocatable): the loader resolves them
    libraries = Manifest.load(gpu_toolchain / "toolchain.json").libraries
    for target in TARGETS:
        codegen = load(target).device
        assert codegen is not None and codegen.triple and codegen.device_libraries
        for name in codegen.device_libraries:
            path = Path(libraries[f"{name}-{codegen.triple}"])
            assert path.is_relative_to(gpu_toolchain / "lib" / codegen.triple), path
            assert path.exists()
    # GPU libc's math library: device math with libc's own implementations
    for triple in {load(t).device.triple for t in TARGETS}:  # type: ignore[union-attr]
        libm = libraries.get(f"libm-{triple}")
        if libm is None:
            continue
        defined = subprocess.run(
            [LLVM / "llvm-nm", "--defined-only", libm], capture_output=True, text=True, check=True
        ).stdout.split()
        assert {"expf", "logf", "tanhf", "powf", "exp"} <= set(defined), triple


@pytest.mark.parametrize("target", TARGETS)
def test_image_holds_the_devicertl_not_a_stub(with_devicertl, target):
    art, temps = with_devicertl[target]
    image = art.files["cubin"] if "cubin" in art.files else art.files["code_object"]
    symbols = _readelf(image)
    # The DeviceRTL's device environment (written by the plugin at load time):
    # a defined object in the image (.symtab, and .dynsym of a code object);
    # no stub defines it.
    entries = _symbol(symbols, "__omp_rtl_device_environment")
    assert entries and all(e[3] == "OBJECT" and e[6] != "UND" for e in entries), entries
    # The kernels are in the image too.
    for kernel in art.meta["info"]["kernels"]:
        assert _symbol(symbols, kernel), kernel
    # Before optimization the device module defines the DeviceRTL's entry
    # points, not a 10-line stub (thread 0 of block 0 runs, the rest return).
    (linked,) = temps.glob("*-devicertl.ll")
    text = linked.read_text()
    defined = set(re.findall(r"^define [^@]*@([\w.$]+)\(", text, re.M))
    assert {"__kmpc_target_init", "__kmpc_target_deinit"} <= defined
    # the runtime's own state (the stub had none), internal after the link
    assert re.search(r"^@__omp_rtl_device_environment = ", text, re.M)
    assert re.search(r"^@IsSPMDMode = internal ", text, re.M), "no DeviceRTL state"
    assert "genericStateMachine" in text  # what keeps the workers of a Generic-mode team
    assert art.meta["info"]["validation"]["devicertl"].startswith("linked ")


# ConfigurationEnvironmentTy { UseGenericStateMachine, MayUseNestedParallelism, ExecMode, ...}
GENERIC, SPMD = 1, 2  # OMP_TGT_EXEC_MODE_*


@pytest.mark.parametrize("target", TARGETS)
def test_kernels_are_spmd_composites_or_well_formed_generic_launches(with_devicertl, target):
    """Each parallel loop nest is a composite teams/distribute/parallel/wsloop
    kernel in SPMD mode, launched with teams (num_teams 0: the runtime sizes
    the grid from the host_eval trip count); what runs between nests (serial
    segments) is a Generic-mode kernel: the real __kmpc_target_init returns -1
    to the main thread only, which runs the region, launched as one team."""
    art, temps = with_devicertl[target]
    (device_ll,) = temps.glob("*-translate-device.ll")
    text = device_ll.read_text()
    (host_ll,) = temps.glob("*-translate-host.ll")
    launches = dict(
        (kernel, int(teams))
        for teams, kernel in re.findall(
            r"call i32 @__tgt_target_kernel\(ptr @\w+, i64 -1, i32 (-?\d+), i32 \S+, "
            r"ptr @\.(\w+)\.region_id,",
            host_ll.read_text(),
        )
    )
    modes = {}
    for kernel in art.meta["info"]["kernels"]:
        env = re.search(
            rf"@{re.escape(kernel)}_kernel_environment = .*?ConfigurationEnvironmentTy"
            r" \{ i8 (\d+), i8 (\d+), i8 (\d+),",
            text,
        )
        assert env, kernel
        modes[kernel] = mode = int(env.group(3))
        assert mode in (GENERIC, SPMD), env.group(0)
        body = text.split("define ")
        kernel_fn = next(b for b in body if f"@{kernel}(" in b.split("\n")[0])
        init = re.search(r"%(\S+) = call i32 @__kmpc_target_init\(", kernel_fn)
        assert init, kernel_fn[:2000]
        # target_init's result gates the region: -1 runs it, others exit.
        assert re.search(rf"icmp eq i32 %{re.escape(init.group(1))}, -1", kernel_fn)
        assert "call void @__kmpc_target_deinit()" in kernel_fn
        if mode == SPMD:
            # every thread of every team runs its share of the nest (in the
            # kernel's outlined parallel region)
            outlined = "".join(b for b in body if f"@{kernel}..omp_" in b.split("\n")[0])
            assert "__kmpc_distribute_for_static_loop" in outlined, kernel
            assert launches[kernel] == 0, (kernel, launches)
        else:
            assert launches[kernel] == -1, (kernel, launches)
    # matmul: the product's nest (and its initialization) in parallel kernels
    assert SPMD in modes.values(), modes


@pytest.mark.parametrize("target", [*TARGETS, "intel"])
@pytest.mark.parametrize(
    "program",
    [
        GPU_PROGRAMS / "softmax.mlir",
        GPU_PROGRAMS / "layernorm.mlir",
        GPU_PROGRAMS / "mlp_relu.mlir",
        PROGRAMS / "mlp.mlir",
    ],
    ids=lambda p: p.stem,
)
def test_softmax_layer_norm_mlp_compile_and_validate(toolchain_for, target, program, tmp_path):
    if target == "intel" and shutil.which("spirv-val") is None:
        pytest.skip("spirv-val (spirv-tools) is not installed")
    art = compile_program(
        program, target=target, out=tmp_path / "a", toolchain=toolchain_for(target)
    )
    validation = art.meta["info"]["validation"]
    checks = {"ptxas", "llvm-readelf", "spirv-val"} & set(validation)
    assert checks, validation
    assert all("ok" in validation[c] or "EM_AMDGPU" in validation[c] for c in checks), validation


@pytest.mark.parametrize("target", TARGETS)
def test_missing_device_runtime_is_one_line(target, tmp_path, monkeypatch, capsys):
    """The system LLVM 22 (Debian's) has no DeviceRTL: compile names the
    component that builds it and the command, exit 2 (the toolchain does not
    fit the target: bad input, like a missing ptxas; nothing failed)."""
    monkeypatch.chdir(tmp_path)  # no ./build/toolchain
    monkeypatch.delenv("MLIRBOOT_TOOLCHAIN", raising=False)
    triple = load(target).device.triple  # type: ignore[union-attr]
    with pytest.raises(UsageError) as info:
        compile_program(PROGRAMS / "matmul.mlir", target=target, out=tmp_path / "o")
    message = info.value.line()
    component = f"devicertl-{triple}"
    assert f"component {component}" in message
    assert f"mlirboot configure --target {target} && mlirboot build {component}" in message
    assert "\n" not in message
    code = main(["compile", str(PROGRAMS / "matmul.mlir"), "--target", target, "-o", "o2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and component in err[0], err
    assert not (tmp_path / "o2").exists()
