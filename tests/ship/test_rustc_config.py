"""`mlirboot rustc-config`: a bootstrap.toml fragment rust's bootstrap can read."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

from mlirboot.bootstrap.ship.rustc import paths_in


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
    version = subprocess.run([target["llvm-config"], "--version"], capture_output=True,
                             text=True, check=True).stdout
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


def test_missing_toolchain_is_usage_error(cli, tmp_path: Path):
    res = cli("rustc-config", "--toolchain", tmp_path / "none")
    assert res.returncode == 2 and "hint:" in res.stderr
