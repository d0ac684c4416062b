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


# Bounds on what a config may make mlirboot do: a config is a few KiB; aliases
# may share values but not expand into millions of them ("billion laughs").
MAX_BYTES = 1 << 20
MAX_VALUES = 100_000
MAX_DEPTH = 64
# Plain YAML only: no merge keys (`<<`), no custom or exotic tags (`!include`).
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}"
    for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
)


def load_yaml(path: Path, label: str | None = None) -> tuple[Any, dict[KeyPath, Loc]]:
    """Parse `path`; return the data and a map from key path to location."""
    name = label or str(path)
    return parse_yaml(decode_utf8(read_bounded(path, name), name), name)


def read_bounded(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES (a FIFO or a device would hang)."""
    try:
        if not path.exists() and path.is_symlink():
            raise ConfigError(
                "config path is a symlink that leads nowhere (dangling or a loop)",
                where=name,
                hint="point --config at the YAML file itself",
            )
        if not path.exists():
            raise ConfigError(
                "config file does not exist", where=name, hint="check the path given to --config"
            )
        if path.is_dir():
            inside = path / "mlirboot.yaml"
            raise ConfigError(
                "config path is a directory, not a file",
                where=name,
                hint=f"pass {inside}" if inside.is_file() else "pass a YAML file",
            )
        if not path.is_file():
            raise ConfigError(
                "config path is not a regular file", where=name, hint="pass a YAML file"
            )
        with open(path, "rb") as src:
            data = src.read(MAX_BYTES + 1)
    except PermissionError:
        raise ConfigError(
            "cannot read config file: permission denied",
            where=name,
            hint="check its permissions (chmod u+r)",
        ) from None
    except OSError as err:
        raise ConfigError(
            f"cannot read config file: {err.strerror}", where=name, hint="pass a readable YAML file"
        ) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(
            f"config file is larger than {MAX_BYTES >> 20} MiB",
            where=name,
            hint="a config is a few KiB; is this the right file?",
        )
    return data


def decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            f"not UTF-8: byte 0x{data[err.start]:02x} at offset {err.start}",
            where=str(Loc(name, line)),
            hint="save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        ) from None


def parse_yaml(text: str, name: str, *, lines: bool = True) -> tuple[Any, dict[KeyPath, Loc]]:
    """`lines=False`: `name` is not a file (a --set value): locations without lines."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:  # undecodable bytes in argv arrive as surrogates
        raise ConfigError(
            f"not UTF-8: a byte that is not text at character {err.start}",
            where=name,
            hint="write the value as UTF-8 text",
        ) from None
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
            where=str(Loc(name, line if lines else 0)),
            hint="check indentation and quoting near that line",
        ) from None
    except yaml.YAMLError as err:  # the reader: control characters, bad encodings
        problem = str(err).splitlines()[0]
        position = getattr(err, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 0
        raise ConfigError(
            f"malformed YAML: {problem}",
            where=str(Loc(name, line if lines else 0)),
            hint="a config is plain UTF-8 text",
        ) from None
    locs: dict[KeyPath, Loc] = {}
    if node is None:
        return {}, locs
    return _Converter(name, locs, lines).convert(node, ()), locs


class _Converter:
    """Nodes to plain data, recording locations. Aliases are followed, but the
    expansion is bounded in size and depth, and a recursive alias is an error."""

    def __init__(self, name: str, locs: dict[KeyPath, Loc], lines: bool = True):
        self.name = name
        self.lines = lines
        self.locs = locs
        self.values = 0
        self.active: set[int] = set()  # nodes on the current path (alias cycles)

    def at(self, node: yaml.Node) -> str:
        return str(self.loc(node))

    def loc(self, node: yaml.Node) -> Loc:
        return Loc(self.name, node.start_mark.line + 1 if self.lines else 0)

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ConfigError(
                f"YAML expands to more than {MAX_VALUES} values",
                where=self.at(node),
                hint="aliases (*name) may not multiply a config this far",
            )
        if id(node) in self.active:
            raise ConfigError(
                "recursive alias: a value contains itself",
                where=self.at(node),
                hint="an alias (*name) must not point into its own anchor",
            )
        if len(path) > MAX_DEPTH:
            raise ConfigError(
                f"YAML nested deeper than {MAX_DEPTH} levels",
                where=self.at(node),
                hint="flatten the config",
            )
        if node.tag not in _PLAIN_TAGS:
            raise ConfigError(
                f"YAML tag `{node.tag}` is not supported",
                where=self.at(node),
                hint="configs are plain YAML: remove the tag (no !include or custom tags)",
            )
        self.locs[path] = self.loc(node)
        if isinstance(node, yaml.MappingNode):
            self.active.add(id(node))
            out = self._mapping(node, path)
            self.active.discard(id(node))
            return out
        if isinstance(node, yaml.SequenceNode):
            self.active.add(id(node))
            items = [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            self.active.discard(id(node))
            return items
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError(
                    "YAML merge keys (`<<`) are not supported",
                    where=self.at(key_node),
                    hint="write the keys out in full",
                )
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                raise ConfigError(
                    "a mapping key must be a plain name",
                    where=self.at(key_node),
                    hint="write `name: value`",
                )
            key = _scalar(key_node)
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                raise ConfigError(
                    f"duplicate key `{key}`",
                    where=self.at(key_node),
                    hint="each key may appear once per mapping",
                )
            child = (*path, key)
            out[key] = self.convert(value_node, child)
            # Point at the key's line, which is where a reader looks.
            self.locs[child] = self.loc(key_node)
        return out


_constructor = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    return _constructor.construct_object(node, deep=True)
