"""The parallel mapping on the GPU targets (`when: device-threads` stages of
backend/pipelines/nvidia.yaml and amd.yaml): a matmul + bias + relu program
becomes SPMD kernels (one per parallel loop nest) whose every `__kmpc_*` call
the real OpenMP DeviceRTL defines. The DeviceRTL is built here, by mlirboot,
from the LLVM source (MLIRBOOT_LLVM_SOURCE); the device IR is linked with it
the way clang-linker-wrapper's LTO does (only what is needed, internalized),
then ptxas (sm_90) / ld.lld must accept the result.

The backend's own link still uses data/stubs, which cannot run SPMD kernels:
the compile may stop at the device link, so the device IR is taken from the
kept temps."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlirboot import backend
from mlirboot.backend.toolbox import Toolbox
from mlirboot.bootstrap.errors import MlirbootError

pytestmark = pytest.mark.slow

PROGRAM = Path(__file__).parent / "programs" / "mlp.mlir"  # matmul, bias + relu, matmul
RUNTIMES = {
    "nvidia": ("nvptx64-nvidia-cuda", "libomptarget-nvptx.bc", "ptx_kernel"),
    "amd": ("amdgcn-amd-amdhsa", "libomptarget-amdgpu.bc", "amdgpu_kernel"),
}
# ConfigurationEnvironmentTy { UseGenericStateMachine, MayUseNestedParallelism, ExecMode, ...}
_EXEC_MODE = re.compile(
    r"@(__omp_offloading_\w+)_kernel_environment = .*?ConfigurationEnvironmentTy \{ "
    r"i8 \d+, i8 \d+, i8 (\d+),"
)
SPMD = 2  # OMP_TGT_EXEC_MODE_SPMD


@pytest.fixture(scope="module")
def device_rtl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toolchain prefix with the nvptx and amdgcn DeviceRTL, built by mlirboot."""
    if not os.environ.get("MLIRBOOT_LLVM_SOURCE"):
        pytest.skip("MLIRBOOT_LLVM_SOURCE is unset (the DeviceRTL is built from the LLVM source)")
    root = tmp_path_factory.mktemp("devicertl")
    build, prefix = root / "build", root / "tc"
    for args in (
        ["configure", "--target", "nvidia,amd", "-B", build, "--prefix", prefix],
        ["build", "-B", build, "devicertl-nvptx64-nvidia-cuda", "devicertl-amdgcn-amd-amdhsa"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "mlirboot.bootstrap.cli", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=3000,
        )
        assert result.returncode == 0, result.stderr[-4000:]
    return prefix


def device_ir(tmp_path: Path, target: str) -> str:
    temps = tmp_path / "temps"
    # The stub link may refuse the SPMD kernels (see the module docstring).
    with contextlib.suppress(MlirbootError):
        backend.compile(
            PROGRAM,
            target=target,
            out=tmp_path / "art",
            save_temps=temps,
            options={"device_threads": True},
            use_cache=False,
        )
    (ll,) = temps.glob("*-translate-device.ll")
    return ll.read_text()


def llvm_tool(tools: Toolbox, name: str) -> str:
    """A tool of the toolchain's LLVM (beside its llvm-link)."""
    return str(tools.tool("llvm-link").parent / name)


def linked(tmp_path: Path, tools: Toolbox, ir: str, bitcode: Path) -> tuple[Path, list[str]]:
    """Device IR + DeviceRTL (what it needs, internalized), at O2; the
    symbols still undefined."""
    src, link, opt = tmp_path / "device.ll", tmp_path / "linked.bc", tmp_path / "opt.bc"
    src.write_text(ir)
    run = [tools.tool("llvm-link"), src, "--only-needed", "--internalize", bitcode, "-o", link]
    subprocess.run(list(map(str, run)), check=True, capture_output=True)
    run = [llvm_tool(tools, "opt"), "-passes=default<O2>", link, "-o", opt]
    subprocess.run(list(map(str, run)), check=True)
    nm = subprocess.run(
        [llvm_tool(tools, "llvm-nm"), "--undefined-only", str(opt)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return opt, [line.split()[-1] for line in nm.splitlines() if line.strip()]


def check_spmd_kernels(ir: str, kernel_cc: str) -> None:
    modes = dict(_EXEC_MODE.findall(ir))
    # mlp: matmul (+ its fused bias/relu tiles), bias + relu, matmul, ...: a kernel per nest
    assert len(modes) >= 3, modes
    assert all(int(mode) == SPMD for mode in modes.values()), modes
    for kernel in modes:
        assert re.search(rf"define .*{kernel_cc}.*@{kernel}\(", ir), kernel
    assert "__kmpc_distribute_for_static_loop" in ir


@pytest.mark.parametrize("target", ["nvidia", "amd"])
def test_spmd_kernels_link_against_the_device_rtl(tmp_path, device_rtl, target):
    triple, runtime, kernel_cc = RUNTIMES[target]
    tools = Toolbox(None)
    ir = device_ir(tmp_path, target)
    check_spmd_kernels(ir, kernel_cc)
    calls = set(re.findall(r"^declare .*@(__kmpc_\w+)\(", ir, re.M))
    assert calls >= {"__kmpc_target_init", "__kmpc_parallel_60"}, calls

    opt, undefined = linked(tmp_path, tools, ir, device_rtl / "lib" / triple / runtime)
    assert not [s for s in undefined if s.startswith(("__kmpc", "omp_"))], undefined
    if target == "nvidia":
        # Left to the CUDA driver: malloc/free (the DeviceRTL's allocator).
        assert set(undefined) <= {"malloc", "free", "vprintf"}, undefined
        ptx, cubin = tmp_path / "k.ptx", tmp_path / "k.cubin"
        run = [llvm_tool(tools, "llc"), "-mcpu=sm_90", str(opt), "-o", str(ptx)]
        subprocess.run(run, check=True)
        ptxas = tools.cuda_root() / "bin" / "ptxas"
        done = subprocess.run(
            [str(ptxas), "-arch=sm_90", str(ptx), "-o", str(cubin)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    else:
        assert undefined == [], undefined
        obj, image = tmp_path / "k.o", tmp_path / "k.so"
        run = [llvm_tool(tools, "llc"), "-mcpu=gfx90a", "-filetype=obj", opt, "-o", obj]
        subprocess.run(list(map(str, run)), check=True, capture_output=True)
        done = subprocess.run(
            [llvm_tool(tools, "ld.lld"), "-shared", str(obj), "-o", str(image)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        syms = subprocess.run(
            [llvm_tool(tools, "llvm-readelf"), "--dyn-syms", str(image)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert not re.search(r"UND \S+", syms), syms
