"""`mlirboot configure` wall time, side by side with a bare Python start-up in
the same run (the floor any Python CLI pays). Goal: configure under 0.5 s.

    python benchmarks/bench_configure.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SELECTIONS = ["host", "tpu", "nvidia,amd"]
GOAL_SECONDS = 0.5


def wall(cmd: list[str], cwd: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        baseline = wall([sys.executable, "-c", "pass"], cwd, args.runs)
        print(f"{'command':<36} {'median s':>9} {'x python':>9}")
        print(f"{'python -c pass':<36} {baseline:9.3f} {1.0:9.2f}")
        worst = 0.0
        for targets in SELECTIONS:
            cmd = [
                sys.executable,
                "-m",
                "mlirboot.bootstrap.cli",
                "configure",
                "--target",
                targets,
                "--set",
                "provider=source",
                "--build-dir",
                "b",
            ]
            seconds = wall(cmd, cwd, args.runs)
            worst = max(worst, seconds)
            print(f"{'configure --target ' + targets:<36} {seconds:9.3f} {seconds / baseline:9.2f}")
        verdict = "meets" if worst < GOAL_SECONDS else "MISSES"
        print(f"slowest configure {worst:.3f} s: {verdict} the {GOAL_SECONDS} s goal")
    return 0 if worst < GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
