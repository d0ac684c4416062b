"""YAML loading that remembers where every key came from (file:line), so a
bad value can be reported at its exact location."""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ErrorCollector

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


def load_yaml(
    path: Path, label: str | None = None, errors: ErrorCollector | None = None
) -> tuple[Any, dict[KeyPath, Loc]]:
    """Parse `path`; return the data and a map from key path to location.
    `errors`: see `parse_yaml`."""
    name = label or str(path)
    return parse_yaml(decode_utf8(read_bounded(path, name), name), name, errors=errors)


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


def parse_yaml(
    text: str,
    name: str,
    *,
    lines: bool = True,
    errors: ErrorCollector | None = None,
    base: KeyPath = (),
) -> tuple[Any, dict[KeyPath, Loc]]:
    """`lines=False`: `name` is not a file (a --set value): locations without lines.
    `errors`: YAML 1.1 surprises (see `yaml11_surprise`) are added there and
    their values become REFUSED, instead of raising the first; malformed YAML
    still raises. `base`: the key path the text sits at (a --set key), for messages."""
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
    return _Converter(name, locs, lines, errors, base).convert(node, ()), locs


class Refused:
    """The value of a scalar refused as a YAML 1.1 surprise, already reported:
    validation skips it rather than report it again."""

    def __repr__(self) -> str:
        return "REFUSED"

    def __copy__(self) -> Refused:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Refused:
        return self


REFUSED = Refused()


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_CORE_NULL = re.compile(r"null|Null|NULL|~|")
_CORE_BOOL = {"true": True, "True": True, "TRUE": True}
_CORE_BOOL.update({"false": False, "False": False, "FALSE": False})
_CORE_INT10 = re.compile(r"[-+]?[0-9]+")
_CORE_INT8 = re.compile(r"0o[0-7]+")
_CORE_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_CORE_INF = re.compile(r"[-+]?(\.inf|\.Inf|\.INF)")
_CORE_NAN = re.compile(r"\.nan|\.NaN|\.NAN")


def _yaml12(text: str) -> Any:
    """What a YAML 1.2 (core schema) reader makes of the plain scalar `text`."""
    if _CORE_NULL.fullmatch(text):
        return None
    if text in _CORE_BOOL:
        return _CORE_BOOL[text]
    if _CORE_INT10.fullmatch(text):
        return int(text)
    if _CORE_INT8.fullmatch(text):
        return int(text[2:], 8)
    if _CORE_INT16.fullmatch(text):
        return int(text[2:], 16)
    if _CORE_FLOAT.fullmatch(text):
        return float(text)
    if _CORE_INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _CORE_NAN.fullmatch(text):
        return math.nan
    return text


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _spell(value: Any) -> str:
    """`value` written so that YAML 1.1 and 1.2 read it alike."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if "." not in mantissa:  # YAML 1.1 floats need a dot and a signed exponent
            mantissa += ".0"
        return mantissa + (e + exponent if e else "")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _reading(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {_spell(value)}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {_spell(value)}"
    if isinstance(value, datetime.date):
        return f"a {type(value).__name__}"
    return "a string"


def yaml11_surprise(text: str, value: Any) -> tuple[str, str] | None:
    """(message, hint) when the plain scalar `text`, which PyYAML (YAML 1.1)
    read as `value`, is one a reader of the file may take for something else;
    None when it means what it says.

    Refused rather than warned about: a build config that silently turns
    `assertions: yes`, `commit: 0123456` or `12:30` into something else builds
    the wrong toolchain, and a warning scrolls past in CI. What is refused:
    every plain scalar that YAML 1.1 and YAML 1.2 read differently (yes/no/on/off,
    010, 0b11, 1_000, 12:30, 1e3, 0o17, 09, dates), plus two that both read
    alike but rarely mean it in a config: hexadecimal integers (0x10: a hash or
    an address was meant) and `~` (null, not the home directory). The hint
    gives the spellings both versions read alike; quoting keeps the text."""
    quoted = _spell(text)
    core = _yaml12(text)
    if not _same(value, core):
        msg = f"`{text}` is {_reading(value)} in YAML 1.1 but {_reading(core)} in YAML 1.2"
        spellings = [_spell(v) for v in (value, core) if not isinstance(v, str | datetime.date)]
        if not spellings:  # a date: YAML 1.2 has none, only the string
            return msg, f"quote it: {quoted}"
        choices = [*dict.fromkeys(spellings), quoted]
        return msg, f"write {', '.join(choices[:-1])} or {choices[-1]} to say which"
    if isinstance(value, int) and not isinstance(value, bool) and "x" in text.lower():
        return f"`{text}` is the integer {value} (hexadecimal)", (
            f"write {value} or {quoted} to say which"
        )
    if text == "~":
        return "`~` is null, not the home directory", f"write null or {quoted} to say which"
    return None


class _Converter:
    """Nodes to plain data, recording locations. Aliases are followed, but the
    expansion is bounded in size and depth, and a recursive alias is an error."""

    def __init__(
        self,
        name: str,
        locs: dict[KeyPath, Loc],
        lines: bool = True,
        errors: ErrorCollector | None = None,
        base: KeyPath = (),
    ):
        self.name = name
        self.lines = lines
        self.locs = locs
        self.errors = errors
        self.base = base
        self.values = 0
        self.active: set[int] = set()  # nodes on the current path (alias cycles)

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        """The node's value; a YAML 1.1 surprise raises, or with `errors`
        is added there and reads as REFUSED."""
        value = _scalar(node)
        implicit = _resolver.resolve(yaml.ScalarNode, node.value, (True, False))
        if node.style or node.tag != implicit:  # plain style: None, or "" from libyaml
            return value  # quoted, or an explicit tag (`!!str yes`): meant as written
        surprise = yaml11_surprise(node.value, value)
        if surprise is None:
            return value
        message, hint = surprise
        err = ConfigError(
            f"{dotted((*self.base, *path))}: {message}", where=self.at(node), hint=hint
        )
        if self.errors is None:
            raise err
        self.errors.add(err)
        return REFUSED

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
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

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
            key = self.scalar(key_node, (*path, key_node.value))
            if key is REFUSED:
                continue  # reported; the pair is left out
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
_resolver = yaml.resolver.Resolver()  # YAML 1.1 implicit tags, as the loader resolves them


def _scalar(node: yaml.Node) -> Any:
    return _constructor.construct_object(node, deep=True)
