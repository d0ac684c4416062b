"""A small typed-model layer: dataclasses describe the config; `convert`
validates plain YAML data against them with located, one-line errors
(did-you-mean included), raising the first or, given an ErrorCollector,
gathering all (`validate`); `json_schema` derives the JSON Schema editors use.

Supported field types: str, int, float, bool, None unions, Literal[...],
list[T], dict[str, T] and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args, get_origin

from .errors import ConfigError, ErrorCollector
from .yamlsrc import KeyPath, Refused, dotted

# key path -> "file:line" (or "--set k=v") of the layer that wrote it
Where = Callable[[KeyPath], str]


def doc(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: a description shown in the schema and in `--help`-like output."""
    return {"doc": text, **extra}


def did_you_mean(name: str, choices: typing.Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is dict:
        return f"mapping of {_type_name(get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "mapping"
    if tp is type(None):
        return "null"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _fail(message: str, path: KeyPath, where: Where, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{dotted(path)}: {message}", where=where(path), hint=hint)


class _Invalid(Exception):
    """A value below was invalid and is already in the ErrorCollector."""


def validate(tp: Any, value: Any, path: KeyPath, where: Where, errors: ErrorCollector) -> Any:
    """`convert`, gathering every error into `errors` instead of raising the
    first. Returns the value, or None when `value` as a whole is invalid. A
    dataclass whose optional fields were invalid is built with those fields'
    defaults; their paths are in `errors.invalid` (see ErrorCollector.touches)."""
    try:
        return convert(tp, value, path, where, errors)
    except ConfigError as err:
        errors.add(err, path)
    except _Invalid:
        errors.invalid.add(path)
    return None


def _child(tp: Any, value: Any, path: KeyPath, where: Where, errors: ErrorCollector | None) -> Any:
    """Convert a part of a container; with `errors`, a failure is recorded
    there and raises _Invalid, which the container catches to go on."""
    if errors is None:
        return convert(tp, value, path, where)
    try:
        return convert(tp, value, path, where, errors)
    except ConfigError as err:
        errors.add(err, path)
        raise _Invalid from None
    except _Invalid:
        errors.invalid.add(path)
        raise


def convert(
    tp: Any, value: Any, path: KeyPath, where: Where, errors: ErrorCollector | None = None
) -> Any:
    """Validate `value` against type `tp`, building dataclass instances.
    Without `errors` the first error raises (ConfigError)."""
    if isinstance(value, Refused):  # a YAML 1.1 surprise, reported when read
        raise _Invalid
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        real = [option for option in options if option is not type(None)]
        if len(real) == 1:
            return convert(real[0], value, path, where, errors)
        for option in real:
            try:
                return convert(option, value, path, where)
            except ConfigError:
                continue
        raise _fail(f"expected {_type_name(tp)}, got {_describe(value)}", path, where, _example(tp))
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed and type(value) is type(allowed[0]):
            return value
        hint = did_you_mean(str(value), [str(a) for a in allowed])
        raise _fail(
            f"`{value}` is not one of: {', '.join(str(a) for a in allowed)}",
            path,
            where,
            hint,
        )
    if origin is list:
        (item_tp,) = get_args(tp)
        if not isinstance(value, list):
            raise _fail(
                f"expected a list, got {_describe(value)}",
                path,
                where,
                "write a YAML list, e.g. [a, b]",
            )
        items, bad = [], False
        for i, item in enumerate(value):
            try:
                items.append(_child(item_tp, item, (*path, i), where, errors))
            except _Invalid:
                bad = True
        if bad:
            raise _Invalid
        return items
    if origin is dict:
        _key_tp, item_tp = get_args(tp)
        if not isinstance(value, dict):
            raise _fail(f"expected a mapping, got {_describe(value)}", path, where, _example(tp))
        out, bad = {}, False
        for k, v in value.items():
            try:
                out[k] = _child(item_tp, v, (*path, k), where, errors)
            except _Invalid:
                bad = True
        if bad:
            raise _Invalid
        return out
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _convert_dataclass(tp, value, path, where, errors)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            # `version: 22.1` reads as a float in YAML; a string was meant.
            raise _fail(
                f"expected a string, got {_describe(value)}", path, where, 'quote it: "..."'
            )
    elif tp is Any:
        return value
    raise _fail(f"expected {_type_name(tp)}, got {_describe(value)}", path, where, _example(tp))


def _example(tp: Any) -> str:
    """A hint for a value of the wrong type: what one of type `tp` looks like."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        return _example(options[0]) if options else "write null"
    if origin is list:
        return "write a YAML list, e.g. [a, b]"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "write `key: value` entries indented under it"
    return {
        int: "write a whole number, e.g. 4",
        float: "write a number, e.g. 2.5",
        bool: "write true or false",
        str: 'write a string; quote it if in doubt: "..."',
    }.get(tp, "see configs/mlirboot.schema.json")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{_type_name(type(value))} {value!r}"


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert_dataclass(
    cls: type, value: Any, path: KeyPath, where: Where, errors: ErrorCollector | None
) -> Any:
    if not isinstance(value, dict):
        raise _fail(f"expected a mapping, got {_describe(value)}", path, where, _example(cls))
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    kwargs = {}
    failed: list[str] = []  # fields given a value that was invalid (errors only)
    for key, item in value.items():
        sub = (*path, key)
        if key not in fields:
            hint = did_you_mean(key, fields) or "known keys: " + ", ".join(fields)
            err = _fail(f"unknown key `{key}`", sub, where, hint)
            if errors is None:
                raise err
            errors.add(err, sub)
            continue
        try:
            kwargs[key] = _child(hints[key], item, sub, where, errors)
            _check_bounds(fields[key], kwargs[key], sub, where)
        except _Invalid:
            failed.append(key)
        except ConfigError as err:  # out of bounds
            if errors is None:
                raise
            errors.add(err, sub)
            kwargs.pop(key)
            failed.append(key)
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    absent = [name for name in missing if name not in failed]
    if absent:
        raise _fail(f"missing required key `{absent[0]}`", path, where, f"add `{absent[0]}:` here")
    if missing:
        raise _Invalid  # a required field's value was invalid: reported already
    return cls(**kwargs)


def _check_bounds(f: dataclasses.Field, value: Any, path: KeyPath, where: Where) -> None:
    """A number field's `minimum`/`maximum` metadata (see `doc`)."""
    low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    span = f"from {low} to {high}" if low is not None and high is not None else ""
    span = span or (f"at least {low}" if low is not None else f"at most {high}")
    if low is not None and value < low:
        raise _fail(
            f"must be at least {low}, got {value}",
            path,
            where,
            f"a number {span}" if span else None,
        )
    if high is not None and value > high:
        shown = (
            value if len(str(value)) <= 20 else f"{str(value)[:8]}... ({len(str(value))} digits)"
        )
        raise _fail(
            f"must be at most {high}, got {shown}",
            path,
            where,
            f"a number {span}" if span else None,
        )


def to_data(obj: Any) -> Any:
    """A dataclass instance back to plain data (for YAML/JSON output)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [to_data(x) for x in obj]
    if isinstance(obj, Mapping):
        return {k: to_data(v) for k, v in obj.items()}
    return obj


def json_schema(tp: Any, *, partial: bool = True) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for `tp`. `partial`: no key is required,
    as in the user's file, which only overrides what it names."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [json_schema(a, partial=partial) for a in get_args(tp)]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is list:
        return {"type": "array", "items": json_schema(get_args(tp)[0], partial=partial)}
    if origin is dict:
        return {
            "type": "object",
            "additionalProperties": json_schema(get_args(tp)[1], partial=partial),
        }
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        props = {}
        for f in dataclasses.fields(tp):
            sub = json_schema(hints[f.name], partial=partial)
            if f.metadata.get("doc"):
                sub["description"] = f.metadata["doc"]
            for bound in ("minimum", "maximum"):
                if bound in f.metadata:
                    sub[bound] = f.metadata[bound]
            props[f.name] = sub
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if tp.__doc__:
            out["description"] = " ".join(tp.__doc__.split())
        return out
    if tp is type(None):
        return {"type": "null"}
    if tp is Any:
        return {}
    return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[tp]}
