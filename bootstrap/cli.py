"""`mlirboot` command line: dispatches to subcommand modules and turns
`MlirbootError` into one line on stderr and the right exit code."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from typing import NoReturn

from . import __version__, interrupts
from .commands.common import add_verbosity_args
from .errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, BuildError, MlirbootError

# What `interrupts.exit_code` returns: 128 + the signal, as a shell reports it.
EXIT_SIGHUP = 128 + signal.SIGHUP
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM

# Subcommand modules, in the order `--help` lists them.
COMMAND_MODULES = [
    # toolchain: plan it, get it, check it
    "mlirboot.bootstrap.commands.targets",
    "mlirboot.bootstrap.commands.configure",
    "mlirboot.bootstrap.commands.config_show",
    "mlirboot.bootstrap.commands.plan_graph",
    "mlirboot.bootstrap.commands.provision",
    "mlirboot.bootstrap.commands.fetch",
    "mlirboot.bootstrap.commands.build",
    "mlirboot.bootstrap.commands.doctor",
    # backend: use it
    "mlirboot.backend.commands.compile",
    "mlirboot.backend.commands.run",
    # ship it
    "mlirboot.bootstrap.commands.package",
    "mlirboot.bootstrap.commands.install",
    "mlirboot.bootstrap.commands.container",
    "mlirboot.bootstrap.commands.rustc_config",
    "mlirboot.bootstrap.commands.rust",
    # the shell
    "mlirboot.bootstrap.commands.completion",
]

DESCRIPTION = """\
Declarative builds of an LLVM 22 toolchain (LLVM, MLIR, clang, lld, the offload
runtimes, Enzyme; StableHLO + PJRT for TPU) for ML accelerators, and a backend
that compiles split host/device programs with it.

typical session:
  mlirboot targets                        # what can be built
  mlirboot provision --target host        # the distribution's LLVM 22 (as root)
  mlirboot configure --target nvidia,amd  # resolve config, write CMake caches + plan
  mlirboot build                          # build what the system lacks; write the manifest
  mlirboot run examples/matmul.mlir --target offload-host -i a.npy -i b.npy --output c.npy

flags every command shares (given after the command; -v/-q also before it):
  -B/--build-dir DIR  --toolchain PREFIX  --json  -v/--verbose  -q/--quiet  -n/--dry-run
  (`mlirboot COMMAND --help` lists the ones that command takes)
"""

EPILOG = f"""\
exit status:
  {EXIT_OK}  ok
  {EXIT_FAILURE}  a build, compile or run failed; `doctor` found something missing;
     an internal error or an OS error (disk full, permission denied)
  {EXIT_USAGE}  bad input or usage: arguments, config, program, a missing plan or
     toolchain; `provision` not run as root (it prints the command to run)
  {EXIT_SIGINT} interrupted (Ctrl-C); {EXIT_SIGTERM} terminated (SIGTERM);
  {EXIT_SIGHUP} hung up (SIGHUP): 128 + the signal, the running tool's process tree
     stopped first

shell completion: mlirboot completion bash|zsh (see `mlirboot completion --help`)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse exits 2 already; keep one line
        print(f"mlirboot: error: {message} (hint: `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mlirboot",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mlirboot {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command run")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only errors and the final result: no progress or info lines",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for command in subcommand_parsers(parser).values():
        add_verbosity_args(command)
    parser.set_defaults(root_parser=parser)  # for `mlirboot completion`
    return parser


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every (nested) subcommand's parser by its words: {"build": ..., "config show": ...}."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(p: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found[" ".join((*words, name))] = child
                    walk(child, (*words, name))

    walk(parser, ())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose and args.quiet:
        parser.error("-v/--verbose and -q/--quiet contradict each other; pick one")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING,
        format="mlirboot: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        # SIGTERM/SIGHUP unwind every command like Ctrl-C: the tool running
        # (mlir-opt, clang, a compiled program under `run`) is stopped and
        # temp dirs are removed on the way out.
        interrupts.raise_on_sigterm()
        return int(args.func(args) or 0)
    except MlirbootError as err:
        if getattr(args, "json", False):
            print(json.dumps(err.to_json(), indent=2))
        for line in err.lines():  # one line per error: several for a config's errors
            print(f"mlirboot: error: {line}", file=sys.stderr)
        if isinstance(err, BuildError) and err.details:
            print(err.details, file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:
        print("mlirboot: interrupted", file=sys.stderr)
        return interrupts.exit_code(err)
    except OSError as err:  # the environment refused something no check foresaw
        where = f"{err.filename}: " if err.filename else ""
        print(
            f"mlirboot: error: {where}{err.strerror or err} (hint: check the path, its "
            "permissions and free space)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except Exception as err:  # a bug: still one line; -v shows the traceback
        if args.verbose:
            raise
        print(
            f"mlirboot: error: internal error: {type(err).__name__}: {err} (hint: please "
            "report this; rerun with -v for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
