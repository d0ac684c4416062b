"""Options shared by `compile` and `run` (imports stay light: `mlirboot
configure` must start fast)."""

from __future__ import annotations

import argparse

from .. import pipelines


def add_compile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", help="MLIR file (for `run`: or a compiled artifact dir)")
    parser.add_argument(
        "--target",
        "-t",
        metavar="TARGET",
        help=f"one of {', '.join(pipelines.names())} (default: the host CPU)",
    )
    parser.add_argument(
        "--arch",
        help="device architecture, one of the target's archs.known in "
        "configs/targets/*.yaml (`mlirboot targets` lists them)",
    )
    parser.add_argument("--entry", help="entry function (default: the only public func)")
    for level in range(4):
        parser.add_argument(f"-O{level}", dest="opt", action="store_const", const=f"O{level}")
    parser.set_defaults(opt="O2")
    parser.add_argument("--save-temps", metavar="DIR", help="keep every stage's IR and logs")
    parser.add_argument("--toolchain", metavar="PATH", help="toolchain.json or its prefix")
    parser.add_argument(
        "--build-dir",
        "-B",
        metavar="DIR",
        help="without --toolchain: the toolchain this build dir's plan installs "
        "(default: $MLIRBOOT_TOOLCHAIN, else ./build/toolchain, else the system LLVM 22)",
    )
    parser.add_argument(
        "--pjrt-plugin",
        metavar="tpu|cpu|PATH",
        help="tpu target: the PJRT plugin to run with (default: libtpu)",
    )
    parser.add_argument(
        "--grad",
        metavar="ENTRY",
        help="compile ENTRY's gradient through Enzyme: d(sum of ENTRY's "
        "results)/d(each argument), one array per argument",
    )
    parser.add_argument(
        "--wrt",
        metavar="I,J,...",
        help="with --grad: differentiate only these argument indices (0-based)",
    )
    parser.add_argument(
        "--blas",
        action="store_true",
        help="host/offload-host: matmuls call OpenBLAS (libopenblas-dev) "
        "instead of the generated kernel",
    )
    parser.add_argument(
        "--no-cache",
        dest="use_cache",
        action="store_false",
        help="compile even if the compile cache holds this compile "
        "(or set MLIRBOOT_COMPILE_CACHE=off)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def compile_args(args: argparse.Namespace) -> dict:
    from ...bootstrap.commands.common import toolchain_from_args

    options = {}
    if getattr(args, "pjrt_plugin", None):
        options["pjrt_plugin"] = args.pjrt_plugin
    return {
        "target": args.target,
        "arch": args.arch,
        "entry": args.entry,
        "opt": args.opt,
        "save_temps": args.save_temps,
        "toolchain": toolchain_from_args(args),
        "options": options,
        "grad": getattr(args, "grad", None),
        "wrt": getattr(args, "wrt", None),
        "blas": bool(getattr(args, "blas", False)),
        "use_cache": getattr(args, "use_cache", True),
    }
