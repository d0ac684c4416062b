"""`mlirboot doctor`: what the targets need, what is here, how to fix the rest."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from .common import add_build_dir_arg

EPILOG = """\
examples:
  mlirboot doctor                         # for ./build's plan, else the host target
  mlirboot doctor --target nvidia,amd --provider source
  mlirboot doctor -B /scratch/tc --json && mlirboot build -B /scratch/tc
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check this machine for what the targets need, and say how to fix what is missing",
        description="Check this machine for what the targets need (compilers, CMake, the "
        "LLVM 22 packages, device drivers and SDKs, free disk and memory) and print what is "
        "found, what is needed, and the fix for each missing piece. Exit 1 if a required "
        "piece is missing. It reads only; nothing is installed or written.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--target",
        "-t",
        metavar="T[,T...]",
        default=None,
        help="targets to check for (default: the build dir's plan, else host)",
    )
    add_build_dir_arg(
        p,
        help="use this build dir's plan for the targets and provider (default: ./build)",
    )
    p.add_argument(
        "--provider",
        choices=["system", "source"],
        default=None,
        help="whose needs to check (default: the plan's, else system)",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..doctor import doctor
    from ..engine import planfile
    from .common import parse_targets

    build_dir = args.build_dir.resolve()
    plan = planfile.load_data_if_present(build_dir)
    targets = parse_targets(args.target) or plan.get("targets") or ["host"]
    provider = args.provider or plan.get("provider") or "system"
    checks = doctor(targets, build_dir, provider)
    failed = [c for c in checks if not c.ok and c.required]
    if args.json:
        print(
            json.dumps(
                {
                    "targets": targets,
                    "provider": provider,
                    "ok": not failed,
                    "checks": [asdict(c) for c in checks],
                },
                indent=2,
            )
        )
    else:
        print(f"mlirboot doctor: targets {', '.join(targets)}, {provider} provider")
        for c in checks:
            mark = "ok  " if c.ok else ("MISS" if c.required else "warn")
            print(f"  [{mark}] {c.name:14} {c.found}  (need {c.need})")
            if not c.ok:
                print(f"         fix: {c.fix}")
        print("all good" if not failed else f"{len(failed)} missing: see the fixes above")
    return 1 if failed else 0
