"""A build's timeline as a Chrome trace / Perfetto JSON (`mlirboot build --timeline`).

Pure functions, no file access: the engine records when each of its steps ran
(`StepTime`) and, for a ninja step, the bytes ninja appended to `.ninja_log`
while it ran (from the log's size before ninja started to its end).

Which log entries belong to this run: ninja appends one line per finished
output (`start_ms end_ms mtime output hash`, times in ms since *that ninja
process* started), so the bytes appended during the step are exactly what
this step's ninja ran. When the file was replaced meanwhile (ninja recompacts
its log at start-up now and then, or an older log was rewritten for a new
format version), the offset means nothing; then the entries taken are the last
run in the file: the suffix in which end times never decrease (entries of one
run are appended as they finish). In both cases an output listed twice counts
once, with its last entry.

Trace layout: one process (pid) per component, in build order; thread (tid) 0
holds the engine's steps (fetch, configure, build, install, publish), tids
1..N are ninja job lanes. An edge goes to the lowest lane free when it starts,
so lanes never hold overlapping events. Times are µs since the first step.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

NINJA_LOG = ".ninja_log"
MIN_VERSION = 5  # v5 (ninja 1.10) .. v7 (ninja 1.13) share the line format
_HEADER = re.compile(r"# ninja log v(\d+)\s*$")
STEP_TID = 0


@dataclass(frozen=True)
class LogEntry:
    start_ms: int
    end_ms: int
    mtime: int
    output: str
    hash: str


@dataclass(frozen=True)
class Edge:
    """One ninja edge: the log lines of one command (same times and hash)."""

    start_ms: int
    end_ms: int
    outputs: tuple[str, ...]

    @property
    def name(self) -> str:
        return (
            self.outputs[0]
            if len(self.outputs) == 1
            else (f"{self.outputs[0]} (+{len(self.outputs) - 1})")
        )

    @property
    def seconds(self) -> float:
        return max(self.end_ms - self.start_ms, 0) / 1000


@dataclass
class StepTime:
    """When one engine step ran; times from `time.monotonic()`."""

    component: str
    step: str
    start: float
    end: float | None = None
    status: str = "ran"  # "ran" | "failed" | "interrupted"
    # ninja steps: the log, its size and inode before ninja started, and what
    # the engine read from it when the step ended: the bytes from that offset
    # on, or the whole file when it was replaced (log_rewritten).
    ninja_log: str | None = None
    log_offset: int = 0
    log_inode: int | None = None
    log_data: bytes | None = None
    log_rewritten: bool = False
    log_error: str | None = None


@dataclass
class StepEdges:
    step: StepTime
    edges: list[Edge] = field(default_factory=list)
    note: str | None = None  # why the entries are a guess, or missing


class LogError(ValueError):
    pass


def parse_ninja_log(text: str) -> list[LogEntry]:
    """Entries of a `.ninja_log` (v5 to v7), in file order. A header may appear
    anywhere a run started a new file; a torn last line (killed ninja) is skipped."""
    lines = text.splitlines()
    if lines:
        match = _HEADER.match(lines[0])
        if match is None:
            raise LogError(f"not a ninja log (first line {lines[0][:40]!r})")
        if int(match.group(1)) < MIN_VERSION:
            raise LogError(f"ninja log v{match.group(1)} is older than v{MIN_VERSION} (ninja 1.10)")
    return parse_entries(lines[1:])


def parse_entries(lines: Iterable[str]) -> list[LogEntry]:
    out = []
    for line in lines:
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 5:
            continue
        try:
            start, end, mtime = int(fields[0]), int(fields[1]), int(fields[2])
        except ValueError:
            continue
        out.append(LogEntry(start, end, mtime, fields[3], fields[4]))
    return out


def last_run(entries: Sequence[LogEntry]) -> list[LogEntry]:
    """The entries after the last place where the end time went back: the
    last ninja run appended to the log (a heuristic, see the module doc)."""
    cut = 0
    for i in range(1, len(entries)):
        if entries[i].end_ms < entries[i - 1].end_ms:
            cut = i
    return list(entries[cut:])


def step_entries(step: StepTime) -> tuple[list[LogEntry], str | None]:
    """The log entries of this ninja step. Returns (entries, note): the note
    says why there are none, or that they are a guess."""
    if step.log_error is not None:
        return [], step.log_error
    if step.log_data is None:
        return [], None
    text = step.log_data.decode("utf-8", "replace")
    try:
        if step.log_rewritten:
            note = "ninja rewrote its log during the step; its last run was taken"
            return last_run(parse_ninja_log(text)), note
        if step.log_offset == 0:
            return parse_ninja_log(text), None
        return parse_entries(text.splitlines()), None
    except LogError as err:
        return [], f"{step.ninja_log}: {err}"


def group_edges(entries: Iterable[LogEntry]) -> list[Edge]:
    """Last entry per output, then the outputs of one command joined into an
    edge; sorted by start, end, outputs."""
    last: dict[str, LogEntry] = {}
    for entry in entries:
        last.pop(entry.output, None)  # keep file order of the last occurrence
        last[entry.output] = entry
    groups: dict[tuple[int, int, str], list[str]] = {}
    for entry in last.values():
        groups.setdefault((entry.start_ms, entry.end_ms, entry.hash), []).append(entry.output)
    edges = [Edge(s, e, tuple(sorted(outs))) for (s, e, _), outs in groups.items()]
    return sorted(edges, key=lambda x: (x.start_ms, x.end_ms, x.outputs))


def assign_lanes(spans: Sequence[tuple[float, float]]) -> list[int]:
    """A lane (1, 2, ...) for each (start, end) span: the lowest lane whose
    last span ended by this one's start, taken in start order."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][1], i))
    free: list[int] = []  # heap of free lane numbers
    busy: list[tuple[float, int]] = []  # heap of (end, lane)
    lanes = [0] * len(spans)
    count = 0
    for i in order:
        start, end = spans[i]
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            count += 1
            lane = count
        lanes[i] = lane
        heapq.heappush(busy, (max(end, start), lane))
    return lanes


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def build_trace(
    steps: Sequence[StepEdges], order: Sequence[str], *, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The trace of these steps and their edges. `order`: components in build
    order (their pids are 1, 2, ... in that order)."""
    if not steps:
        return {"traceEvents": [], "displayTimeUnit": "ms", "otherData": dict(extra or {})}
    t0 = min(s.step.start for s in steps)
    names = [n for n in order if any(s.step.component == n for s in steps)]
    names += sorted({s.step.component for s in steps} - set(names))
    pid = {name: i + 1 for i, name in enumerate(names)}
    meta: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    lanes_used: dict[str, int] = {}
    for name in names:
        mine = [s for s in steps if s.step.component == name]
        spans: list[tuple[int, int]] = []
        edge_rows: list[tuple[StepEdges, Edge]] = []
        for s in mine:
            end = s.step.end if s.step.end is not None else s.step.start
            args: dict[str, Any] = {"status": s.step.status}
            if s.step.ninja_log is not None:
                args["edges"] = len(s.edges)
            if s.note:
                args["note"] = s.note
            events.append(
                {
                    "name": s.step.step,
                    "cat": "step",
                    "ph": "X",
                    "pid": pid[name],
                    "tid": STEP_TID,
                    "ts": _us(s.step.start - t0),
                    "dur": max(_us(end - s.step.start), 0),
                    "args": args,
                }
            )
            base = _us(s.step.start - t0)  # ninja's time 0: about when the step began
            for edge in s.edges:
                begin = base + edge.start_ms * 1000
                spans.append((begin, begin + max(edge.end_ms - edge.start_ms, 0) * 1000))
                edge_rows.append((s, edge))
        lanes = assign_lanes(spans)
        lanes_used[name] = max(lanes, default=0)
        for (s, edge), lane, (begin, end) in zip(edge_rows, lanes, spans, strict=True):
            events.append(
                {
                    "name": edge.name,
                    "cat": "ninja",
                    "ph": "X",
                    "pid": pid[name],
                    "tid": lane,
                    "ts": begin,
                    "dur": end - begin,
                    "args": {"step": s.step.step, "outputs": list(edge.outputs)},
                }
            )
    for name in names:
        p = pid[name]
        meta.append({"name": "process_name", "ph": "M", "pid": p, "tid": 0, "args": {"name": name}})
        meta.append(
            {"name": "process_sort_index", "ph": "M", "pid": p, "tid": 0, "args": {"sort_index": p}}
        )
        for tid in range(lanes_used[name] + 1):
            label = "mlirboot steps" if tid == STEP_TID else f"ninja job {tid}"
            meta.append(
                {"name": "thread_name", "ph": "M", "pid": p, "tid": tid, "args": {"name": label}}
            )
            meta.append(
                {
                    "name": "thread_sort_index",
                    "ph": "M",
                    "pid": p,
                    "tid": tid,
                    "args": {"sort_index": tid},
                }
            )
    events.sort(key=lambda e: (e["pid"], e["tid"], e["ts"], -e["dur"], e["name"]))
    return {"traceEvents": meta + events, "displayTimeUnit": "ms", "otherData": dict(extra or {})}


def slowest(steps: Sequence[StepEdges], n: int = 5) -> list[tuple[str, str, float]]:
    """The n longest edges over all components: (component, edge name, seconds)."""
    rows = [(s.step.component, e.name, e.seconds) for s in steps for e in s.edges]
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return rows[:n]
