#!/usr/bin/env python3
"""Differential fuzzer: random MLIR programs, each compiled and run at -O0,
-O2 and --blas on host and offload-host (and tpu for tensor programs when jax
is installed), every result compared with the generator's numpy model.

    python scripts/fuzz.py --count 1000 --seed 0

Exit status: 0 when every run matched, 1 when a program mismatched or failed
(each such program is printed reduced: its text and smallest failing config).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz.batch import run_batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="programs to generate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first program")
    parser.add_argument("--no-tpu", action="store_true", help="skip the tpu target")
    args = parser.parse_args(argv)
    if args.count < 1 or args.seed < 0:
        parser.error("--count must be >= 1 and --seed >= 0")
    summary = run_batch(
        args.seed, args.count, tpu=not args.no_tpu, log=lambda line: print(line, flush=True)
    )
    print(f"seed {args.seed}: {summary.line()}", flush=True)
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
