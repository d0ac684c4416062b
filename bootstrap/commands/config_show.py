"""mlirboot config show"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_build_dir_arg, add_config_args, add_json_arg

HELP = "inspect the resolved config"
SHOW_EPILOG = """\
examples:
  mlirboot config show                          # ./mlirboot.yaml over the built-ins
  mlirboot config show --target tpu --set llvm.assertions=true --json
  mlirboot config show -B build                 # what ./build was configured with
"""
SCHEMA_EPILOG = """\
examples:
  mlirboot config schema > mlirboot.schema.json
  # then in mlirboot.yaml: # yaml-language-server: $schema=mlirboot.schema.json
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "config",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog="examples:\n  mlirboot config show --json\n"
        "  mlirboot config schema > mlirboot.schema.json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(
        dest="config_command", metavar="ACTION", parser_class=type(parser)
    )
    show = actions.add_parser(
        "show",
        help="every resolved value and the layer (file:line) it came from",
        description="Print every resolved setting with the layer that set it: built-in "
        "(configs/toolchain.yaml), the profile, mlirboot.yaml/--config, the command line, --set.",
        epilog=SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_args(show)
    add_build_dir_arg(
        show,
        default=None,
        help="show instead the config this build dir was "
        "configured with (its config.resolved.yaml; layer: configured)",
    )
    add_json_arg(show)
    show.set_defaults(func=run_show)
    schema = actions.add_parser(
        "schema",
        help="print the JSON Schema of mlirboot.yaml",
        description="Print the JSON Schema of mlirboot.yaml (always JSON; the same text as "
        "configs/mlirboot.schema.json).",
        epilog=SCHEMA_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.set_defaults(func=run_schema)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict) and value:
        out = []
        for key, sub in value.items():
            out.extend(_leaves(sub, (*path, key)))
        return out
    return [(path, value)]


def run_show(args: argparse.Namespace) -> int:
    from ..schema import to_data
    from ..yamlsrc import dotted
    from .common import resolve_from_args

    if args.build_dir is not None:
        rows = _configured_rows(args)
    else:
        resolved = resolve_from_args(args)
        rows = []
        for path, value in _leaves(to_data(resolved.config)):
            layer, loc = _origin(resolved.origin, path)
            rows.append({"key": dotted(path), "value": value, "layer": layer, "where": loc})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["key"]) for r in rows)
    for row in rows:
        value = json.dumps(row["value"])
        print(f"{row['key']:<{width}}  {value}  # {row['layer']} ({row['where']})")
    return 0


def _configured_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    import yaml

    from ..errors import UsageError
    from ..filenames import RESOLVED_YAML
    from ..yamlsrc import dotted

    if args.target or args.profile or args.config or args.sets:
        raise UsageError(
            "-B shows a configured build dir; layers cannot be added to it",
            where="config show",
            hint="drop -B to resolve with --target/--profile/--config/--set",
        )
    path = args.build_dir / RESOLVED_YAML
    try:
        data = yaml.safe_load(path.read_text())
    except OSError:
        raise UsageError(
            f"no {RESOLVED_YAML} in {args.build_dir}",
            where=str(path),
            hint=f"run `mlirboot configure -B {args.build_dir}` first",
        ) from None
    except yaml.YAMLError as err:
        raise UsageError(
            f"{RESOLVED_YAML} is not YAML ({err})",
            where=str(path),
            hint="re-run `mlirboot configure`",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{RESOLVED_YAML} is not a mapping", where=str(path), hint="re-run `mlirboot configure`"
        )
    return [
        {"key": dotted(p), "value": v, "layer": "configured", "where": str(path)}
        for p, v in _leaves(data)
    ]


def _origin(origin: dict, path: tuple) -> tuple[str, str]:
    """The layer that wrote exactly this leaf. Not an ancestor's: a layer that
    wrote `llvm.assertions` did not set `llvm.cmake`, nor did the file that
    wrote `sources.llvm.tarball` set its unwritten `strip`."""
    found = origin.get(tuple(path))
    return (found[0], str(found[1])) if found else ("default", "model default")


def run_schema(args: argparse.Namespace) -> int:
    from ..schema_file import schema_text

    print(schema_text(), end="")
    return 0
