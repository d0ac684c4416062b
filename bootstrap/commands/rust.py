"""mlirboot rust enable-autodiff"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_json_arg, add_toolchain_args

HELP = "put the toolchain's Enzyme under a nightly rustc (std::autodiff)"
EPILOG = """\
std::autodiff needs a nightly rustc built with Enzyme support (rustup's are)
and a libEnzyme linked against that rustc's own LLVM; this command links it
from the toolchain's libEnzymeStatic-22.a (configure with enzyme.enabled=true
and enzyme.rustc=true) and installs it where rustc looks:
<sysroot>/lib/rustlib/<host>/lib/libEnzyme-22.so.

examples:
  mlirboot rust enable-autodiff                       # into rustup's nightly
  mlirboot rust enable-autodiff --overlay ~/ad-sysroot  # leave the toolchain alone
  RUSTFLAGS="-Zautodiff=Enable" cargo +nightly run --release   # lto = "fat"
  mlirboot rust enable-autodiff --undo                # remove exactly what it added
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "rust",
        help="Rust integration: std::autodiff on mlirboot's Enzyme",
        description="Rust integration: std::autodiff on mlirboot's Enzyme.",
        epilog="examples:\n  mlirboot rust enable-autodiff --toolchain build/toolchain\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(
        dest="rust_command", metavar="ACTION", required=True, parser_class=type(parser)
    )
    enable = actions.add_parser(
        "enable-autodiff",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_toolchain_args(enable, "")
    who = enable.add_mutually_exclusive_group()
    who.add_argument(
        "--rust-toolchain",
        metavar="NAME",
        help="the rustup toolchain to use (default: nightly; runs `rustc +NAME`)",
    )
    who.add_argument("--rustc", metavar="PATH", help="this rustc binary instead of rustup's")
    enable.add_argument(
        "--overlay",
        metavar="DIR",
        type=Path,
        help="make DIR a sysroot of symlinks to the rustc's own plus libEnzyme, "
        "for `--sysroot DIR`; the rustc's files stay untouched",
    )
    enable.add_argument(
        "--undo", action="store_true", help="remove exactly what an earlier run added"
    )
    add_json_arg(enable)
    enable.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..ship import rust_autodiff as ad

    rustc = ad.inspect(ad.rustc_command(args.rust_toolchain, args.rustc))
    if args.undo:
        removed = ad.undo(rustc, args.overlay)
        if args.json:
            print(json.dumps({"removed": removed}, indent=2))
        else:
            for removed_path in removed:
                print(f"removed {removed_path}")
        return 0
    from ..errors import UsageError
    from ..manifest import Manifest, locate
    from .common import toolchain_from_args

    path = locate(toolchain_from_args(args))
    if path is None:
        raise UsageError(
            "no toolchain found",
            where="rust enable-autodiff",
            hint="pass --toolchain PREFIX (a toolchain built with enzyme.rustc=true)",
        )
    report = ad.enable(Manifest.load(path), rustc, args.overlay)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    toolchain = args.rustc or f"+{args.rust_toolchain or 'nightly'}"
    print(f"installed {report['library']} (linked against rustc {rustc.release}'s LLVM)")
    print("a crate using std::autodiff then needs, in Cargo.toml:")
    print("  " + str(report["cargo_profile"]).strip().replace("\n", "\n  "))
    print("and builds with (opt-level >= 1; --release has 3):")
    cargo = "cargo" if args.rustc else f"cargo {toolchain}"
    print(f'  RUSTFLAGS="{report["rustflags"]}" {cargo} run --release')
    return 0
