"""`mlirboot provision`: install or adopt the distribution's LLVM 22."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from ..errors import EXIT_USAGE
from .common import add_build_dir_arg

EPILOG = """\
examples:
  sudo mlirboot provision --target nvidia            # apt-get install the pinned packages
  mlirboot provision --target host --dry-run         # the apt-get command, nothing run
  mlirboot provision --target host --llvm-prefix /usr/lib/llvm-22 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "provision",
        help="install (as root) or adopt the distribution's LLVM 22 packages a target needs",
        description="Install the pinned LLVM 22 packages the targets need with apt-get (as "
        "root; otherwise print the exact command and exit 2), or adopt an existing install "
        "(llvm-config-22 or --llvm-prefix) after checking its version and tools.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--target", "-t", required=True, metavar="T[,T...]")
    p.add_argument("--llvm-prefix", metavar="DIR", help="adopt this LLVM 22 install")
    add_build_dir_arg(
        p,
        help="use this build dir's plan if configured for the targets",
    )
    p.add_argument(
        "--dry-run",
        "-n",
        action="store_true",
        help="print what would be installed (the apt-get command); change nothing",
    )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..provision import provision
    from .common import parse_targets, say

    targets = parse_targets(args.target) or []
    build_dir = args.build_dir.resolve()
    result = provision(
        targets,
        build_dir=build_dir,
        llvm_prefix=args.llvm_prefix,
        dry_run=args.dry_run,
        log=build_dir / "logs" / "provision.log",
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        for pkg in result.packages:
            state = "ok" if pkg.ok else f"needs {pkg.spec()} (have {pkg.installed or 'none'})"
            say(args, f"  {pkg.name:22} {state}")
        cmd = shlex.join(result.command) if result.command else ""
        if result.action == "needs-root":
            print(f"mlirboot: not root; run as root:\n  {cmd}", file=sys.stderr)
        elif result.action == "dry-run":
            print(f"would run: {cmd}")
        else:
            print(
                f"{result.action} LLVM {result.llvm_version} at {result.llvm_prefix} "
                f"(packages from {result.source or 'the plan'})"
            )
    return EXIT_USAGE if result.action == "needs-root" else 0
