"""Helpers for engine tests: tiny real CMake projects and hand-written plans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from mlirboot.bootstrap.fsutil import sha256_file

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.20)
project(hello C)
set(GREETING "hello" CACHE STRING "what the tool prints")
configure_file(greeting.h.in greeting.h)
include_directories(${CMAKE_CURRENT_BINARY_DIR})
add_library(hello STATIC lib.c)
add_executable(hello-tool main.c)
target_link_libraries(hello-tool hello)
if(SLOW_STEP)
  # A step that takes a while, so a test can kill the build in the middle.
  add_custom_command(OUTPUT slow.stamp COMMAND sleep ${SLOW_STEP}
                     COMMAND ${CMAKE_COMMAND} -E touch slow.stamp)
  add_custom_target(slow ALL DEPENDS slow.stamp)
endif()
install(TARGETS hello-tool DESTINATION bin)
install(TARGETS hello DESTINATION lib)
install(FILES lib.h DESTINATION include/hello)
"""


def make_project(root: Path, *, greeting: str = "hello") -> Path:
    """A small C project (lib + tool + header) with real install rules."""
    src = root / "proj"
    src.mkdir(parents=True, exist_ok=True)
    (src / "CMakeLists.txt").write_text(CMAKELISTS)
    (src / "greeting.h.in").write_text('#define GREETING "@GREETING@"\n')
    (src / "lib.h").write_text("const char *greet(void);\n")
    (src / "lib.c").write_text(
        '#include "greeting.h"\nconst char *greet(void) { return GREETING; }\n'
    )
    (src / "main.c").write_text(
        '#include <stdio.h>\n#include "lib.h"\nint main(void) { puts(greet()); return 0; }\n'
    )
    return src


def make_tarball(src: Path, out: Path, top: str = "proj-1.0") -> Path:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(src, arcname=top)
    return out


def write_cache(build_dir: Path, name: str, text: str = "") -> str:
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / f"{name}.cmake"
    path.write_text('set(CMAKE_BUILD_TYPE Release CACHE STRING "")\n' + text)
    return path.name


def component(name: str, source: dict | None, **extra) -> dict:
    comp = {
        "name": name,
        "recipe": name,
        "action": "cmake",
        "version": "1.0",
        "source": source,
        "source_env": None,
        "source_subdir": "",
        "cache_file": f"{name}.cmake",
        "depends_on": [],
        "build_targets": [],
        "install_targets": ["install"],
        "provides": {"tools": [], "libraries": []},
        "settings_hash": "x",
    }
    comp.update(extra)
    return comp


def write_plan(build_dir: Path, prefix: Path, components: list[dict], **extra) -> Path:
    build_dir.mkdir(parents=True, exist_ok=True)
    plan = {
        "schema": 1,
        "mlirboot_version": "0.1.0",
        "config_hash": "c",
        "lock_hash": "l",
        "targets": ["host"],
        "provider": "source",
        "build_dir": str(build_dir),
        "prefix": str(prefix),
        "jobs": 2,
        "link_jobs": None,
        "compiler_launcher": None,
        "components": components,
    }
    plan.update(extra)
    path = build_dir / "plan.json"
    path.write_text(json.dumps(plan, indent=2))
    return path


def mlirboot(
    *args: str | Path, env: dict[str, str] | None = None, check: bool = False, **kw
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=full,
        **kw,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mlirboot {args} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLIRBOOT_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def project(tmp_path: Path) -> dict:
    """A local-source project with a plan: returns paths for the test."""
    src = make_project(tmp_path)
    build = tmp_path / "build"
    prefix = tmp_path / "prefix"
    write_cache(build, "hello")
    write_plan(build, prefix, [component("hello", {"kind": "local", "path": str(src)})])
    return {"src": src, "build": build, "prefix": prefix, "tmp": tmp_path}


def sha(path: Path) -> str:
    return sha256_file(path)
