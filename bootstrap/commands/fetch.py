"""mlirboot fetch"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_build_dir_arg, add_dry_run_arg, add_json_arg

HELP = "download, verify and unpack the sources the plan builds from"
EPILOG = """\
Sources land in the content-addressed cache ($MLIRBOOT_CACHE_DIR, else
~/.cache/mlirboot) and are shared by every build dir. A checksum mismatch
deletes the file and says expected vs got. A download that fails on the way
(connection reset, timeout, HTTP 5xx) is retried with backoff, resuming its
`.part` file with an HTTP Range request; a 404 fails at once. Progress
(bytes/total, rate) shows on stderr on a terminal or with -v, never with -q
or --json.

examples:
  mlirboot configure --target nvidia --set provider=source && mlirboot fetch
  mlirboot fetch llvm --print-path      # the unpacked LLVM monorepo, for scripts
  mlirboot fetch --dry-run              # what would be downloaded and unpacked, and where
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "fetch",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "components",
        nargs="*",
        metavar="COMPONENT",
        help="components whose source to fetch (default: every one built from source)",
    )
    add_build_dir_arg(parser)
    parser.add_argument(
        "--print-path", action="store_true", help="print only the source root(s), one per line"
    )
    add_json_arg(parser)
    add_dry_run_arg(parser, "what would be downloaded, verified and unpacked, and where")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..engine import fetch, planfile
    from ..engine.progress import download_meter
    from ..errors import UsageError
    from ..interrupts import raise_on_sigterm
    from ..schema import did_you_mean

    plan = planfile.load(args.build_dir)
    by_name = {c.name: c for c in plan.components}
    for name in args.components:
        if name not in by_name:
            raise UsageError(
                f"unknown component `{name}`",
                where="fetch",
                hint=did_you_mean(name, by_name)
                or "components in this plan: " + ", ".join(by_name),
            )
    chosen = [by_name[n] for n in args.components] or [
        c for c in plan.components if c.source is not None or c.source_env
    ]
    if args.components:
        for comp in chosen:
            if comp.action != "cmake":
                raise UsageError(
                    f"component `{comp.name}` has no source to fetch "
                    f"(it is a {comp.action} component)",
                    where="fetch",
                )
    if args.dry_run:
        return _dry_run(chosen, args)
    raise_on_sigterm()  # git/apt-get are stopped like ninja in `build`
    trees = {}
    checked: set[Path] = set()
    meter = download_meter(quiet=args.quiet, verbose=args.verbose, json=args.json)
    for comp in chosen:
        tree = fetch.resolve(
            comp, Path(plan.build_dir) / comp.name / "logs", checked=checked, meter=meter
        )
        trees[comp.name] = tree.path
    if args.json:
        print(json.dumps({name: str(path) for name, path in trees.items()}, indent=2))
    elif args.print_path:
        for path in dict.fromkeys(trees.values()):
            print(path)
    else:
        for name, path in trees.items():
            print(f"{name}: {path}")
    return 0


def _dry_run(chosen, args: argparse.Namespace) -> int:
    from ..engine.dryrun import source_plan

    rows = {comp.name: source_plan(comp) for comp in chosen}
    if args.json:
        print(json.dumps({"dry_run": True, "components": rows}, indent=2))
        return 0
    print(f"would fetch {len(rows)} source(s) (nothing is downloaded or written):")
    for name, row in rows.items():
        origin = row.get("url") or row.get("package") or row.get("tree") or ""
        pin = row.get("sha256") or row.get("commit") or ""
        print(f"  {name}: {row['kind']} {origin}" + (f" @ {pin}" if pin else ""))
        print(f"    {row['action']}" + (f" -> {row['tree']}" if row.get("tree") else ""))
    return 0
