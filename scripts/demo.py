"""The quickstart's last step: compile examples/matmul.mlir as a split
host/device program for `offload-host` with the toolchain just set up, run it
through the LLVM offload runtime (x86-64 as the offload device), and check the
result against numpy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mlirboot import backend

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--program", type=Path, default=EXAMPLES / "matmul.mlir")
    parser.add_argument("--target", default="offload-host")
    parser.add_argument("--toolchain", help="toolchain.json or its prefix")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 128), dtype=np.float32)
    b = rng.standard_normal((128, 32), dtype=np.float32)
    artifact = backend.compile(args.program, target=args.target, toolchain=args.toolchain)
    print(f"compiled {args.program.name} for {args.target}:")
    for kind, path in sorted(artifact.files.items()):
        print(f"  {kind:<16} {path}")
    (c,) = artifact.run(a, b, info=True)
    mapped = [line for line in artifact.last_log.splitlines() if "device 0" in line.lower()]
    if args.target == "offload-host":
        print(f"offload runtime report: {len(mapped)} mapping lines on device 0, e.g.")
        for line in mapped[:3]:
            print(f"  {line.strip()}")
    expected = a @ b
    ok = np.allclose(c, expected, rtol=1e-5, atol=1e-5)
    err = float(np.max(np.abs(c - expected)))
    print(
        f"check against numpy (rtol 1e-5): max abs error {err:.2e} over {c.size} values "
        f"-> {'OK' if ok else 'MISMATCH'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
