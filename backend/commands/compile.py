"""`mlirboot compile PROG.mlir --target T -o OUT`."""

from __future__ import annotations

import argparse
import json

from .common import add_compile_options, compile_args

EPILOG = """\
examples:
  mlirboot compile examples/matmul.mlir -o matmul.art          # the host CPU
  mlirboot compile examples/matmul.mlir --target nvidia --arch sm_90 -o out --json
  mlirboot compile prog.mlir --target tpu --print-pipeline     # the passes, nothing compiled
  mlirboot compile prog.mlir -B /scratch/tc --opt-report -o out
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compile",
        help="compile an MLIR program for a target",
        description="Compile an MLIR program (split host/device) for a "
        "target into an artifact directory.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_compile_options(parser)
    parser.add_argument("-o", "--output", dest="out", help="artifact directory to write")
    parser.add_argument(
        "--emit",
        choices=("artifact", "sharedlib", "staticlib"),
        default="artifact",
        help="also write the entry as lib<entry>.so (sharedlib) or lib<entry>.a (staticlib), "
        "with a C header <entry>.h and a Rust binding <entry>.rs, into the artifact dir "
        "(host targets; default: the artifact only)",
    )
    parser.add_argument(
        "--print-pipeline",
        action="store_true",
        help="print the target's pipeline and exit (or compile with -o)",
    )
    parser.add_argument(
        "--opt-report",
        action="store_true",
        help="print what was recognized and rewritten (file:line:col: what), "
        "then per-stage times and op counts",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from ...bootstrap.commands.common import toolchain_from_args
    from ...bootstrap.errors import UsageError
    from .. import resident

    if args.out:
        # Before the rest of the backend is imported: a head start.
        resident.start(toolchain_from_args(args))
    from ..driver import compile_program, opt_report
    from ..pipeline import default_target, load

    if args.print_pipeline:
        pipeline = load(args.target or default_target())
        conditions = frozenset(
            name
            for name, on in (
                ("grad", args.grad),
                ("blas", args.blas),
                ("staticlib", args.emit == "staticlib"),
            )
            if on
        )
        if args.json:
            print(json.dumps(pipeline.to_json(args.opt, conditions), indent=2))
        else:
            print(pipeline.render(args.opt, conditions))
        if not args.out:
            return 0
    if not args.out:
        raise UsageError("no output directory", where="compile", hint="pass -o OUT")
    artifact = compile_program(args.program, out=args.out, emit=args.emit, **compile_args(args))
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": str(artifact.path),
                    "files": {k: str(v) for k, v in artifact.files.items()},
                    **{
                        k: artifact.meta.get(k)
                        for k in ("target", "arch", "opt", "info", "grad", "compile_cache")
                    },
                    # Per-stage seconds and top ops (of the compile that made it, if cached).
                    # `merged_into: N`: the stage ran in stage N's mlir-opt process,
                    # whose `seconds` are the whole run's (this stage's are 0).
                    "stages": artifact.meta["stages"],
                    **({"remarks": artifact.meta.get("remarks", [])} if args.opt_report else {}),
                },
                indent=2,
            )
        )
    else:
        print(f"wrote {artifact.path} ({artifact.target}, -{artifact.meta['opt']})")
        grad = artifact.meta.get("grad")
        if grad:
            print(
                f"  gradient of @{grad['entry']} ({grad['loss']}) w.r.t. arguments "
                f"{grad['wrt']} by {grad['engine']}"
            )
        for name, path in sorted(artifact.files.items()):
            print(f"  {name:<18} {path}")
    if args.opt_report and not args.json:
        print(opt_report(artifact.meta))
    return 0
