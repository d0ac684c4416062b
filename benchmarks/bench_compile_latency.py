#!/usr/bin/env python3
"""Wall time of `mlirboot compile` as a user sees it (a new Python process,
every stage, the artifact written), in several modes side by side.

usage: python benchmarks/bench_compile_latency.py [--repeat N] [--baseline TREE] [--json FILE]

Programs: a 5-line 4x4 linalg.add and tests/backend/programs/mlp.mlir; targets
host and offload-host (-O2). Modes, each run N times (median wall seconds, and
median CPU seconds of the process tree: steadier than wall on a loaded machine):
  baseline      (--baseline TREE) the CLI of another source tree of mlirboot
                (e.g. `git archive <commit> | tar -x -C TREE/mlirboot`), cold
  tools         one mlir-opt/mlir-translate/clang process per run (MLIRBOOT_RESIDENT=off),
                every stage in order, nothing reused: how compiles ran before
  resident      those runs served by one mlirboot-mlir process (a link's linker
                still a process), stages in order
  cold          and the side steps (launcher, runtime, links) on worker threads
                beside the chain: a compile as it is now, nothing reused
                (MLIRBOOT_COMPILE_CACHE=off)
  --no-cache    the launcher and runtime objects from the object cache (a
                program not seen before, on a machine that has compiled before)
  cached        a compile-cache hit (the artifact is copied)
The ratios are to the first mode shown. Runs on a loaded machine vary:
compare the modes of one run, not runs of different days. The children run
without PYTHONDONTWRITEBYTECODE (set in some sandboxes): a user's Python
reuses its compiled .pyc files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MLP = REPO / "tests" / "backend" / "programs" / "mlp.mlir"
ADD = """func.func @add(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.add ins(%a, %b : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
"""

# The CLI in a fresh interpreter; `setup` runs first (the mode's switches).
RUNNER = """
import sys
{setup}
from mlirboot.bootstrap.cli import main
sys.exit(main(sys.argv[1:]))
"""
# Another tree's mlirboot ahead of this one's editable install.
BASELINE = """
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower()]
sys.path.insert(0, {tree!r})
"""
IN_ORDER = """
from mlirboot.backend import driver
compile_program = driver.compile_program
def in_order(*args, options=None, **kw):
    return compile_program(*args, options={**(options or {}), "side_steps": False}, **kw)
driver.compile_program = in_order
"""


def compile_once(
    setup: str, env: dict[str, str], program: Path, target: str, out: Path, flags: list[str]
) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the whole process tree)."""
    cmd = [sys.executable, "-c", RUNNER.format(setup=setup), "compile", str(program)]
    cmd += ["-t", target, "-O2", "-o", str(out), "-q", *flags]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, env={**full_env, **env}, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", help="a source tree holding mlirboot/ (another commit)")
    parser.add_argument("--json", metavar="FILE", help="also write the medians here")
    args = parser.parse_args()
    off = {"MLIRBOOT_COMPILE_CACHE": "off"}
    on = {"MLIRBOOT_COMPILE_CACHE": "on"}
    tools = {**off, "MLIRBOOT_RESIDENT": "off"}
    modes: list[tuple[str, str, dict[str, str], list[str]]] = []
    if args.baseline:
        tree = str(Path(args.baseline).resolve())
        modes.append(("baseline", BASELINE.format(tree=tree), off, ["--no-cache"]))
    modes += [
        ("tools", IN_ORDER, tools, ["--no-cache"]),
        ("resident", IN_ORDER, off, ["--no-cache"]),
        ("cold", "", off, ["--no-cache"]),
        ("--no-cache", "", on, ["--no-cache"]),
        ("cached", "", on, []),
    ]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        add = Path(tmp) / "add.mlir"
        add.write_text(ADD)
        print(
            f"`mlirboot compile -O2`: median wall s, median CPU s (user+sys, process tree) "
            f"of {args.repeat}"
        )
        print(f"{'program':<10} {'target':<13}" + "".join(f"{m[0]:>17}" for m in modes))
        for program in (add, MLP):
            for target in ("host", "offload-host"):
                cells, first = [], None
                for name, setup, env, flags in modes:
                    times, cpus = [], []
                    # One untimed run first: fills the caches the mode reads.
                    for n in range(args.repeat + 1):
                        out = Path(tmp) / f"out{n}"
                        wall, cpu = compile_once(setup, env, program, target, out, flags)
                        if n:
                            times.append(wall)
                            cpus.append(cpu)
                        subprocess.run(["rm", "-rf", str(out)], check=True)
                    median, cpu = statistics.median(times), statistics.median(cpus)
                    first = first or median
                    cells.append(f"{median:.2f} {cpu:.2f} {first / median:.1f}x")
                    results.append(
                        {
                            "program": program.stem,
                            "target": target,
                            "mode": name,
                            "wall_s": median,
                            "cpu_s": cpu,
                            "min_wall_s": min(times),
                        }
                    )
                print(f"{program.stem:<10} {target:<13}" + "".join(f"{c:>17}" for c in cells))
    print("(Nx: the first mode's median / this one's; cold = nothing reused)")
    if args.json:
        Path(args.json).write_text(json.dumps({"repeat": args.repeat, "rows": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
