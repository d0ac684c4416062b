"""mlirboot configure: files, determinism, target expansion as data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mbtest import cache_entries, configured
from mlirboot.bootstrap.config import CONFIGS_DIR, resolve
from mlirboot.bootstrap.configure import configure
from mlirboot.bootstrap.targets import load_target_specs

SPECS = load_target_specs(CONFIGS_DIR / "targets")
SELECTIONS = ["host", "nvidia", "amd", "intel", "tpu", "nvidia,amd"]


@pytest.mark.parametrize("targets", SELECTIONS)
def test_configure_writes_everything_byte_identically(cli, tmp_path: Path, targets: str):
    first = cli("configure", "--target", targets, "--set", "provider=source")
    assert first.returncode == 0, first.stderr
    build = tmp_path / "build"
    files = {p.name: p.read_bytes() for p in build.iterdir()}
    assert {
        "plan.json",
        "lock.json",
        "config.resolved.yaml",
        "CMakePresets.json",
        "llvm.cmake",
    } <= set(files)
    second = cli("configure", "--target", targets, "--set", "provider=source")
    assert second.returncode == 0
    assert {p.name: p.read_bytes() for p in build.iterdir()} == files
    assert first.stdout == second.stdout
    assert "llvm" in first.stdout and str(build) in first.stdout


@pytest.mark.parametrize("targets", SELECTIONS)
def test_each_target_expands_from_its_yaml(tmp_path: Path, targets: str):
    result = configured(tmp_path, targets, "provider=source")
    llvm = cache_entries(result.files["llvm.cmake"])
    chosen = [SPECS[t] for t in targets.split(",")]
    backends = llvm["LLVM_TARGETS_TO_BUILD"].split(";")
    runtime_targets = llvm["LLVM_RUNTIME_TARGETS"].split(";")
    plugins = llvm["LIBOMPTARGET_PLUGINS_TO_BUILD"].split(";")
    dist = llvm["LLVM_DISTRIBUTION_COMPONENTS"].split(";")
    assert "X86" in backends and "host" in plugins and runtime_targets[0] == "default"
    for spec in chosen:
        assert set(spec.llvm_targets) <= set(backends)
        assert set(spec.offload_plugins) <= set(plugins)
        assert set(spec.tools) <= set(dist)
        for rt in spec.device_runtimes:
            assert rt.triple in runtime_targets
            assert llvm[f"RUNTIMES_{rt.triple}_LLVM_ENABLE_RUNTIMES"] == ";".join(rt.runtimes)
    # No backend or runtime that no selected target asked for.
    wanted = {"X86"} | {b for s in chosen for b in s.llvm_targets}
    assert set(backends) == wanted
    assert len(runtime_targets) == 1 + sum(len(s.device_runtimes) for s in chosen)
    plan = json.loads(result.files["plan.json"])
    assert [c["name"] for c in plan["components"]].count("llvm") == 1


def test_several_targets_are_one_toolchain(tmp_path: Path):
    both = configured(tmp_path, "nvidia,amd", "provider=source")
    llvm = cache_entries(both.files["llvm.cmake"])
    assert llvm["LLVM_TARGETS_TO_BUILD"] == "X86;NVPTX;AMDGPU"
    assert llvm["LLVM_RUNTIME_TARGETS"] == "default;nvptx64-nvidia-cuda;amdgcn-amd-amdhsa"
    assert llvm["LIBOMPTARGET_PLUGINS_TO_BUILD"] == "host;cuda;amdgpu"
    assert both.plan.archs == {"nvidia": ["sm_80", "sm_90"], "amd": ["gfx90a", "gfx942"]}
    # The backend's pass plugin is built against the toolchain's MLIR.
    assert [c.name for c in both.plan.components] == ["llvm", "passes"]
    passes = both.plan.component("passes")
    assert passes.depends_on == ["llvm"] and passes.provides == {
        "libraries": ["MlirbootPasses"],
        "tools": ["mlirboot-mlir"],
    }
    assert passes.source["kind"] == "local"
    assert (Path(passes.source["path"]) / "CMakeLists.txt").exists()
    entries = cache_entries(both.files["passes.cmake"])
    assert entries["MLIR_DIR"].endswith("/lib/cmake/mlir")
    assert entries["CMAKE_CXX_COMPILER"].endswith("/bin/clang++")


def test_tpu_brings_stablehlo_enzyme_mlir_and_pjrt(tmp_path: Path):
    tpu = configured(tmp_path, "tpu")
    names = [c.name for c in tpu.plan.components]
    assert names == ["llvm", "offload", "enzyme", "stablehlo", "pjrt", "passes"]
    enzyme = cache_entries(tpu.files["enzyme.cmake"])
    assert enzyme["ENZYME_MLIR"] == "ON"
    assert enzyme["MLIR_DIR"] == "/usr/lib/llvm-22/lib/cmake/mlir"
    # The tablegen edges Enzyme-MLIR's analysis library lacks (a parallel-build race).
    deps = Path(enzyme["CMAKE_PROJECT_Enzyme_INCLUDE"])
    assert deps.name == "mlir_deps.cmake" and "MLIREnzymeOpsIncGen" in deps.read_text()
    assert enzyme["CMAKE_INSTALL_RPATH_USE_LINK_PATH"] == "ON"  # enzymemlir-opt finds libMLIR
    assert tpu.plan.component("pjrt").pip == {"package": "libtpu", "version": "0.0.42.1"}


@pytest.mark.parametrize(
    "target, sets, targets, libraries",
    [
        ("host", [], ["LLVMEnzyme-22"], {"LLVMEnzyme": "lib/LLVMEnzyme-22.so"}),
        (
            "host",
            ["enzyme.rustc=true", "enzyme.plugin=false"],
            ["EnzymeStatic-22"],
            {"EnzymeStatic": "lib/libEnzymeStatic-22.a"},
        ),
        (
            "host",
            ["enzyme.rustc=true"],
            ["LLVMEnzyme-22", "EnzymeStatic-22"],
            {"LLVMEnzyme": "lib/LLVMEnzyme-22.so", "EnzymeStatic": "lib/libEnzymeStatic-22.a"},
        ),
        ("tpu", ["enzyme.plugin=false"], ["enzymemlir-opt"], {}),
    ],
)
def test_enzyme_builds_one_library_per_consumer(tmp_path, target, sets, targets, libraries):
    """Only the ninja targets a consumer asks for are built and installed
    (Enzyme's `all` compiles its sources once per library it defines), and
    every one of them is named in the manifest's libraries."""
    result = configured(tmp_path, target, "enzyme.enabled=true", *sets)
    enzyme = result.plan.component("enzyme")
    assert enzyme.build_targets == targets
    # enzymemlir-opt's install rule is a CMake component with no ninja target.
    assert enzyme.install_targets == [
        f"component:{t}" if t == "enzymemlir-opt" else f"install-{t}" for t in targets
    ]
    assert enzyme.library_files == libraries
    entries = cache_entries(result.files["enzyme.cmake"])
    # Enzyme's CMake wants some LLVM library configured (tpu: none is built).
    plugin_rules = "LLVMEnzyme-22" in targets or "EnzymeStatic-22" not in targets
    assert entries["ENZYME_ENABLE_PLUGINS"] == ("ON" if plugin_rules else "OFF")
    assert entries["ENZYME_STATIC_LIB"] == ("ON" if "EnzymeStatic-22" in targets else "OFF")
    assert entries["ENZYME_CLANG"] == "OFF" and entries["ENZYME_EXTERNAL_SHARED_LIB"] == "OFF"


def test_enzyme_with_no_consumer_is_one_error(cli):
    result = cli("configure", "--set", "enzyme.enabled=true", "--set", "enzyme.plugin=false")
    assert result.returncode == 2
    assert "nothing to build" in result.stderr and "enzyme.rustc: true" in result.stderr
    assert "Traceback" not in result.stderr


def test_system_provider_builds_only_what_the_system_lacks(tmp_path: Path):
    nv = configured(tmp_path, "nvidia")
    actions = {c.name: c.action for c in nv.plan.components}
    assert actions == {
        "llvm": "system",
        "offload": "system",
        "devicertl-nvptx64-nvidia-cuda": "cmake",
        "passes": "cmake",
    }
    # Debian has MLIR but not the backend's pass plugin: built against its MLIR.
    passes = cache_entries(nv.files["passes.cmake"])
    assert passes["MLIR_DIR"] == "/usr/lib/llvm-22/lib/cmake/mlir"
    assert passes["CMAKE_CXX_COMPILER"] == "/usr/lib/llvm-22/bin/clang++"
    rt = cache_entries(nv.files["devicertl-nvptx64-nvidia-cuda.cmake"])
    assert rt["LLVM_DEFAULT_TARGET_TRIPLE"] == "nvptx64-nvidia-cuda"
    assert rt["CMAKE_C_COMPILER"] == "/usr/lib/llvm-22/bin/clang"
    # OpenMP DeviceRTL and GPU libc, as LLVM's Offload.cmake; libc targets the
    # device (LLVM_RUNTIMES_TARGET) and finds LLVM through the shim, so its
    # generated headers stay in the build tree, not under /usr/lib/llvm-22.
    assert rt["LLVM_ENABLE_RUNTIMES"] == "openmp;libc"
    assert rt["LLVM_RUNTIMES_TARGET"] == "nvptx64-nvidia-cuda"
    assert rt["MLIRBOOT_LLVM_CMAKE_DIR"] == "/usr/lib/llvm-22/lib/cmake/llvm"
    shim = Path(rt["LLVM_DIR"])
    assert (shim / "LLVMConfig.cmake").exists() and (shim / "LLVMConfigVersion.cmake").exists()
    assert 'set(LLVM_BINARY_DIR "${CMAKE_BINARY_DIR}")' in (shim / "LLVMConfig.cmake").read_text()
    # toolchain.json will name what it installs, per triple
    component = nv.plan.component("devicertl-nvptx64-nvidia-cuda")
    assert component.library_files == {
        "libc-nvptx64-nvidia-cuda": "lib/nvptx64-nvidia-cuda/libc.bc",
        "libm-nvptx64-nvidia-cuda": "lib/nvptx64-nvidia-cuda/libm.bc",
        "ompdevice-nvptx64-nvidia-cuda": "lib/nvptx64-nvidia-cuda/libomptarget-nvptx.bc",
    }
    llvm = nv.plan.component("llvm")
    assert {"name": "mlir-22-tools", "version": "1:22.1.8-1~deb13u5"} in llvm.packages


def test_standalone_offload_against_system_llvm(tmp_path: Path):
    host = configured(tmp_path, "host", "offload.provider=source")
    offload = cache_entries(host.files["offload.cmake"])
    assert offload["LLVM_ENABLE_RUNTIMES"] == "openmp;offload"
    assert offload["LLVM_DIR"] == "/usr/lib/llvm-22/lib/cmake/llvm"
    assert offload["Clang_DIR"] == "/usr/lib/llvm-22/lib/cmake/clang"
    assert host.plan.component("offload").source["kind"] == "debian"


def test_arch_override_and_lock(tmp_path: Path):
    result = configured(tmp_path, "nvidia", "archs.nvidia=[sm_90]", "provider=source")
    assert result.plan.archs == {"nvidia": ["sm_90"]}
    lock = json.loads(result.files["lock.json"])
    # The llvm tarball, and the pass plugin's sources inside this package.
    source, passes = sorted(lock["sources"], key=lambda s: s["components"] != ["llvm"])
    assert passes["components"] == ["passes"] and passes["source"]["kind"] == "local"
    assert source["source"]["sha256"] == (
        "b49b9277aef97616320b2da259e1f8174c65b0ce2fbe2e8629644a97693402fe"
    )
    assert lock["config_hash"] == result.plan.config_hash
    git = configured(tmp_path, "nvidia", "sources.llvm.use=git", "provider=source")
    (source,) = [
        s for s in json.loads(git.files["lock.json"])["sources"] if s["components"] == ["llvm"]
    ]
    assert source["source"]["commit"] == "ca7933e47d3a3451d81e72ac174dcb5aa28b59d1"
    assert git.plan.lock_hash != result.plan.lock_hash


def test_presets_mirror_the_cache(tmp_path: Path):
    result = configured(tmp_path, "amd", "provider=source")
    presets = json.loads(result.files["CMakePresets.json"])
    (preset,) = [p for p in presets["configurePresets"] if p["name"] == "llvm"]
    assert [p["name"] for p in presets["configurePresets"]] == ["llvm", "passes"]
    llvm = cache_entries(result.files["llvm.cmake"])
    variables = {k: v["value"] for k, v in preset["cacheVariables"].items()}
    # Plus the ninja the build runs, so `cmake --preset` does not need it on PATH.
    assert Path(variables.pop("CMAKE_MAKE_PROGRAM")).name == "ninja"
    assert variables == llvm
    assert preset["generator"] == "Ninja"


def test_a_new_target_is_only_yaml(tmp_path: Path):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS_DIR, configs)
    (configs / "targets" / "riscv.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "riscv",
                "description": "RISC-V vector accelerators",
                "llvm_targets": ["RISCV"],
                "archs": {"known": ["rv64gcv"], "default": ["rv64gcv"]},
            }
        )
    )
    resolved = resolve(
        targets=["riscv", "host"], sets=["provider=source"], cwd=tmp_path, configs_dir=configs
    )
    result = configure(resolved, build_dir=tmp_path / "b", prefix=None, cwd=tmp_path, codename=None)
    assert cache_entries(result.files["llvm.cmake"])["LLVM_TARGETS_TO_BUILD"] == "X86;RISCV"
    assert result.plan.archs == {"riscv": ["rv64gcv"]}


def test_layers_and_provenance(tmp_path: Path):
    user = tmp_path / "mlirboot.yaml"
    user.write_text("targets: [nvidia]\nllvm:\n  assertions: true\n")
    resolved = resolve(cwd=tmp_path, sets=["llvm.build_type=RelWithDebInfo"], profile="debug")
    config = resolved.config
    assert config.targets == ["nvidia"]
    assert config.llvm.assertions is True
    assert config.llvm.build_type == "RelWithDebInfo"
    assert config.llvm.cmake["LLVM_USE_SPLIT_DWARF"] is True  # from the profile
    assert resolved.where(("llvm", "assertions")) == f"{user}:3"
    assert resolved.where(("llvm", "build_type")) == "--set llvm.build_type=RelWithDebInfo"
    assert resolved.where(("llvm", "cmake", "LLVM_USE_SPLIT_DWARF")) == (
        "configs/profiles/debug.yaml:7"
    )
    assert resolved.where(("provider",)) == "configs/toolchain.yaml:7"


def test_config_show_names_each_layer(cli, tmp_path: Path):
    (tmp_path / "mlirboot.yaml").write_text("targets: [amd]\n")
    result = cli("config", "show", "--set", "build.jobs=3", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    assert rows["targets"]["where"] == f"{tmp_path / 'mlirboot.yaml'}:1"
    assert rows["build.jobs"] == {
        "key": "build.jobs",
        "value": 3,
        "layer": "--set",
        "where": "--set build.jobs=3",
    }
    assert rows["llvm.build_type"]["layer"] == "profile release"
    text = cli("config", "show").stdout
    assert "llvm.assertions" in text and "# built-in (configs/toolchain.yaml:" in text


def test_targets_command(cli):
    result = cli("targets")
    assert result.returncode == 0
    for name, spec in SPECS.items():
        assert f"{name}" in result.stdout and spec.description in result.stdout
    data = json.loads(cli("targets", "--json").stdout)
    assert {t["name"] for t in data} == set(SPECS)
    nvidia = next(t for t in data if t["name"] == "nvidia")
    assert "sm_90" in nvidia["archs"]["default"]


def test_help_teaches(cli):
    result = cli("configure", "--help")
    assert result.returncode == 0
    assert "cmake -G Ninja -C llvm.cmake" in result.stdout
    assert "--set" in result.stdout and "mlirboot configure --target tpu" in result.stdout
