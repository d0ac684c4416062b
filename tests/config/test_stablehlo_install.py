"""StableHLO's standalone build gives stablehlo-opt and stablehlo-translate no
install rule (add_llvm_executable): the planned cache adds one through
CMAKE_PROJECT_stablehlo_INCLUDE. Checked with real CMake on a stand-in project
named like StableHLO that builds the two tools into <build>/bin as LLVM does."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mbtest import configured
from mlirboot.bootstrap.engine.hostinfo import find_tool

STAND_IN = """\
cmake_minimum_required(VERSION 3.20)
project(stablehlo LANGUAGES C)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
add_executable(stablehlo-opt main.c)
add_executable(stablehlo-translate main.c)
"""


def test_planned_cache_installs_the_stablehlo_tools(tmp_path: Path):
    result = configured(tmp_path, "tpu")
    cache = tmp_path / "stablehlo.cmake"
    cache.write_text(result.files["stablehlo.cmake"])
    assert "CMAKE_PROJECT_stablehlo_INCLUDE" in cache.read_text()
    src, build, prefix = tmp_path / "src", tmp_path / "obj", tmp_path / "prefix"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(STAND_IN)
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    cmake, ninja = find_tool("cmake"), find_tool("ninja")
    for cmd in (
        [cmake, "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}", "-C", str(cache), "-S", src,
         "-B", build, f"-DCMAKE_INSTALL_PREFIX={prefix}"],
        [ninja, "-C", build, "install"],
    ):  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert sorted(p.name for p in (prefix / "bin").iterdir()) == [
        "stablehlo-opt",
        "stablehlo-translate",
    ]
