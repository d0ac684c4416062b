"""The component graph of a plan as Graphviz dot or Mermaid text
(`mlirboot plan --graph`). Pure functions over `engine.planfile.Plan`.

Nodes are components, labelled name, version, action; an arrow goes from a
component to each one that depends on it (build order runs down the page).
Built components (cmake) are boxes, system-provided ones dashed ellipses
(Mermaid: stadiums), pip packages parallelograms. Nodes and edges are sorted
by name, so one plan always gives the same text.
"""

from __future__ import annotations

import re

from .engine.planfile import Component, Plan

FORMATS = ("dot", "mermaid")

_DOT_STYLE = {
    "cmake": 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
    "system": 'shape=ellipse, style="dashed"',
    "pip": 'shape=parallelogram, style="filled", fillcolor="#fef3c7"',
}
# Mermaid: node shape brackets and a class per action.
_MERMAID_SHAPE = {"cmake": ("[", "]"), "system": ("([", "])"), "pip": ("[/", "/]")}
_MERMAID_CLASS = {
    "cmake": "fill:#dbeafe,stroke:#1e40af",
    "system": "fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 5",
    "pip": "fill:#fef3c7,stroke:#92400e",
}


def edges(plan: Plan) -> list[tuple[str, str]]:
    """(dependency, dependent) pairs, sorted."""
    return sorted({(dep, c.name) for c in plan.components for dep in c.depends_on})


def _nodes(plan: Plan) -> list[Component]:
    return sorted(plan.components, key=lambda c: c.name)


def _label_lines(comp: Component) -> list[str]:
    kind = "system" if comp.action == "system" else f"built ({comp.action})"
    return [comp.name, comp.version or "?", kind]


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(plan: Plan) -> str:
    lines = [
        "digraph plan {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    for comp in _nodes(plan):
        label = "\\n".join(x.replace("\\", "\\\\").replace('"', '\\"') for x in _label_lines(comp))
        style = _DOT_STYLE.get(comp.action, "shape=box")
        lines.append(f'  {_dot_quote(comp.name)} [label="{label}", {style}];')
    for dep, comp_name in edges(plan):
        lines.append(f"  {_dot_quote(dep)} -> {_dot_quote(comp_name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid_ids(plan: Plan) -> dict[str, str]:
    """A Mermaid-safe id per component name (letters, digits, `_`), unique."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for comp in _nodes(plan):
        base = "c_" + re.sub(r"\W", "_", comp.name)
        ident, n = base, 2
        while ident in used:
            ident, n = f"{base}_{n}", n + 1
        used.add(ident)
        ids[comp.name] = ident
    return ids


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(plan: Plan) -> str:
    ids = mermaid_ids(plan)
    lines = ["graph TD"]
    for comp in _nodes(plan):
        left, right = _MERMAID_SHAPE.get(comp.action, ("[", "]"))
        label = "<br/>".join(_mermaid_text(x) for x in _label_lines(comp))
        lines.append(f'  {ids[comp.name]}{left}"{label}"{right}')
    for dep, comp_name in edges(plan):
        lines.append(f"  {ids[dep]} --> {ids[comp_name]}")
    actions = sorted({c.action for c in plan.components})
    for action in actions:
        if action in _MERMAID_CLASS:
            lines.append(f"  classDef {action} {_MERMAID_CLASS[action]}")
    for action in actions:
        members = [ids[c.name] for c in _nodes(plan) if c.action == action]
        if action in _MERMAID_CLASS and members:
            lines.append(f"  class {','.join(members)} {action}")
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str) -> str:
    return to_dot(plan) if fmt == "dot" else to_mermaid(plan)
