"""YAML loading that remembers where every key came from (file:line), so a
bad value can be reported at its exact location."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

try:  # the C loader is several times faster; fall back when libyaml is absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True)
class Loc:
    """Where a value was written: file and 1-based line (0 when not from a file)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


KeyPath = tuple[str | int, ...]


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def load_yaml(path: Path, label: str | None = None) -> tuple[Any, dict[KeyPath, Loc]]:
    """Parse `path`; return the data and a map from key path to location."""
    name = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "config file does not exist", where=name, hint="check the path given to --config"
        ) from None
    except OSError as err:
        raise ConfigError(f"cannot read config file: {err.strerror}", where=name) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> tuple[Any, dict[KeyPath, Loc]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else 0
        problem = err.problem or err.context or "malformed YAML"
        if err.context and err.context_mark and err.context_mark.line + 1 != line:
            # e.g. an unclosed [ is found lines later: name where it opened.
            problem += f" ({err.context} at line {err.context_mark.line + 1})"
        raise ConfigError(
            f"malformed YAML: {problem}",
            where=str(Loc(name, line)),
            hint="check indentation and quoting near that line",
        ) from None
    locs: dict[KeyPath, Loc] = {}
    if node is None:
        return {}, locs
    return _convert(node, (), name, locs), locs


def _convert(node: yaml.Node, path: KeyPath, name: str, locs: dict[KeyPath, Loc]) -> Any:
    locs[path] = Loc(name, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise ConfigError(
                    f"duplicate key `{key}`",
                    where=str(Loc(name, key_node.start_mark.line + 1)),
                    hint="each key may appear once per mapping",
                )
            child = (*path, key)
            out[key] = _convert(value_node, child, name, locs)
            # Point at the key's line, which is where a reader looks.
            locs[child] = Loc(name, key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), name, locs) for i, item in enumerate(node.value)]
    return _scalar(node)


_constructor = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    return _constructor.construct_object(node, deep=True)
