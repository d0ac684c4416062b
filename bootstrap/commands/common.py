"""Arguments shared by the commands that resolve a config."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_BUILD_DIR = Path("build")


def add_config_args(parser: argparse.ArgumentParser, *, targets: bool = True) -> None:
    group = parser.add_argument_group("config layers (lowest first: built-in, profile, "
                                      "mlirboot.yaml or --config, command line, --set)")
    if targets:
        group.add_argument("--target", "-t", metavar="T[,T...]",
                           help="accelerator targets, comma-separated (see `mlirboot targets`)")
    group.add_argument("--profile", "-p", metavar="P", help="release, debug, minimal, ...")
    group.add_argument("--config", "-c", metavar="FILE", type=Path,
                       help="user config file (default: ./mlirboot.yaml if present)")
    group.add_argument("--set", "-s", metavar="KEY=VALUE", action="append", default=[],
                       dest="sets", help="override one key, e.g. --set llvm.assertions=true "
                       "(repeatable; VALUE is YAML: [a, b], true, 4)")


def add_json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def parse_targets(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def resolve_from_args(args: argparse.Namespace):
    from ..config import resolve

    return resolve(
        config_file=args.config,
        targets=parse_targets(getattr(args, "target", None)),
        profile=args.profile,
        sets=args.sets,
    )

