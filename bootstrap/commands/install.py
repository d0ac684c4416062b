"""mlirboot install"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..filenames import MANIFEST_JSON
from .common import add_dry_run_arg, add_json_arg, say

HELP = "install a package tarball (`mlirboot package`) into a prefix, checking every file"
EPILOG = f"""\
unpacks into a staging dir beside the prefix, checks every file against the
sha256 the package's SBOM records (and every link against its manifest), then
renames it into place. The prefix must be new, an empty directory, or an earlier
`mlirboot install` (replaced). The installed prefix is relocatable: its
{MANIFEST_JSON} holds paths relative to itself, so it can be moved, and
`--toolchain PREFIX` of `compile`/`run` uses it. A --dev package also gives
find_package(MLIR CONFIG) (-DMLIR_DIR=PREFIX/lib/cmake/mlir) and llvm-config.
Shared libraries the package needs from the system are checked first.

examples:
  mlirboot install dist/mlirboot-toolchain-22.1.8-host.tar.gz --prefix ~/llvm22
  mlirboot install pkg.tar.gz --prefix /opt/llvm22 --sha256 <digest from package --json>
  mlirboot install pkg.tar.gz --prefix ~/llvm22 --dry-run   # check it; write nothing
  mlirboot run prog.mlir --target host --toolchain ~/llvm22 -i a.npy --output c.npy
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "install",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("package", type=Path, help="the .tar.gz `mlirboot package` wrote")
    parser.add_argument(
        "--prefix",
        type=Path,
        default=Path("toolchain"),
        metavar="DIR",
        help="where the toolchain goes (default: ./toolchain)",
    )
    parser.add_argument(
        "--sha256", metavar="DIGEST", help="the package's expected sha256 (checked as it is read)"
    )
    parser.add_argument(
        "--ignore-requirements",
        action="store_true",
        help="install even if system shared libraries the package needs are missing",
    )
    add_json_arg(parser)
    add_dry_run_arg(parser, "what would be installed, after checking every file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..ship.install import install

    result = install(
        args.package,
        args.prefix,
        dry_run=args.dry_run,
        sha256=args.sha256,
        ignore_requirements=args.ignore_requirements,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    needs = result["requires"]
    verb = "would install" if args.dry_run else "installed"
    again = " (replacing the earlier install)" if result["replaces"] else ""
    print(
        f"{verb} LLVM {result['llvm_version']} toolchain into {result['prefix']}{again}: "
        f"{result['files']} files, {result['bytes'] / 1e6:.0f} MB, every sha256 checked"
    )
    if needs["missing_libraries"]:
        say(
            args,
            "missing on this machine (--ignore-requirements): "
            + ", ".join(needs["missing_libraries"]),
        )
    if needs["missing_tools"]:
        say(
            args,
            "tools outside the package, not on this machine: "
            + ", ".join(f"{n} ({needs['tools'][n]})" for n in needs["missing_tools"]),
        )
    if needs["missing_for_clang"]:
        from ..ship.install import C_TOOLCHAIN_HINT

        say(
            args,
            "clang is in the package, but compiling with it needs from the system: "
            + ", ".join(needs["missing_for_clang"])
            + f" ({C_TOOLCHAIN_HINT})",
        )
    if not needs["checked_libraries"]:
        say(args, "no ldconfig here: the system libraries the package needs were not checked")
    if not args.dry_run:
        say(args, f"use it: mlirboot compile PROG.mlir --toolchain {result['prefix']} ...")
    return 0
