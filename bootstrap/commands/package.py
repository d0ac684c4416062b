"""mlirboot package"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..filenames import LOCK_JSON, MANIFEST_JSON, PLAN_JSON
from .common import add_json_arg

HELP = "package the toolchain as a deterministic tarball or a wheel (with lock + SBOM)"
EPILOG = f"""\
the package holds the manifest-listed tools and libraries of the toolchain prefix
(plus the prefix's shared libraries they load), {MANIFEST_JSON}, {LOCK_JSON},
{PLAN_JSON} and sbom.cdx.json (CycloneDX 1.5). Timestamps come from
SOURCE_DATE_EPOCH (default 0): two runs give the same sha256 for tar.

examples:
  mlirboot package --format tar -o dist
  mlirboot package --format wheel --toolchain build/toolchain -o dist
  pip install dist/mlirboot_toolchain-22.1.8-*.whl && mlir-opt --version
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
        "--build-dir",
        "-B",
        type=Path,
        help=f"build dir holding {LOCK_JSON}/{PLAN_JSON} (default: the prefix's parent)",
    )
    add_json_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fsutil import check_output_dir
    from ..ship.inputs import load
    from ..ship.package import package

    check_output_dir(args.output_dir, f"-o {args.output_dir}")

    ship = load(args.toolchain, args.build_dir)
    result = package(ship, args.format, args.output_dir)
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
        print(
            "not packaged (outside the prefix): "
            + ", ".join(f"{k} ({v})" for k, v in sorted(result["not_packaged"].items()))
        )
    if result["system_libraries"]:
        print("needs from the system: " + ", ".join(result["system_libraries"]))
    if result["components_without_hash"]:
        print("SBOM has no source hash for: " + ", ".join(result["components_without_hash"]))
    return 0
