"""mlirboot configure"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..engine.hostinfo import os_codename
from ..filenames import LOCK_JSON, PLAN_JSON, PRESETS_JSON, RESOLVED_YAML, USER_PRESETS_JSON
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
  {PRESETS_JSON:<22} the same settings as configure + build presets (absolute paths)
  {PLAN_JSON:<22} components, order, dependencies, what each installs
with --write-source-presets, into each built component's source dir:
  {USER_PRESETS_JSON:<22} includes the build dir's presets, so that from the source
  {"":<22} dir `cmake --preset <component>` works (CMake >= 3.23); only a file
  {"":<22} mlirboot wrote is rewritten, a user's is never touched

examples:
  mlirboot configure --target tpu
  mlirboot configure --target nvidia,amd --set archs.nvidia=[sm_90] --profile debug
  mlirboot configure --target host --set provider=source --build-dir /scratch/tc --json
  mlirboot configure --target amd --dry-run    # which files would change; none written
  mlirboot configure --write-source-presets && cd <passes source> && cmake --preset passes
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
    parser.add_argument(
        "--write-source-presets",
        action="store_true",
        help=f"also write {USER_PRESETS_JSON} into each built component's source dir, "
        f"including the build dir's {PRESETS_JSON} (never over a file mlirboot did not write)",
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
    from ..configure import configure, source_presets, write, write_source_presets
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
    # Checked before anything is written: a user's file there stops the run.
    user_presets = source_presets(configured) if args.write_source_presets else []
    if args.dry_run:
        return _dry_run(configured, user_presets, args)
    written = write(configured)
    write_source_presets(user_presets)
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
                    "source_presets": [_presets_row(p) for p in user_presets],
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
    for item in user_presets:
        state = f"skipped ({item.why})" if item.state == "skipped" else item.state
        print(f"  {USER_PRESETS_JSON} for {item.component}: {item.path} {state}")
    for item in user_presets:
        if item.state != "skipped":
            say(args, f"next: cd {item.path.parent} && cmake --preset {item.component}")
    say(args, f"next: mlirboot build --build-dir {args.build_dir}")
    return 0


def _presets_row(item) -> dict[str, str]:
    return {
        "component": item.component,
        "path": str(item.path),
        "state": item.state,
        **({"why": item.why} if item.why else {}),
    }


def _dry_run(configured, user_presets: list, args: argparse.Namespace) -> int:
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
                {
                    "dry_run": True,
                    "build_dir": str(build_dir),
                    "files": files,
                    "remove": stale,
                    "source_presets": [_presets_row(p) for p in user_presets],
                },
                indent=2,
            )
        )
        return 0
    print(f"would write {len(files)} files to {build_dir} (nothing is written):")
    for path, state in files.items():
        print(f"  {state:<9}  {path}")
    for path in stale:
        print(f"  {'remove':<9}  {path}")
    for item in user_presets:
        state = "skipped" if item.state == "skipped" else item.state
        print(f"  {state:<9}  {item.path}" + (f" ({item.why})" if item.why else ""))
    return 0
