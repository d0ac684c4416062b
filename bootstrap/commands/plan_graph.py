"""mlirboot plan: the configured plan's components, as a list or a graph."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import add_build_dir_arg, add_json_arg

if TYPE_CHECKING:
    from ..engine.planfile import Plan

HELP = "show the configured plan's components and their dependencies (--graph)"
EPILOG = """\
Reads <build-dir>/plan.json (written by `mlirboot configure`). Nodes are
components (name, version, system-provided or built); an arrow goes from a
component to each one built on it. Built components are boxes, system ones
dashed ellipses (Mermaid: rounded), pip packages parallelograms.

examples:
  mlirboot plan                              # components in build order
  mlirboot plan --graph                      # Graphviz dot on stdout
  mlirboot plan --graph mermaid              # Mermaid, for Markdown
  mlirboot plan --output plan.svg            # rendered by Graphviz `dot` (.svg, .png)
  mlirboot plan --json                       # components and dependencies for scripts
"""
RENDERED = {".svg": "svg", ".png": "png"}
TEXT = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid"}
INSTALL_HINT = "apt-get install graphviz"
FORMATS = ("dot", "mermaid")  # plangraph.FORMATS, without importing it for --help


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "plan",
        help=HELP,
        description=HELP.capitalize() + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_build_dir_arg(
        parser,
        help="the dir `mlirboot configure` wrote (default: build)",
    )
    parser.add_argument(
        "--graph",
        nargs="?",
        const="dot",
        choices=FORMATS,
        default=None,
        help="print the component graph as Graphviz dot (default) or Mermaid",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="write the graph to FILE: .svg/.png rendered by Graphviz `dot`, "
        ".dot/.gv dot text, .mmd Mermaid text",
    )
    add_json_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..engine import planfile
    from ..plangraph import render

    plan = planfile.load(args.build_dir.resolve())
    if args.json and args.output is None and not args.graph:
        print(
            json.dumps(
                {
                    "components": [
                        {
                            "name": c.name,
                            "version": c.version,
                            "action": c.action,
                            "depends_on": list(c.depends_on),
                        }
                        for c in plan.components
                    ]
                },
                indent=2,
            )
        )
        return 0
    if args.output is None:
        text = render(plan, args.graph) if args.graph else _listing(plan)
        print(text, end="")
        return 0
    out: Path = args.output
    suffix = out.suffix.lower()
    rendered = RENDERED.get(suffix)
    fmt = args.graph or TEXT.get(suffix, "dot")
    _check_output(out, suffix, fmt, rendered)
    if rendered is None:
        from ..fsutil import atomic_write_text

        atomic_write_text(out, render(plan, fmt))
    else:
        _render_with_dot(render(plan, "dot"), out, rendered)
    print(out)
    return 0


def _check_output(out: Path, suffix: str, fmt: str, rendered: str | None) -> None:
    from .. import proc
    from ..errors import UsageError
    from ..fsutil import check_writable_parent

    if rendered is None and suffix not in TEXT:
        raise UsageError(
            f"cannot tell the graph format from {out.name!r}",
            where="plan --output",
            hint="name it FILE.svg, .png (rendered), .dot, .gv or .mmd",
        )
    if rendered is not None and fmt != "dot":
        raise UsageError(
            f"{suffix} files are rendered from the dot graph, not {fmt}",
            where="plan --output",
            hint="drop --graph mermaid, or write FILE.mmd",
        )
    if rendered is None and TEXT[suffix] != fmt:
        raise UsageError(
            f"{suffix} is for {TEXT[suffix]} text, not {fmt}",
            where="plan --output",
            hint=f"name it FILE{'.mmd' if fmt == 'mermaid' else '.dot'}",
        )
    if rendered is not None and proc.which("dot") is None:
        raise UsageError(
            f"Graphviz `dot` is not installed; it renders {suffix} files",
            where="plan --output",
            hint=f"{INSTALL_HINT}, or print the text with `mlirboot plan --graph`",
        )
    check_writable_parent(out, "plan --output")


def _render_with_dot(dot_text: str, out: Path, fmt: str) -> None:
    import os

    from .. import proc
    from ..fsutil import staging_file

    out = out.absolute()
    fd, tmp = staging_file(out.parent, ".mlirboot-plan-", out.suffix)
    os.close(fd)
    try:
        proc.run(
            ["dot", f"-T{fmt}", "-o", str(tmp)],
            stage="plan --output",
            input=dot_text,
            hint=f"Graphviz `dot` could not render {out.name}",
        )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _listing(plan: Plan) -> str:
    rows = [
        (
            c.name,
            c.version or "?",
            "system" if c.action == "system" else f"built ({c.action})",
            ", ".join(c.depends_on),
        )
        for c in plan.components
    ]
    width = [max(len(r[i]) for r in rows) for i in range(3)] if rows else [0, 0, 0]
    lines = []
    for name, version, kind, deps in rows:
        line = f"{name:<{width[0]}}  {version:<{width[1]}}  {kind:<{width[2]}}"
        lines.append((line + (f"  after: {deps}" if deps else "")).rstrip())
    return "\n".join(lines) + ("\n" if lines else "")
