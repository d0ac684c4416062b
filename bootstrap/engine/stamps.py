"""Per-step stamps: `<build-dir>/<component>/stamps/<step>.json` holding the
hash of the step's real inputs. A step whose stamp key matches is skipped; a
stamp is written only after its step finished, so a killed step re-runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..fsutil import atomic_write_text


def key(*parts: Any) -> str:
    """Hash of JSON-serializable inputs (order matters)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class Stamps:
    def __init__(self, directory: Path):
        self.dir = directory

    def path(self, step: str) -> Path:
        return self.dir / f"{step}.json"

    def read(self, step: str) -> dict[str, Any] | None:
        """The stamp, or None when missing or damaged (not JSON, not an
        object, not UTF-8, a directory): the step then simply runs again."""
        try:
            data = json.loads(self.path(step).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def valid(self, step: str, want: str) -> bool:
        data = self.read(step)
        return data is not None and data.get("key") == want and data.get("state") == "done"

    def write(self, step: str, want: str, state: str = "done", **extra: Any) -> None:
        atomic_write_text(
            self.path(step), json.dumps({"key": want, "state": state, **extra}, sort_keys=True)
        )

    def clear(self, *steps: str) -> None:
        for step in steps:
            self.path(step).unlink(missing_ok=True)
