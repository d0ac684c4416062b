"""`mlirboot run PROG.mlir --target T --input a.npy ... [--output out.npy | INDEX=FILE]`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import add_compile_options, compile_args

EPILOG = """\
examples:
  mlirboot run examples/matmul.mlir -i a.npy -i b.npy --output c.npy
  mlirboot run examples/matmul.mlir --target offload-host -i a.npy -i b.npy --info
  mlirboot run matmul.art -i a.npy -i b.npy --json        # an artifact `compile -o` wrote
  mlirboot run examples/matmul.mlir -i a.npy -i b.npy --threads 2
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="compile (or load) and run a program on .npy inputs",
        description="Run a program's entry on .npy inputs. Results are "
        "written in order by --output FILE; an argument the entry writes "
        "into by --output INDEX=FILE.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_compile_options(parser)
    parser.add_argument("--input", "-i", action="append", default=[], metavar="FILE.npy")
    parser.add_argument("--output", action="append", default=[], metavar="FILE|INDEX=FILE")
    parser.add_argument(
        "--info", action="store_true", help="offload targets: print the runtime's mapping report"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="host/offload-host: threads the parallel loops run on "
        "(default: $OMP_NUM_THREADS, else one per core)",
    )
    parser.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    import sys
    import tempfile

    import numpy as np

    from ...bootstrap.errors import UsageError
    from .. import outputs as out_files
    from ..artifact import Artifact
    from ..driver import compile_program
    from ..inputs import load_npy

    for spec in args.output:
        if not (spec.partition("=")[2] if _indexed(spec) else spec).strip():
            raise UsageError(
                "no file name", where=f"--output {spec!r}", hint="e.g. --output c.npy or 2=c.npy"
            )
    if args.threads is not None and args.threads < 1:
        raise UsageError(
            f"--threads must be at least 1, got {args.threads}",
            where=f"--threads {args.threads}",
            hint="e.g. --threads 2 (leave it out for one per core)",
        )
    inputs = [load_npy(Path(name)) for name in args.input]
    out_files.check_new_files(
        [
            (
                out_files.npy_path(spec.partition("=")[2] if _indexed(spec) else spec),
                f"--output {spec}",
            )
            for spec in args.output
        ]
    )
    with tempfile.TemporaryDirectory(prefix="mlirboot-run-") as tmp:
        program = Path(args.program)
        if program.is_dir():
            artifact = Artifact.load(program)
            _check_artifact_matches(artifact, args)
        else:
            artifact = compile_program(program, out=Path(tmp) / "artifact", **compile_args(args))
        # In its own process: a crash in the compiled code is one clear error.
        outputs = artifact.run(
            *inputs,
            info=args.info,
            pjrt_plugin=args.pjrt_plugin,
            names=list(args.input),
            isolated=True,
            threads=args.threads,
        )
        sig = artifact.signature
        if args.info and artifact.last_log:
            print(artifact.last_log, file=sys.stderr, end="")
        written = {}
        pending = []
        positional = 0
        for spec in args.output:
            index_text, _, path = spec.partition("=")
            if _indexed(spec):
                if not index_text.isdigit() or int(index_text) >= len(sig.args):
                    raise UsageError(
                        f"no argument {index_text}",
                        where=f"--output {spec}",
                        hint=f"@{sig.entry} has arguments 0..{len(sig.args) - 1}",
                    )
                value = outputs[int(index_text)] if not sig.results else None
                if value is None:
                    raise UsageError(
                        "INDEX=FILE names an argument the entry writes into; "
                        "this entry returns results",
                        where=f"--output {spec}",
                        hint="use --output FILE for results",
                    )
            else:
                path = spec
                if positional >= len(outputs if sig.results else []):
                    raise UsageError(
                        f"@{sig.entry} has only {len(sig.results)} results",
                        where=f"--output {spec}",
                        hint="use INDEX=FILE",
                    )
                value = outputs[positional]
                positional += 1
            pending.append((out_files.npy_path(path), value))
        # Every spec checked before the first file is written.
        for target, value in pending:
            with open(target, "xb") as dst:  # checked new above; never overwrite
                np.save(dst, value)
            written[str(target)] = list(value.shape)
    grad = artifact.meta.get("grad")
    if args.json:
        print(
            json.dumps(
                {
                    "target": artifact.target,
                    "outputs": written,
                    **(
                        {"grad": {k: grad[k] for k in ("entry", "wrt", "loss", "engine")}}
                        if grad
                        else {}
                    ),
                },
                indent=2,
            )
        )
    elif not written:
        for i, value in enumerate(outputs):
            # A gradient run's outputs are d loss / d argument, in --wrt order.
            label = f"gradient wrt argument {grad['wrt'][i]}" if grad else f"output {i}"
            print(f"{label}: {value.dtype}{list(value.shape)}\n{value}")
    return 0


def _indexed(spec: str) -> bool:
    """`INDEX=FILE` (an argument the entry writes into) rather than a file name."""
    index, sep, _ = spec.partition("=")
    return bool(sep) and index.strip().isdigit()


def _check_artifact_matches(artifact, args: argparse.Namespace) -> None:
    """Running a compiled artifact: compile options that disagree with it are
    an error, not silently ignored."""
    from ...bootstrap.errors import UsageError

    if args.target and args.target != artifact.target:
        raise UsageError(
            f"the artifact was compiled for {artifact.target}, not {args.target}",
            where=f"--target {args.target}",
            hint=f"drop --target, or compile for {args.target}: mlirboot compile PROG.mlir "
            f"--target {args.target} -o DIR",
        )
    if args.pjrt_plugin and not artifact.meta["files"].get("portable_artifact"):
        raise UsageError(
            f"the artifact was compiled for {artifact.target}, which does not run through "
            "a PJRT plugin",
            where=f"--pjrt-plugin {args.pjrt_plugin}",
            hint="drop --pjrt-plugin",
        )
    if args.arch and args.arch != artifact.meta.get("arch"):
        raise UsageError(
            f"the artifact was compiled for arch {artifact.meta.get('arch')}, not {args.arch}",
            where=f"--arch {args.arch}",
            hint="drop --arch, or compile again with it",
        )
