"""Wall time of README command 1 (`bash scripts/quickstart.sh`) on a fresh
Debian root, split into the steps the scripts time themselves.

    sudo python3 benchmarks/bench_first_run.py                 # bookworm, once
    sudo python3 benchmarks/bench_first_run.py --release trixie --runs 2
    sudo python3 benchmarks/bench_first_run.py --log quickstart.log   # parse a saved run

Each run is a new root from scripts/fresh-root.sh (its base tarball cached; the
time to make that once is not counted). The second of two runs meets a warm
package mirror. Goal: command 1 within 2 minutes on a warm mirror. Prints one
table, and JSON with --json. Needs root (debootstrap, chroot).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEP = re.compile(r"^== step (?P<name>[\w-]+): (?P<secs>\d+) s$")
GOAL_S = 120


def steps_of(log: str) -> dict[str, int]:
    """Seconds per step, as the scripts print them (`== step NAME: S s`)."""
    found: dict[str, int] = {}
    for line in log.splitlines():
        match = STEP.match(line.strip())
        if match:
            found[match["name"]] = found.get(match["name"], 0) + int(match["secs"])
    return found


def one_run(release: str) -> tuple[dict[str, int], float]:
    start = time.monotonic()
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "fresh-root.sh"), release, "bash scripts/quickstart.sh"],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(
            f"bench_first_run: quickstart failed in a fresh {release} root:\n"
            + "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        )
    return steps_of(done.stdout), wall


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--release", default="bookworm", help="Debian release of the root")
    parser.add_argument("--runs", type=int, default=1, help="fresh roots, one after another")
    parser.add_argument("--log", type=Path, help="parse a saved quickstart log instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    runs: list[tuple[dict[str, int], float | None]] = []
    if args.log:
        runs.append((steps_of(args.log.read_text()), None))
    else:
        runs.extend(one_run(args.release) for _ in range(args.runs))

    rows = []
    for number, (steps, wall) in enumerate(runs, 1):
        total = sum(steps.values())
        rows.append(
            {
                "run": number,
                "steps_s": steps,
                "command1_s": total,
                "with_root_s": round(wall, 1) if wall is not None else None,
                "goal_s": GOAL_S,
                "ratio_to_goal": round(total / GOAL_S, 2),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    names = list(dict.fromkeys(name for row in rows for name in row["steps_s"]))
    print(f"README command 1 on a fresh {args.release} root (seconds)")
    print("run  " + " ".join(f"{n:>9}" for n in names) + "   command1  vs goal")
    for row in rows:
        cells = " ".join(f"{row['steps_s'].get(n, 0):>9}" for n in names)
        print(f"{row['run']:>3}  {cells}   {row['command1_s']:>8}  {row['ratio_to_goal']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
