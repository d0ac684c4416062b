"""mlirboot config show"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_config_args, add_json_arg

HELP = "inspect the resolved config"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help=HELP, description=HELP.capitalize() + ".")
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION",
                                    parser_class=type(parser))
    show = actions.add_parser(
        "show", help="every resolved value and the layer (file:line) it came from",
        description="Print every resolved setting with the layer that set it: built-in "
        "(configs/toolchain.yaml), the profile, mlirboot.yaml/--config, the command line, --set.")
    add_config_args(show)
    add_json_arg(show)
    show.set_defaults(func=run_show)
    schema = actions.add_parser("schema", help="print the JSON Schema of mlirboot.yaml")
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


def _origin(origin: dict, path: tuple) -> tuple[str, str]:
    from ..config import origin_of

    found = origin_of(origin, path)
    return (found[0], str(found[1])) if found else ("default", "model default")


def run_schema(args: argparse.Namespace) -> int:
    from ..schema_file import schema_text

    print(schema_text(), end="")
    return 0
