"""The pipeline files: <target>.yaml per `--target`, and _common.yaml with the
stage fragments they share (read by backend/pipeline.py). Light on purpose:
the CLI lists the targets without loading anything."""

from __future__ import annotations

from pathlib import Path

DIR = Path(__file__).parent
COMMON = "_common.yaml"


def names(directory: Path = DIR) -> list[str]:
    """The targets: one per pipeline file."""
    return sorted(p.stem for p in directory.glob("*.yaml") if not p.stem.startswith("_"))
