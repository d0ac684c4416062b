"""The parallel mapping on the GPU targets (backend/pipelines/nvidia.yaml and
amd.yaml): a matmul + bias + relu program becomes SPMD kernels (one per
parallel loop nest) whose every `__kmpc_*` call the real OpenMP DeviceRTL
defines. The DeviceRTL is mlirboot's own (the session's gpu_toolchain, built
from MLIRBOOT_LLVM_SOURCE); the backend links it the way clang-linker-wrapper's
LTO does (only what is needed, internalized), and the compile must succeed:
ptxas (sm_90) / ld.lld accept the image."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mlirboot import backend
from mlirboot.backend.toolbox import Toolbox

pytestmark = pytest.mark.slow

PROGRAM = Path(__file__).parent / "programs" / "mlp.mlir"  # matmul, bias + relu, matmul
KERNEL_CC = {"nvidia": "ptx_kernel", "amd": "amdgpu_kernel"}
# ConfigurationEnvironmentTy { UseGenericStateMachine, MayUseNestedParallelism, ExecMode, ...}
_EXEC_MODE = re.compile(
    r"@(__omp_offloading_\w+)_kernel_environment = .*?ConfigurationEnvironmentTy \{ "
    r"i8 \d+, i8 \d+, i8 (\d+),"
)
SPMD = 2  # OMP_TGT_EXEC_MODE_SPMD


def check_spmd_kernels(ir: str, kernel_cc: str) -> None:
    modes = dict(_EXEC_MODE.findall(ir))
    # mlp: fill, matmul, bias + relu, fill, matmul, ...: a kernel per nest
    assert len(modes) >= 3, modes
    assert all(int(mode) == SPMD for mode in modes.values()), modes
    for kernel in modes:
        assert re.search(rf"define .*{kernel_cc}.*@{kernel}\(", ir), kernel
    assert "__kmpc_distribute_for_static_loop" in ir


def compile_with_temps(src: Path, target: str, tmp_path: Path, toolchain: Path):
    """The artifact and its --save-temps folder."""
    temps = tmp_path / "temps"
    art = backend.compile(
        src,
        target=target,
        out=tmp_path / "art",
        save_temps=temps,
        toolchain=str(toolchain),
        use_cache=False,
    )
    return art, temps


def undefined_device_symbols(temps: Path, toolchain: Path) -> list[str]:
    """What the linked, optimized device module still leaves undefined."""
    (opt,) = temps.glob("*-device-codegen-opt.bc")
    nm = Toolbox(str(toolchain)).tool("llvm-link").parent / "llvm-nm"
    listing = subprocess.run(
        [str(nm), "--undefined-only", str(opt)], check=True, capture_output=True, text=True
    ).stdout
    return [line.split()[-1] for line in listing.splitlines() if line.strip()]


@pytest.mark.parametrize("target", ["nvidia", "amd"])
def test_spmd_kernels_link_against_the_device_rtl(tmp_path, gpu_toolchain, target):
    art, temps = compile_with_temps(PROGRAM, target, tmp_path, gpu_toolchain)
    (ll,) = temps.glob("*-translate-device.ll")
    ir = ll.read_text()
    check_spmd_kernels(ir, KERNEL_CC[target])
    calls = set(re.findall(r"^declare .*@(__kmpc_\w+)\(", ir, re.M))
    assert calls >= {"__kmpc_target_init", "__kmpc_parallel_60"}, calls

    # The linked, optimized device module: the DeviceRTL defines every call.
    undefined = undefined_device_symbols(temps, gpu_toolchain)
    assert not [s for s in undefined if s.startswith(("__kmpc", "omp_"))], undefined
    validation = art.meta["info"]["validation"]
    if target == "nvidia":
        # Left to the CUDA driver: malloc/free (the DeviceRTL's allocator).
        assert set(undefined) <= {"malloc", "free", "vprintf"}, undefined
        assert "ok" in validation["ptxas"], validation
    else:
        assert undefined == [], undefined  # malloc/free: the GPU libc
        assert "EM_AMDGPU" in validation["llvm-readelf"], validation


MATMUL = """func.func @mm(%a: tensor<256x64xf32>, %b: tensor<64x384xf32>) -> tensor<256x384xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<256x384xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<256x384xf32>) -> tensor<256x384xf32>
  %c = linalg.matmul ins(%a, %b : tensor<256x64xf32>, tensor<64x384xf32>)
                     outs(%f : tensor<256x384xf32>) -> tensor<256x384xf32>
  return %c : tensor<256x384xf32>
}
"""


@pytest.mark.parametrize("target", ["nvidia", "amd"])
def test_matmul_gets_the_team_schedule(tmp_path, gpu_toolchain, target):
    """The GPU matmul schedule (mlirboot-gpu-matmul): team tiles staged in
    team-shared memory (addrspace 3), a team barrier the DeviceRTL defines,
    and launches with exactly the team size the tiles were laid out for
    (thread_limit 256 in the host's kernel arguments). Its numbers are
    checked on a GPU by benchmarks/device_check.py (matmul_rect, matmul4096)."""
    src = tmp_path / "mm.mlir"
    src.write_text(MATMUL)
    art, temps = compile_with_temps(src, target, tmp_path, gpu_toolchain)
    remarks = [r["what"] for r in art.meta["remarks"] if r["stage"] == "gpu-matmul"]
    assert remarks == [
        "matmul 256x64x384 -> 6 team tiles of 128x128 (256 threads, 8x8 per thread, "
        "k by 32 in team-shared memory)"
    ]
    (device,) = temps.glob("*-translate-device.ll")
    ir = device.read_text()
    assert re.search(r"@__mlirboot_team_tile_a_f32 = .*addrspace\(3\) global", ir)
    assert "call void @__kmpc_barrier(" in ir
    (host,) = temps.glob("*-translate-host.ll")
    assert "store [3 x i32] [i32 256, i32 0, i32 0]" in host.read_text()
    undefined = undefined_device_symbols(temps, gpu_toolchain)
    assert "__kmpc_barrier" not in undefined and "omp_get_num_threads" not in undefined


ODD_BATCH = """func.func @bmm(%a: tensor<3x130x70xf64>,
               %b: tensor<3x70x257xf64>) -> tensor<3x130x257xf64> {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<3x130x257xf64>
  %f = linalg.fill ins(%zero : f64) outs(%e : tensor<3x130x257xf64>) -> tensor<3x130x257xf64>
  %c = linalg.batch_matmul ins(%a, %b : tensor<3x130x70xf64>, tensor<3x70x257xf64>)
                           outs(%f : tensor<3x130x257xf64>) -> tensor<3x130x257xf64>
  return %c : tensor<3x130x257xf64>
}
"""


#: Beyond exact matmuls: (program text, the gpu-matmul remark).
BEYOND_EXACT = {
    # f64, every size odd: guarded edge tiles.
    "odd_batch": (
        ODD_BATCH,
        "batch matmul 3x130x70x257 -> 18 team tiles of 128x128 (256 threads, 8x8 per thread, "
        "k by 16 in team-shared memory; edge tiles guarded)",
    ),
    # Dilated, 2 channels: the input gathered element by element.
    "dilated_conv": (
        (Path(__file__).parent / "programs" / "conv_nhwc_dilated.mlir").read_text(),
        "conv_2d_nhwc_hwcf as matmul 49x8x3 -> 1 team tiles of 128x128 (256 threads, 8x8 per "
        "thread, k by 32 in team-shared memory; edge tiles guarded)",
    ),
}


@pytest.mark.parametrize("name", sorted(BEYOND_EXACT))
def test_team_schedule_beyond_exact_matmuls(tmp_path, gpu_toolchain, name):
    """Odd sizes, batches and NHWC convolutions take the same schedule, and
    ptxas accepts the kernels. (Run on an H200 by benchmarks/device_check.py:
    matmul_odd*, bmm_rect, conv_odd, conv_dilated and the fuzz programs with
    such ops matched numpy.)"""
    text, remark = BEYOND_EXACT[name]
    src = tmp_path / f"{name}.mlir"
    src.write_text(text)
    art = backend.compile(
        src, target="nvidia", out=tmp_path / "art", toolchain=str(gpu_toolchain), use_cache=False
    )
    assert [r["what"] for r in art.meta["remarks"] if r["stage"] == "gpu-matmul"] == [remark]
    assert "ok" in art.meta["info"]["validation"]["ptxas"]
