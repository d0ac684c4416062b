"""Arguments shared by the commands that resolve a config."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_BUILD_DIR = Path("build")


def add_config_args(parser: argparse.ArgumentParser, *, targets: bool = True) -> None:
    group = parser.add_argument_group(
        "config layers (lowest first: built-in, profile, "
        "mlirboot.yaml or --config, command line, --set)"
    )
    if targets:
        group.add_argument(
            "--target",
            "-t",
            metavar="T[,T...]",
            help="accelerator targets, comma-separated (see `mlirboot targets`)",
        )
    group.add_argument("--profile", "-p", metavar="P", help="release, debug, minimal, ...")
    group.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        type=Path,
        help="user config file (default: ./mlirboot.yaml if present)",
    )
    group.add_argument(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="sets",
        help="override one key, e.g. --set llvm.assertions=true "
        "(repeatable; VALUE is YAML: [a, b], true, 4)",
    )


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


# -- the flags every subcommand shares (issue 15: one vocabulary) ------------


def add_build_dir_arg(
    parser: argparse.ArgumentParser,
    help: str | None = None,
    default: Path | None = DEFAULT_BUILD_DIR,
) -> None:
    parser.add_argument(
        "--build-dir",
        "-B",
        type=Path,
        default=default,
        metavar="DIR",
        help=help or "the build dir (default: ./build)",
    )


def add_dry_run_arg(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--dry-run", "-n", action="store_true", help=f"print {what}; change nothing on disk"
    )


def add_verbosity_args(parser: argparse.ArgumentParser) -> None:
    """-v/-q after the subcommand too. SUPPRESS: a subcommand that is not given
    them leaves the value `mlirboot -v ...` set before it alone."""
    names = {s for a in parser._actions for s in a.option_strings}
    if "-v" in names or "-q" in names:
        return
    group = parser.add_argument_group("output")
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log every command run (and show tracebacks of internal errors)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="only errors and the final result: no progress or info lines",
    )


def say(args: argparse.Namespace, *parts: object, **kwargs) -> None:
    """An info line: printed unless -q."""
    if not getattr(args, "quiet", False):
        print(*parts, **kwargs)


def add_toolchain_args(parser: argparse.ArgumentParser, fallback: str) -> None:
    """--toolchain PREFIX and -B DIR (the toolchain its plan names), for the
    commands that read a toolchain but build nothing; see toolchain_from_args."""
    from ..filenames import MANIFEST_JSON

    parser.add_argument(
        "--toolchain",
        metavar="PREFIX",
        help=f"toolchain prefix or its {MANIFEST_JSON} "
        f"(default: $MLIRBOOT_TOOLCHAIN, else ./build/toolchain{fallback})",
    )
    add_build_dir_arg(
        parser,
        default=None,
        help="find the toolchain through this build dir's plan (its prefix) "
        "when --toolchain is not given",
    )


def toolchain_from_args(args: argparse.Namespace) -> str | None:
    """--toolchain if given, else the prefix of -B's plan when -B was given,
    else None (the manifest's own search: $MLIRBOOT_TOOLCHAIN, ./build/toolchain)."""
    if getattr(args, "toolchain", None):
        return args.toolchain
    build_dir = getattr(args, "build_dir", None)
    if build_dir is None:
        return None
    from ..engine import planfile

    prefix = planfile.load_data_if_present(Path(build_dir).resolve()).get("prefix")
    return str(prefix) if prefix else str(Path(build_dir) / "toolchain")
