"""Issue 12: softmax (exp), layer norm (mean/var/rsqrt) and an MLP layer
(matmul + broadcast bias + relu, 64 KiB temporaries) on every loop target.
The GPU targets compile them (no device here) and each image passes the
pipeline's validator (ptxas / llvm-readelf / spirv-val); host and offload-host
run them against numpy. The programs live in gpu_programs/ (not programs/,
whose files other tests compile for every target)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program

GPU_PROGRAMS = Path(__file__).parent / "gpu_programs"
sys.path.insert(0, str(GPU_PROGRAMS))
import models  # noqa: E402

LLVM = "/usr/lib/llvm-22/bin"
_CACHE: dict[tuple[str, str], object] = {}


@pytest.fixture(scope="module")
def gpu_compiled(tmp_path_factory, toolchain_for):
    def get(program: str, target: str):
        key = (program, target)
        if key not in _CACHE:
            base = tmp_path_factory.mktemp(f"{program}-{target}")
            _CACHE[key] = compile_program(
                GPU_PROGRAMS / f"{program}.mlir",
                target=target,
                out=base / "artifact",
                toolchain=toolchain_for(target),
                save_temps=base / "temps",
            )
        return _CACHE[key]

    return get


@pytest.mark.parametrize("target", ["host", "offload-host"])
@pytest.mark.parametrize("program", models.PROGRAMS)
def test_cpu_targets_match_numpy(gpu_compiled, program, target):
    art = gpu_compiled(program, target)
    inputs, expected = models.inputs_for(program, seed=1)
    (got,) = art.run(*inputs)
    np.testing.assert_allclose(got, expected[0], rtol=2e-5, atol=2e-5)


def _undefined(symbols: str) -> list[str]:
    return [
        line.split()[-1]
        for line in symbols.splitlines()
        if " UND " in line and line.split()[-1] not in ("UND",)
    ]


def _program_heap_calls(art) -> list[str]:
    """malloc/free in the program's own device IR (before the device runtime
    is linked: the DeviceRTL's allocator has its own)."""
    (device_ll,) = (art.path.parent / "temps").glob("*-translate-device.ll")
    return re.findall(r"@(malloc|free)\(", device_ll.read_text())


@pytest.mark.parametrize("program", models.PROGRAMS)
def test_nvidia(gpu_compiled, program):
    art = gpu_compiled(program, "nvidia")
    assert art.meta["info"]["validation"]["ptxas"].endswith("ok")
    assert _program_heap_calls(art) == []
    ptx = art.files["ptx"].read_text()
    # Left to the CUDA driver: only the DeviceRTL allocator's malloc/free (no
    # libm call: math comes from the GPU libc linked in, or is approximated).
    externs = set(re.findall(r"^\.extern \.func[^\n]*?(\w+)\s*(?:\(|;|$)", ptx, re.M))
    assert externs <= {"malloc", "free"}, externs


@pytest.mark.parametrize("program", models.PROGRAMS)
def test_amd(gpu_compiled, program):
    art = gpu_compiled(program, "amd")
    assert "EM_AMDGPU" in art.meta["info"]["validation"]["llvm-readelf"]
    syms = subprocess.run(
        [f"{LLVM}/llvm-readelf", "-s", "--notes", str(art.files["code_object"])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _undefined(syms) == []  # malloc/free (DeviceRTL allocator): from GPU libc
    assert _program_heap_calls(art) == []
    # big temporaries (64 KiB each) are not on the (per-thread scratch) stack;
    # the kernels' frames (the DeviceRTL's included) are a few bytes
    if program == "mlp_relu":
        sizes = re.findall(r"\.private_segment_fixed_size: (\d+)", syms)
        assert sizes and all(int(size) < 1024 for size in sizes), sizes


@pytest.mark.parametrize("program", models.PROGRAMS)
def test_intel(gpu_compiled, program):
    art = gpu_compiled(program, "intel")
    assert art.meta["info"]["validation"]["spirv-val"].endswith("ok")
    assert "spirv-val-embedded" in art.meta["info"]["validation"]
    dis = subprocess.run(["spirv-dis", str(art.files["spirv"])], capture_output=True, text=True)
    if dis.returncode == 0:
        assert "malloc" not in dis.stdout and " exp " not in dis.stdout  # exp approximated


def test_mlp_temporaries_live_in_device_global_memory(gpu_compiled):
    """The 64 KiB temporary (the matmul result; bias + relu are fused into its
    tiles) is a module-level buffer in address space 1, not malloc or a 64 KiB
    frame."""
    art = gpu_compiled("mlp_relu", "nvidia")
    ptx = art.files["ptx"].read_text()
    assert ptx.count(".global .align 64 .b8 __mlirboot_tmp_mlp_relu_") == 1
    assert "[65536]" in ptx


HEAP_IN_LOOP = """func.func @h(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %x) -> tensor<64x64xf32> {
    %t = tensor.empty() : tensor<64x64xf32>
    %y = linalg.add ins(%acc, %acc : tensor<64x64xf32>, tensor<64x64xf32>)
                    outs(%t : tensor<64x64xf32>) -> tensor<64x64xf32>
    %z = linalg.mul ins(%y, %acc : tensor<64x64xf32>, tensor<64x64xf32>)
                    outs(%acc : tensor<64x64xf32>) -> tensor<64x64xf32>
    scf.yield %z : tensor<64x64xf32>
  }
  return %r : tensor<64x64xf32>
}
"""


def test_heap_temporary_in_a_loop_is_one_line_error(tmp_path):
    from mlirboot.bootstrap.errors import UsageError

    src = tmp_path / "heap.mlir"
    src.write_text(HEAP_IN_LOOP)
    with pytest.raises(UsageError) as info:
        compile_program(src, target="amd", out=tmp_path / "o")
    message = str(info.value)
    assert "16384 bytes" in message and "amd device" in message and "hint" in message
    assert "\n" not in message
