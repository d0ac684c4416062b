"""Small filesystem helpers: nothing half-written."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import UsageError


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a temp file and rename, so readers never see
    a partial file."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while block := src.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_json(path: Path, *, what: str, missing_hint: str, invalid_hint: str) -> Any:
    """Load a JSON file mlirboot wrote; a missing or corrupt one is bad input."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{what} not found", where=str(path), hint=missing_hint) from None
    except json.JSONDecodeError as err:
        raise UsageError(f"{what} is not valid JSON: {err.msg}", where=f"{path}:{err.lineno}",
                         hint=invalid_hint) from None
