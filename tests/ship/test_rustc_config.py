"""`mlirboot rustc-config`: a bootstrap.toml fragment rust's bootstrap can read."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from mlirboot.bootstrap.manifest import Manifest
from mlirboot.bootstrap.ship.rustc import fragment, paths_in


def test_fragment_parses_and_paths_exist(cli, system_build: Path):
    res = cli("rustc-config", "--toolchain", system_build / "toolchain")
    assert res.returncode == 0, res.stderr
    doc = tomllib.loads(res.stdout)
    llvm = doc["llvm"]
    assert llvm["download-ci-llvm"] is False
    assert llvm["link-shared"] is True  # Debian's LLVM 22 is a libLLVM-22.so build
    assert llvm["offload"] is True and llvm["enzyme"] is False  # no Enzyme in Debian
    target = doc["target"]["x86_64-unknown-linux-gnu"]
    assert doc["build"]["build"] == "x86_64-unknown-linux-gnu"
    # The llvm-config it names is LLVM 22 and really runs.
    version = subprocess.run(
        [target["llvm-config"], "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.startswith("22.")
    assert Path(llvm["offload-clang-dir"], "ClangConfig.cmake").is_file()
    paths = paths_in(res.stdout)
    assert target["llvm-filecheck"] in paths and len(paths) >= 3
    assert [p for p in paths if not Path(p).exists()] == []
    # Every key has a comment line right above it.
    lines = res.stdout.splitlines()
    for i, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), line


def test_json_and_env(cli, system_build: Path):
    res = cli("rustc-config", "--toolchain", system_build / "toolchain", "--json")
    data = json.loads(res.stdout)
    libdirs = data["env"]["LD_LIBRARY_PATH"].split(":")
    assert any(Path(d, "libLLVM.so.22.1").exists() for d in libdirs)
    tomllib.loads(data["toml"])
    env = cli("rustc-config", "--toolchain", system_build / "toolchain", "--env").stdout
    assert "export LLVM_CONFIG=" in env
    assert "MLIRBOOT_ENZYME_LIB" not in env


def test_missing_toolchain_is_usage_error(cli, tmp_path: Path):
    res = cli("rustc-config", "--toolchain", tmp_path / "none")
    assert res.returncode == 2 and "hint:" in res.stderr


LLVM_CONFIG = Path("/usr/lib/llvm-22/bin/llvm-config")
needs_llvm = pytest.mark.skipif(not LLVM_CONFIG.exists(), reason="needs /usr/lib/llvm-22")


def _manifest(tmp_path: Path, libraries: dict[str, str]) -> Manifest:
    return Manifest(
        mlirboot_version="0",
        provider="source",
        llvm_version="22.1.8",
        prefix=str(tmp_path),
        tools={"llvm-config": str(LLVM_CONFIG)},
        libraries=libraries,
    )


@needs_llvm
def test_no_offload_key_without_an_offload_runtime(tmp_path: Path):
    text, env = fragment(_manifest(tmp_path, {}))
    llvm = tomllib.loads(text)["llvm"]
    assert "offload" not in llvm and "offload-clang-dir" not in llvm
    assert llvm["enzyme"] is False
    assert "No `offload` key" in text
    assert "MLIRBOOT_ENZYME_LIB" not in env


@needs_llvm
def test_enzyme_comment_says_rust_builds_its_own(tmp_path: Path):
    lib = tmp_path / "lib" / "LLVMEnzyme-22.so"
    text, env = fragment(
        _manifest(
            tmp_path, {"LLVMEnzyme": str(lib), "omptarget": str(tmp_path / "libomptarget.so")}
        )
    )
    llvm = tomllib.loads(text)["llvm"]
    assert llvm["enzyme"] is True and llvm["offload"] is True
    assert "bundled" in text and "does not" in text and str(lib) in text
    assert "OmpOffload" in text
    assert set(env) == {"LD_LIBRARY_PATH", "PATH", "LLVM_CONFIG"}
