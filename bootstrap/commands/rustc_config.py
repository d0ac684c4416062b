"""mlirboot rustc-config"""

from __future__ import annotations

import argparse
import json

from .common import add_json_arg, add_toolchain_args

HELP = "print the rustc bootstrap.toml fragment and environment for the toolchain"
EPILOG = """\
examples:
  mlirboot rustc-config > rust/mlirboot.toml     # then include = ["mlirboot.toml"]
  mlirboot rustc-config --toolchain build/toolchain --json
  mlirboot rustc-config -B /scratch/tc          # the prefix that build dir's plan names
  eval "$(mlirboot rustc-config --env)"          # export PATH, LD_LIBRARY_PATH, ...
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "rustc-config",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_toolchain_args(parser, ", else the system LLVM 22")
    parser.add_argument("--triple", help="rust target triple (default: this machine's)")
    parser.add_argument(
        "--env", action="store_true", help="print only shell `export` lines for the environment"
    )
    add_json_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import shlex

    from ..manifest import Manifest, locate
    from ..ship.rustc import fragment
    from ..toolset import system_manifest
    from .common import toolchain_from_args

    path = locate(toolchain_from_args(args))
    manifest = Manifest.load(path) if path else system_manifest()
    text, env = fragment(manifest, args.triple)
    if args.json:
        print(
            json.dumps(
                {"toml": text, "env": env, "manifest": str(path) if path else None}, indent=2
            )
        )
    elif args.env:
        for key, value in env.items():
            if key in ("PATH", "LD_LIBRARY_PATH"):
                print(f"export {key}={shlex.quote(value)}${{{key}:+:${key}}}")
            else:
                print(f"export {key}={shlex.quote(value)}")
    else:
        print(text, end="")
        print("\n# environment for the build (also: --env):")
        for key, value in env.items():
            print(f"#   {key}={value}")
    return 0
