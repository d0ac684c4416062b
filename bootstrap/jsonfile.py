"""Loading the JSON files mlirboot writes (plan.json, lock.json, toolchain.json,
artifact.json): every loader goes through `load_object`, which turns anything
unexpected (missing, a directory, binary, invalid JSON, the wrong top-level
type, the wrong schema, a missing or mistyped field) into one line naming the
file and the command that writes it again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, UsageError
from .schema import convert
from .yamlsrc import KeyPath, dotted

MAX_BYTES = 256 << 20  # a manifest lists every installed file; far below this


def load_object(
    path: Path,
    *,
    what: str,
    fix: str,
    missing_hint: str | None = None,
    schema: int | tuple[int, ...] | None = None,
    fields: Mapping[str, Any] | None = None,
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JSON object in `path`, with `required` keys present and each key of
    `fields` (key -> type, as the config model writes types: str, list[str],
    dict[str, Any], int | None, ...) of its type. `fix` is the hint for a file
    that is there but wrong (e.g. "run `mlirboot configure` again")."""
    data = _parse(path, what=what, fix=fix, missing_hint=missing_hint or fix)
    if not isinstance(data, dict):
        raise UsageError(
            f"{what} is not a JSON object (found {_kind(data)})", where=str(path), hint=fix
        )
    schemas = (schema,) if isinstance(schema, int) else schema
    if schemas is not None and data.get("schema") not in schemas:
        reads = " or ".join(map(str, schemas))
        raise UsageError(
            f"{what} has schema {data.get('schema')!r}, this mlirboot reads {reads}",
            where=str(path),
            hint=fix,
        )
    check_fields(data, fields or {}, required, path=path, what=what, fix=fix)
    return data


def check_fields(
    data: Mapping[str, Any],
    fields: Mapping[str, Any],
    required: tuple[str, ...],
    *,
    path: Path,
    what: str,
    fix: str,
    at: KeyPath = (),
) -> None:
    """Required keys present, typed keys of their type (nested objects: call
    again with `at` naming where they sit, e.g. ("components", 0))."""
    if not isinstance(data, Mapping):
        raise UsageError(
            f"{what}: {dotted(at)}: expected an object, got {_kind(data)}",
            where=str(path),
            hint=fix,
        )
    for key in required:
        if key not in data:
            raise UsageError(
                f"{what} lacks field `{dotted((*at, key))}`", where=str(path), hint=fix
            )
    for key, tp in fields.items():
        if key in data:
            try:
                convert(tp, data[key], (*at, key), lambda _p: str(path))
            except ConfigError as err:
                raise UsageError(f"{what}: {err.message}", where=str(path), hint=fix) from None


def _parse(path: Path, *, what: str, fix: str, missing_hint: str) -> Any:
    try:
        if path.is_dir():
            raise UsageError(f"{what} is a directory, not a file", where=str(path), hint=fix)
        if path.exists() and not path.is_file():
            raise UsageError(f"{what} is not a regular file", where=str(path), hint=fix)
        with open(path, "rb") as src:
            raw = src.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} not found", where=str(path), hint=missing_hint) from None
    except NotADirectoryError:
        parent = next(p for p in path.parents if p.exists())
        raise UsageError(
            f"{what} not found: {parent} is not a directory", where=str(path), hint=missing_hint
        ) from None
    except OSError as err:
        raise UsageError(f"cannot read {what}: {err.strerror}", where=str(path), hint=fix) from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"{what} is larger than {MAX_BYTES >> 20} MiB", where=str(path), hint=fix)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(
            f"{what} is not text (byte 0x{raw[err.start]:02x} at offset {err.start})",
            where=str(path),
            hint=fix,
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(
            f"{what} is not valid JSON: {err.msg}", where=f"{path}:{err.lineno}", hint=fix
        ) from None
    except RecursionError:
        raise UsageError(f"{what} is nested too deeply", where=str(path), hint=fix) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number"
    )
