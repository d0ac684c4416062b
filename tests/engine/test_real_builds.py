"""Real source builds from the LLVM 22.1.8 source through the whole
configure → fetch → verify → configure → build → stage → publish path, with the
caches the planner renders (nothing hand-written): the offload runtimes with the
GPU plugins, standalone against the system LLVM 22, plus one device runtime; and
one small LLVM tool (FileCheck) from the llvm tree."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlirboot.bootstrap.config import CONFIGS_DIR
from mlirboot.bootstrap.doctor import requirement
from mlirboot.bootstrap.manifest import Manifest
from mlirboot.bootstrap.targets import load_target_specs

from .conftest import mlirboot

pytestmark = pytest.mark.slow

LLVM22 = Path("/usr/lib/llvm-22")

SPLIT_PROGRAM = r"""
#include <stdio.h>
int main(void) {
  enum { N = 1000 };
  double a[N], sum = 0;
  for (int i = 0; i < N; i++) a[i] = i;
  #pragma omp target map(to: a[0:N]) map(tofrom: sum)
  for (int i = 0; i < N; i++) sum += a[i];
  printf("sum=%.0f\n", sum);
  return sum == 499500.0 ? 0 : 1;
}
"""


@pytest.fixture(scope="module")
def llvm_source() -> str:
    src = os.environ.get("MLIRBOOT_LLVM_SOURCE", "")
    if not (Path(src) / "runtimes" / "CMakeLists.txt").exists():
        pytest.fail(
            "MLIRBOOT_LLVM_SOURCE must point at the LLVM 22.1.8 source "
            "(scripts/test.sh fetches it with `mlirboot fetch`)"
        )
    return src


def _level_zero_buildable() -> bool:
    """The level_zero plugin needs Level Zero >= 1.20 headers (Debian 13 has them,
    Debian 12 does not): exactly what `mlirboot doctor --target intel` checks."""
    intel = load_target_specs(CONFIGS_DIR / "targets")["intel"]
    return all(requirement(vars(req)).ok for req in intel.requires if req.kind == "header")


def test_offload_with_gpu_plugins_and_device_runtime(tmp_path: Path, llvm_source: str):
    build, prefix = tmp_path / "build", tmp_path / "toolchain"
    targets, plugins = "nvidia,amd", ["host", "cuda", "amdgpu"]
    if _level_zero_buildable():
        targets, plugins = targets + ",intel", [*plugins, "level_zero"]
    mlirboot(
        "configure",
        "--target",
        targets,
        "--set",
        "offload.provider=source",
        "--build-dir",
        build,
        "--prefix",
        prefix,
        cwd=tmp_path,
        check=True,
    )
    cache = (build / "offload.cmake").read_text()
    assert f'"{";".join(plugins)}"' in cache

    result = mlirboot(
        "build",
        "--build-dir",
        build,
        "offload",
        "devicertl-nvptx64-nvidia-cuda",
        "--json",
        cwd=tmp_path,
        timeout=3000,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    summary = json.loads(result.stdout)
    assert {c["name"] for c in summary["components"]} >= {
        "offload",
        "devicertl-nvptx64-nvidia-cuda",
    }

    manifest = Manifest.load(prefix / "toolchain.json")  # paths in the prefix: relative
    omptarget = Path(manifest.libraries["omptarget"])
    assert omptarget.is_relative_to(prefix), omptarget
    # The device runtime lands under lib/<triple>/, never over another one.
    assert list(prefix.glob("lib/nvptx64-nvidia-cuda/libomptarget-nvptx*.bc"))
    assert list(prefix.glob("lib/nvptx64-nvidia-cuda/libompdevice.a"))
    # GPU libc beside it; the manifest names each device library per triple.
    for name, file in (("ompdevice", "libomptarget-nvptx.bc"), ("libm", "libm.bc")):
        path = Path(manifest.libraries[f"{name}-nvptx64-nvidia-cuda"])
        assert path == prefix / "lib" / "nvptx64-nvidia-cuda" / file and path.exists()
    # libc's generated headers went to the build tree (llvm_shim), not the LLVM.
    rt_build = build / "devicertl-nvptx64-nvidia-cuda" / "build"
    assert (rt_build / "include" / "nvptx64-nvidia-cuda" / "stdio.h").exists()
    log = (build / "offload" / "logs" / "configure.log").read_text()
    built = log.split("Building the offload library with support for")[1].split("\n")[0]
    assert all(plugin in built for plugin in plugins), built

    # A split OpenMP program links against the built runtime and runs on the
    # host offload device.
    (tmp_path / "prog.c").write_text(SPLIT_PROGRAM)
    lib = omptarget.parent
    subprocess.run(
        [
            str(LLVM22 / "bin" / "clang"),
            "-fopenmp",
            "-fopenmp-targets=x86_64-pc-linux-gnu",
            "prog.c",
            "-o",
            "prog",
            f"-L{lib}",
            f"-Wl,-rpath,{lib}",
        ],
        cwd=tmp_path,
        check=True,
    )
    run = subprocess.run(
        ["./prog"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "OMP_TARGET_OFFLOAD": "MANDATORY",
            "LIBOMPTARGET_INFO": "4",
            "LD_DEBUG": "libs",
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sum=499500" in run.stdout
    assert f"calling init: {lib}/libomptarget.so" in run.stderr
    assert "device 0" in run.stderr

    again = mlirboot(
        "build",
        "--build-dir",
        build,
        "offload",
        "devicertl-nvptx64-nvidia-cuda",
        "--json",
        cwd=tmp_path,
    )
    # Nothing changed: nothing is configured, built, installed or published again.
    redone = {
        (c["name"], step)
        for c in json.loads(again.stdout)["components"]
        for step, state in c["steps"].items()
        if state == "ran"
    }
    assert redone == set(), redone


def test_filecheck_from_the_llvm_tree(tmp_path: Path, llvm_source: str):
    build, prefix = tmp_path / "build", tmp_path / "toolchain"
    mlirboot(
        "configure",
        "--target",
        "host",
        "--set",
        "provider=source",
        "--profile",
        "minimal",
        "--build-dir",
        build,
        "--prefix",
        prefix,
        cwd=tmp_path,
        check=True,
    )
    result = mlirboot("build", "--build-dir", build, "llvm", cwd=tmp_path, timeout=3000)
    assert result.returncode == 0, result.stderr[-5000:]
    filecheck = prefix / "bin" / "FileCheck"
    (tmp_path / "in.txt").write_text("hello mlirboot\n")
    (tmp_path / "check.txt").write_text("CHECK: hello\nCHECK-SAME: mlirboot\n")
    ok = subprocess.run(
        [str(filecheck), "check.txt", "--input-file", "in.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "bad.txt").write_text("CHECK: goodbye\n")
    bad = subprocess.run(
        [str(filecheck), "bad.txt", "--input-file", "in.txt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "expected string not found" in bad.stderr
    # Only what the plan installs: no clang, no mlir in this prefix.
    assert not (prefix / "bin" / "clang").exists()


def test_pjrt_component_installs_the_pinned_libtpu(tmp_path: Path):
    """The tpu target's PJRT runtime: the pinned libtpu wheel installed into the
    prefix for real and recorded in the manifest, where the backend's TPU
    launcher finds it (TPU_LIBRARY_PATH)."""
    build, prefix = tmp_path / "build", tmp_path / "toolchain"
    mlirboot(
        "configure",
        "--target",
        "tpu",
        "--build-dir",
        build,
        "--prefix",
        prefix,
        cwd=tmp_path,
        check=True,
    )
    pin = json.loads((build / "plan.json").read_text())
    (pjrt,) = [c for c in pin["components"] if c["name"] == "pjrt"]
    result = mlirboot("build", "--build-dir", build, "pjrt", cwd=tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    manifest = Manifest.load(prefix / "toolchain.json")  # paths in the prefix: relative
    libtpu = Path(manifest.libraries["libtpu"])
    assert libtpu.is_file() and libtpu.is_relative_to(prefix)
    dist_info = list(libtpu.parent.parent.glob("libtpu-*.dist-info"))
    assert [d.name for d in dist_info] == [f"libtpu-{pjrt['pip']['version']}.dist-info"]

    # Not loaded here: with no TPU, libtpu's start-up would query the cloud
    # metadata service, an address tests must never contact.
