"""mlirboot package"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..filenames import LOCK_JSON, MANIFEST_JSON, PLAN_JSON
from .common import add_build_dir_arg, add_dry_run_arg, add_json_arg, say

HELP = "package the toolchain as a deterministic tarball or a wheel (with lock + SBOM)"
EPILOG = f"""\
the package holds the manifest-listed tools and libraries of the toolchain prefix
(plus the prefix's shared libraries they load, and clang's resource headers),
a relocatable {MANIFEST_JSON} (paths relative to the prefix), {LOCK_JSON},
{PLAN_JSON} and sbom.cdx.json (CycloneDX 1.5, the sha256 of every file).
--dev adds headers, the CMake package configs (find_package(MLIR CONFIG)),
llvm-config and the tablegen tools. Timestamps come from SOURCE_DATE_EPOCH
(default 0): two runs give the same sha256 for tar. `mlirboot install` unpacks
a tarball into a prefix anywhere.

examples:
  mlirboot package --format tar -o dist
  mlirboot package --dev -o dist && mlirboot install dist/*.tar.gz --prefix ~/llvm22
  mlirboot package --format wheel --toolchain build/toolchain -o dist
  pip install dist/mlirboot_toolchain-22.1.8-*.whl && mlir-opt --version
  mlirboot package -B build --dry-run   # the package file and what it would hold
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "package",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=["tar", "wheel"],
        default="tar",
        help="tar (tar.gz, reproducible) or wheel (scikit-build-core)",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=Path,
        default=Path("dist"),
        help="where the package goes (default: ./dist)",
    )
    parser.add_argument(
        "--toolchain",
        metavar="PREFIX",
        help=f"toolchain prefix or its {MANIFEST_JSON} "
        "(default: $MLIRBOOT_TOOLCHAIN, else ./build/toolchain)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="include development files: headers, lib/cmake/{llvm,mlir}, llvm-config, tablegen",
    )
    add_build_dir_arg(
        parser,
        help=f"build dir holding {LOCK_JSON}/{PLAN_JSON} (default: the prefix's parent)",
        default=None,
    )
    add_json_arg(parser)
    add_dry_run_arg(parser, "the package file that would be written and the files it would hold")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fsutil import check_output_dir
    from ..ship.inputs import load
    from ..ship.package import package
    from .common import toolchain_from_args

    check_output_dir(args.output_dir, f"-o {args.output_dir}")

    ship = load(toolchain_from_args(args), args.build_dir)
    if args.dry_run:
        return _dry_run(ship, args)
    result = package(ship, args.format, args.output_dir, dev=args.dev)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    mb = result["bytes"] / 1e6
    print(
        f"wrote {result['path']} ({mb:.1f} MB, {result['files']} files, "
        f"{result['unpacked_bytes'] / 1e6:.0f} MB unpacked)"
    )
    print(f"sha256 {result['sha256']}")
    if result["not_packaged"]:
        say(
            args,
            "not packaged (outside the prefix): "
            + ", ".join(f"{k} ({v})" for k, v in sorted(result["not_packaged"].items())),
        )
    if result["system_libraries"]:
        say(args, "needs from the system: " + ", ".join(result["system_libraries"]))
    if result["components_without_hash"]:
        say(args, "SBOM has no source hash for: " + ", ".join(result["components_without_hash"]))
    return 0


def _dry_run(ship, args: argparse.Namespace) -> int:
    from ..ship import payload as payload_mod
    from ..ship.package import SBOM_NAME, SHIPPED_MANIFEST, _name

    pl = payload_mod.collect(ship.manifest, dev=args.dev)
    name = _name(ship)
    if args.format == "tar":
        out = str(args.output_dir / f"{name}.tar.gz")
    else:  # the wheel's tags come from the build backend
        out = str(args.output_dir / f"mlirboot_toolchain-{ship.manifest.llvm_version}-*.whl")
    extra = [SHIPPED_MANIFEST, SBOM_NAME]
    extra += [LOCK_JSON] if ship.lock_text is not None else []
    extra += [PLAN_JSON] if ship.plan_text is not None else []
    members = sorted([f"toolchain/{e.arcname}" for e in pl.entries] + extra)
    if args.json:
        print(
            json.dumps(
                {
                    "dry_run": True,
                    "format": args.format,
                    "dev": args.dev,
                    "path": out,
                    "members": members,
                    "unpacked_bytes": pl.size(),
                    "not_packaged": pl.external,
                    "system_libraries": pl.system_libs,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"would write {out} ({len(members)} files, {pl.size() / 1e6:.0f} MB unpacked; "
        "nothing is written):"
    )
    for member in members:
        print(f"  {member}")
    return 0
