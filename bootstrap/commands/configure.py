"""mlirboot configure"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..engine.hostinfo import os_codename
from ..filenames import LOCK_JSON, PLAN_JSON, PRESETS_JSON, RESOLVED_YAML
from .common import (
    add_build_dir_arg,
    add_config_args,
    add_dry_run_arg,
    add_json_arg,
    resolve_from_args,
    say,
)

HELP = "resolve the config and write the build plan, lock file and CMake caches"
EPILOG = f"""\
writes into the build dir:
  {RESOLVED_YAML:<22} every setting after all layers
  {LOCK_JSON:<22} every source pinned (URL + sha256 or git commit), config hash;
  {"":<22} a local tree (MLIRBOOT_*_SOURCE): its git commit + dirty, or content hash
  <component>.cmake      CMake initial caches: cmake -G Ninja -C llvm.cmake <src>/llvm
  {PRESETS_JSON:<22} the same settings as configure presets
  {PLAN_JSON:<22} components, order, dependencies, what each installs

examples:
  mlirboot configure --target tpu
  mlirboot configure --target nvidia,amd --set archs.nvidia=[sm_90] --profile debug
  mlirboot configure --target host --set provider=source --build-dir /scratch/tc --json
  mlirboot configure --target amd --dry-run    # which files would change; none written
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "configure",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_build_dir_arg(
        parser,
        help="where the plan and caches go (default: ./build)",
    )
    parser.add_argument(
        "--prefix",
        type=Path,
        help="install prefix (default: prefix key, else <build-dir>/toolchain)",
    )
    add_config_args(parser)
    add_json_arg(parser)
    add_dry_run_arg(
        parser,
        "the files that would be written (new, changed, unchanged) "
        "and the stale caches that would be removed",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..configure import configure, write
    from ..locations import check_build_dir, check_prefix

    resolved = resolve_from_args(args)
    check_build_dir(args.build_dir)
    configured = configure(
        resolved,
        build_dir=args.build_dir,
        prefix=args.prefix,
        cwd=Path.cwd(),
        codename=os_codename(),
    )
    if args.prefix is not None:
        prefix_where = f"--prefix {args.prefix}"
    elif resolved.config.prefix is not None:
        prefix_where = resolved.where(("prefix",))
    else:
        prefix_where = "the default prefix <build-dir>/toolchain"
    check_prefix(Path(configured.plan.prefix), Path(configured.plan.build_dir), prefix_where)
    if args.dry_run:
        return _dry_run(configured, args)
    written = write(configured)
    plan = configured.plan
    if args.json:
        print(
            json.dumps(
                {
                    "targets": plan.targets,
                    "profile": resolved.config.profile,
                    "provider": plan.provider,
                    "build_dir": plan.build_dir,
                    "prefix": plan.prefix,
                    "archs": plan.archs,
                    "components": [
                        {
                            "name": c.name,
                            "action": c.action,
                            "version": c.version,
                            "depends_on": c.depends_on,
                            "cache_file": c.cache_file,
                        }
                        for c in plan.components
                    ],
                    "files": [str(p) for p in written],
                    "lock_hash": plan.lock_hash,
                },
                indent=2,
            )
        )
        return 0
    verb = {"cmake": "build", "system": "system", "pip": "pip"}
    say(
        args,
        f"configured {', '.join(plan.targets)} "
        f"(profile {resolved.config.profile}, provider {plan.provider})",
    )
    width = max(len(c.name) for c in plan.components)
    for comp in plan.components:
        say(args, f"  {comp.name:<{width}}  {verb[comp.action]:<6}  {comp.description}")
    for target, archs in plan.archs.items():
        say(args, f"  archs {target}: {', '.join(archs)}")
    print(f"wrote {len(written)} files to {plan.build_dir}; prefix {plan.prefix}")
    say(args, f"next: mlirboot build --build-dir {args.build_dir}")
    return 0


def _dry_run(configured, args: argparse.Namespace) -> int:
    from ..configure import _previous_cache_files

    build_dir = Path(configured.plan.build_dir)
    files = {}
    for name, text in configured.files.items():
        path = build_dir / name
        if not path.exists():
            files[str(path)] = "new"
        else:
            files[str(path)] = "unchanged" if path.read_text() == text else "changed"
    stale = sorted(
        str(build_dir / n) for n in _previous_cache_files(build_dir) - set(configured.files)
    )
    if args.json:
        print(
            json.dumps(
                {"dry_run": True, "build_dir": str(build_dir), "files": files, "remove": stale},
                indent=2,
            )
        )
        return 0
    print(f"would write {len(files)} files to {build_dir} (nothing is written):")
    for path, state in files.items():
        print(f"  {state:<9}  {path}")
    for path in stale:
        print(f"  {'remove':<9}  {path}")
    return 0
