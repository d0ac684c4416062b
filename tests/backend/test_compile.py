"""Compile-only targets (no device here): the split executables embed images
that the offload tools list, and each image passes its validator."""

from __future__ import annotations

import subprocess

import pytest

LLVM = "/usr/lib/llvm-22/bin"


def offloading(exe) -> str:
    return subprocess.run(
        [f"{LLVM}/llvm-objdump", "--offloading", str(exe)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("program", ["mlp", "loop_matmul"])
def test_nvidia_ptx_cubin(compiled, program):
    art = compiled(program, "nvidia")
    files = art.files
    assert ".target sm_90" in files["ptx"].read_text()
    # ptxas re-run here: the PTX must assemble for sm_90.
    from mlirboot.backend.toolbox import Toolbox

    subprocess.run(
        [str(Toolbox().ptxas()), "-arch=sm_90", str(files["ptx"]), "-o", "/dev/null"], check=True
    )
    listing = offloading(files["executable"])
    assert "triple          nvptx64-nvidia-cuda" in listing and "sm_90" in listing
    assert "CUDA ELF" in art.meta["info"]["validation"]["embedded"]


def test_nvidia_arch_option(compiled):
    art = compiled("matmul", "nvidia", arch="sm_80")
    assert ".target sm_80" in art.files["ptx"].read_text()
    assert "sm_80" in offloading(art.files["executable"])


@pytest.mark.parametrize("program", ["mlp", "matmul"])
def test_amd_code_object(compiled, program):
    art = compiled(program, "amd")
    out = subprocess.run(
        [f"{LLVM}/llvm-readelf", "-h", "-s", "--notes", str(art.files["code_object"])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kernel = art.meta["info"]["kernels"][0]
    assert "EM_AMDGPU" in out and "gfx942" in out
    assert f"{kernel}.kd" in out  # the kernel descriptor
    listing = offloading(art.files["executable"])
    assert "amdgcn-amd-amdhsa" in listing and "gfx942" in listing


@pytest.mark.parametrize("program", ["mlp", "loop_matmul"])
def test_intel_spirv_validates(compiled, program):
    art = compiled(program, "intel")
    subprocess.run(["spirv-val", str(art.files["spirv"])], check=True)
    assert "spirv64-intel" in offloading(art.files["executable"])
    assert "spirv-val-embedded" in art.meta["info"]["validation"]


def test_print_pipeline_and_save_temps(tmp_path, programs):
    from mlirboot.bootstrap.cli import main

    assert (
        main(
            [
                "compile",
                str(programs / "matmul.mlir"),
                "--target",
                "offload-host",
                "--print-pipeline",
            ]
        )
        == 0
    )
    temps = tmp_path / "temps"
    assert (
        main(
            [
                "compile",
                str(programs / "matmul.mlir"),
                "--target",
                "offload-host",
                "-O1",
                "-o",
                str(tmp_path / "out"),
                "--save-temps",
                str(temps),
                "--opt-report",
            ]
        )
        == 0
    )
    names = sorted(p.name for p in temps.iterdir())
    # one IR file per stage, including the optimize stage and both translations
    for stage in (
        "bufferize.mlir",
        "optimize.mlir",
        "to-llvm.mlir",
        "outline-kernel.mlir",
        "translate-host.ll",
        "translate-device.ll",
    ):
        assert any(n.endswith(stage) for n in names), stage
    assert "omp.target" in next(temps.glob("*outline-kernel.mlir")).read_text()


def test_pipelines_are_data():
    from mlirboot.backend.pipeline import load, targets

    assert set(targets()) == {"host", "offload-host", "nvidia", "amd", "intel", "tpu"}
    for target in targets():
        pipeline = load(target)
        names = [s.name for s in pipeline.stages]
        assert names[0] == "parse"
        if target != "tpu":
            assert "optimize" in names
    opt = next(s for s in load("host").stages if s.name == "optimize")
    assert opt.passes_for("O0") == [] and opt.passes_for("O2")
