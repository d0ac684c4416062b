"""`mlirboot build`: execute the plan `mlirboot configure` wrote."""

from __future__ import annotations

import argparse
import json
import sys

from ..filenames import MANIFEST_JSON, PLAN_JSON
from . import build_timeline
from .common import add_build_dir_arg, add_dry_run_arg

EPILOG = """\
examples:
  mlirboot build                      # everything in ./build/plan.json
  mlirboot build mlir -j 8 -k         # mlir and what it needs; keep going after a failure
  mlirboot build -B /scratch/tc --dry-run   # the steps and commands, nothing run
  mlirboot build -q --json > summary.json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="build the configured toolchain into its prefix",
        description="Fetch, configure, build, install and publish each component of the "
        f"plan in <build-dir>/{PLAN_JSON}, then write <prefix>/{MANIFEST_JSON}. Finished steps "
        "are not redone; a killed build resumes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "components",
        nargs="*",
        metavar="COMPONENT",
        help="build only these (and what they depend on)",
    )
    add_build_dir_arg(
        p,
        help="the dir `mlirboot configure` wrote (default: build)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        help="parallel jobs (default: from the plan, else cores limited by memory)",
    )
    p.add_argument(
        "-k",
        "--keep-going",
        action="store_true",
        help="after a failure, build the components that do not depend on it",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="if another build holds the build dir, wait for it instead of failing",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    build_timeline.add_args(p)
    add_dry_run_arg(
        p,
        "the components that would build, their steps and commands (a step "
        "whose stamp says done is marked)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config_model import MAX_JOBS
    from ..engine import planfile, progress
    from ..engine.lock import BuildLock
    from ..engine.runner import Engine, Options
    from ..errors import UsageError
    from ..interrupts import raise_on_sigterm

    if args.jobs is not None and not 1 <= args.jobs <= MAX_JOBS:
        raise UsageError(
            f"-j must be at least 1 and at most {MAX_JOBS}", where="build", hint="e.g. -j 4"
        )
    build_timeline.check(args)
    build_dir = args.build_dir.resolve()
    plan = planfile.load(build_dir)
    if args.dry_run:
        return _dry_run(plan, args)
    reporter = progress.Reporter(quiet=args.quiet)
    reporter.meter = progress.download_meter(quiet=args.quiet, verbose=args.verbose, json=args.json)
    # Unwind like Ctrl-C: the subprocess layer stops the running tool's tree.
    raise_on_sigterm()
    with BuildLock(build_dir) as lock:
        lock.acquire(
            wait=args.wait,
            on_wait=lambda pid: reporter.info(
                f"waiting for the build running as pid {pid} to finish"
            ),
        )
        engine = Engine(
            plan,
            Options(jobs=args.jobs, keep_going=args.keep_going, only=list(args.components)),
            reporter,
        )
        try:
            summary = engine.run()
        except BaseException:
            build_timeline.write(args, engine, reporter)  # what ran, then the error
            raise
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        ran = sum(1 for c in summary.components if "ran" in c.steps.values())
        print(
            f"mlirboot: built {len(summary.components)} component(s) ({ran} with work done) "
            f"in {summary.seconds:.1f}s; manifest: {summary.manifest}",
            file=sys.stderr,
        )
    build_timeline.write(args, engine, reporter)
    return 0


def _dry_run(plan, args: argparse.Namespace) -> int:
    from ..engine import dryrun, hostinfo
    from ..engine.progress import Reporter
    from ..engine.runner import Engine, Options

    engine = Engine(plan, Options(jobs=args.jobs, only=list(args.components)), Reporter())
    rows = dryrun.build_plan(
        plan, engine.selected(), args.jobs or plan.jobs or hostinfo.default_jobs()
    )
    if args.json:
        print(
            json.dumps({"dry_run": True, "prefix": str(plan.prefix), "components": rows}, indent=2)
        )
    else:
        print(dryrun.render_build(rows, plan.prefix))
    return 0
