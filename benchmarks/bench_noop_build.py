"""No-op `mlirboot build` vs a plain `ninja` no-op on the same build dir.

    python benchmarks/bench_noop_build.py                 # generated 300-file C project
    python benchmarks/bench_noop_build.py --build-dir B   # an existing configured+built dir

Prints the median of N runs of each and their ratio (goal: within 1.5x, under 1 s).
Both local-source components (mlirboot runs ninja) and immutable sources
(mlirboot skips ninja on matching stamps) are measured by the second form.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _project(root: Path, files: int) -> Path:
    src = root / "proj"
    src.mkdir(parents=True)
    names = [f"f{i}.c" for i in range(files)]
    for i, name in enumerate(names):
        (src / name).write_text(f"int f{i}(void) {{ return {i}; }}\n")
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(bench C)\n"
        f"add_library(bench STATIC {' '.join(names)})\n"
        "add_executable(bench-tool main.c)\ntarget_link_libraries(bench-tool bench)\n"
        "install(TARGETS bench bench-tool)\n"
    )
    build = root / "build"
    build.mkdir()
    (build / "bench.cmake").write_text('set(CMAKE_BUILD_TYPE Release CACHE STRING "")\n')
    plan = {
        "schema": 1,
        "mlirboot_version": "0.1.0",
        "config_hash": "",
        "lock_hash": "",
        "targets": ["host"],
        "provider": "source",
        "build_dir": str(build),
        "prefix": str(root / "prefix"),
        "jobs": None,
        "link_jobs": None,
        "compiler_launcher": None,
        "components": [
            {
                "name": "bench",
                "recipe": "bench",
                "action": "cmake",
                "version": "1",
                "source": {"kind": "local", "path": str(src)},
                "source_env": None,
                "source_subdir": "",
                "cache_file": "bench.cmake",
                "depends_on": [],
                "build_targets": [],
                "install_targets": ["install"],
                "provides": {},
                "settings_hash": "",
            }
        ],
    }
    (build / "plan.json").write_text(json.dumps(plan))
    return build


def _time(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build-dir", type=Path)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    mlirboot = [sys.executable, "-m", "mlirboot.bootstrap.cli", "build"]
    with tempfile.TemporaryDirectory() as tmp:
        build = args.build_dir.resolve() if args.build_dir else _project(Path(tmp), args.files)
        subprocess.run([*mlirboot, "--build-dir", str(build)], check=True, capture_output=True)
        plan = json.loads((build / "plan.json").read_text())
        ninja_dirs = [
            build / c["name"] / "build"
            for c in plan["components"]
            if c.get("action", "cmake") == "cmake"
        ]
        from mlirboot.bootstrap.engine.hostinfo import find_tool

        ninja = find_tool("ninja")
        t_ninja = sum(_time([ninja, "-C", str(d)], args.runs) for d in ninja_dirs)
        t_mlirboot = _time([*mlirboot, "--build-dir", str(build)], args.runs)
        t_python = _time([sys.executable, "-c", "pass"], args.runs)
    print(f"build dir: {build}")
    print(f"plain ninja no-op (all components): {t_ninja * 1000:8.1f} ms")
    print(f"mlirboot build no-op:               {t_mlirboot * 1000:8.1f} ms")
    print(f"  of which python startup alone:    {t_python * 1000:8.1f} ms")
    print(
        f"ratio mlirboot/ninja: {t_mlirboot / t_ninja:.2f}x "
        f"(goal <= 1.5x and < 1 s: {'met' if t_mlirboot < 1 else 'NOT met'} for < 1 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
