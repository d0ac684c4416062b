"""mlirboot targets"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from .common import add_json_arg

HELP = "list the accelerator targets, what each adds, and its device archs"
EPILOG = """\
examples:
  mlirboot targets
  mlirboot targets --json | jq -r '.[].name'
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "targets",
        help=HELP,
        description=HELP.capitalize() + ". Targets are data: configs/targets/<name>.yaml.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import CONFIGS_DIR
    from ..targets import load_target_specs

    specs = load_target_specs(CONFIGS_DIR / "targets")
    if args.json:
        print(json.dumps([asdict(s) for s in specs.values()], indent=2))
        return 0
    width = max(map(len, specs))
    for spec in specs.values():
        print(f"{spec.name:<{width}}  {spec.description}")
        if spec.archs:
            archs = ", ".join(
                a + ("*" if a in spec.archs.default else "") for a in spec.archs.known
            )
            print(f"{'':<{width}}  archs: {archs}")
    print(
        "\n* default arch; choose others with --set archs.<target>=[...] or archs: in mlirboot.yaml"
    )
    return 0
