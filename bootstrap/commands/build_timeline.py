"""`mlirboot build --timeline FILE`: after the build (also a failed or
interrupted one, for what ran), write a Chrome trace / Perfetto JSON of the
engine's steps and every ninja edge they ran, and name the slowest edges.
The trace itself is built by `engine/timeline.py`; this reads the logs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine import timeline

if TYPE_CHECKING:
    from ..engine.progress import Reporter
    from ..engine.runner import Engine

SLOWEST = 5


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeline",
        metavar="FILE",
        type=Path,
        default=None,
        help="write a Chrome trace / Perfetto JSON of the steps and ninja edges that ran "
        "(open in ui.perfetto.dev or chrome://tracing) and print the slowest edges",
    )


def check(args: argparse.Namespace) -> None:
    """Before the build: the file can be written."""
    from ..fsutil import check_writable_parent

    if args.timeline is not None:
        args.timeline = args.timeline.absolute()
        check_writable_parent(args.timeline, "build --timeline")


def write(args: argparse.Namespace, engine: Engine, reporter: Reporter) -> None:
    """Write the timeline of what `engine` ran, if asked. Never raises for an
    unreadable log or an unwritable file: the build's own result comes first."""
    path: Path | None = getattr(args, "timeline", None)
    if path is None:
        return
    from ..fsutil import atomic_write_text

    steps = [_edges(record) for record in engine.steps]
    trace = timeline.build_trace(
        steps,
        [c.name for c in engine.plan.components],
        extra={"build_dir": str(engine.plan.build_dir), "jobs": engine.jobs},
    )
    try:
        atomic_write_text(path, json.dumps(trace, separators=(",", ":")) + "\n")
    except OSError as err:
        reporter.info(f"warning: could not write the timeline {path}: {err.strerror or err}")
        return
    edges = sum(len(s.edges) for s in steps)
    reporter.info(
        f"timeline: {path} ({len(steps)} step(s), {edges} ninja edge(s); open it in "
        "ui.perfetto.dev or chrome://tracing)"
    )
    for s in steps:
        if s.note:
            reporter.info(f"timeline: {s.step.component}/{s.step.step}: {s.note}")
    slow = timeline.slowest(steps, SLOWEST)
    if slow:
        reporter.info(f"slowest {len(slow)} edge(s):")
        for comp, name, seconds in slow:
            reporter.info(f"  {seconds:8.2f}s  {comp}: {name}")


def _edges(record: timeline.StepTime) -> timeline.StepEdges:
    found = timeline.StepEdges(record)
    if record.ninja_log is not None:
        entries, found.note = timeline.step_entries(record)
        found.edges = timeline.group_edges(entries)
    return found
