"""`mlirboot build --timeline`: a real cmake + ninja build of a small C
project gives a Chrome trace with the engine's steps and every ninja edge."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from mlirboot.bootstrap.engine import timeline

from .conftest import component, mlirboot, write_cache, write_plan

SOURCES = ("a.c", "b.c", "c.c", "main.c")


def _project(root: Path) -> Path:
    src = root / "four"
    src.mkdir(parents=True)
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(four C)\n"
        "add_library(parts STATIC a.c b.c c.c)\n"
        "add_executable(four main.c)\ntarget_link_libraries(four parts)\n"
        "install(TARGETS four DESTINATION bin)\n"
    )
    for name in ("a", "b", "c"):
        (src / f"{name}.c").write_text(f"int {name}(void) {{ return 1; }}\n")
    (src / "main.c").write_text(
        "int a(void); int b(void); int c(void);\nint main(void) { return a() + b() + c() - 3; }\n"
    )
    return src


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    src = _project(tmp_path)
    build = tmp_path / "build"
    write_cache(build, "four")
    write_plan(build, tmp_path / "prefix", [component("four", {"kind": "local", "path": str(src)})])
    return src, build


def _x(trace: dict) -> list[dict]:
    return [e for e in trace["traceEvents"] if e["ph"] == "X"]


def test_timeline_of_a_real_build(tmp_path: Path) -> None:
    _, build = _setup(tmp_path)
    out = tmp_path / "timeline.json"
    result = mlirboot("build", "-B", build, "--timeline", out, check=True)
    trace = json.loads(out.read_text())
    events = _x(trace)
    steps = [e["name"] for e in events if e["cat"] == "step"]
    assert steps == ["fetch", "configure", "build", "install", "publish"]
    edges = [e for e in events if e["cat"] == "ninja"]
    names = {e["name"] for e in edges}
    for source in SOURCES:
        assert any(n.endswith(f"{source}.o") for n in names), (source, names)
    assert any(n.endswith("libparts.a") for n in names)
    assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in events)
    assert {e["pid"] for e in events} == {1}
    # Each ninja edge sits inside the step that ran it, on a lane >= 1.
    by_step = {e["name"]: e for e in events if e["cat"] == "step"}
    for e in edges:
        step = by_step[e["args"]["step"]]
        assert e["tid"] >= 1
        assert step["ts"] <= e["ts"] <= step["ts"] + step["dur"] + 1000
    # Lanes: events in time order, never overlapping; lanes numbered from 1.
    lanes: dict[int, list[dict]] = {}
    for e in edges:
        lanes.setdefault(e["tid"], []).append(e)
    assert sorted(lanes) == list(range(1, len(lanes) + 1))
    for lane in lanes.values():
        for prev, cur in itertools.pairwise(lane):
            assert prev["ts"] <= cur["ts"]
            assert prev["ts"] + prev["dur"] <= cur["ts"]
    meta = {(e["name"], e["tid"]): e["args"] for e in trace["traceEvents"] if e["ph"] == "M"}
    assert meta[("process_name", 0)] == {"name": "four"}
    assert meta[("thread_name", 0)] == {"name": "mlirboot steps"}
    assert "slowest 5 edge(s):" in result.stderr

    # A second build runs ninja with nothing to do: no edges of the first run.
    mlirboot("build", "-B", build, "--timeline", out, check=True)
    again = _x(json.loads(out.read_text()))
    assert [e for e in again if e["cat"] == "ninja"] == []


def test_timeline_after_a_failed_build(tmp_path: Path) -> None:
    src, build = _setup(tmp_path)
    (src / "c.c").write_text("int c(void) { return }\n")
    out = tmp_path / "timeline.json"
    result = mlirboot("build", "-B", build, "--timeline", out)
    assert result.returncode == 1, result.stderr
    events = _x(json.loads(out.read_text()))
    failed = [e for e in events if e["cat"] == "step" and e["args"]["status"] == "failed"]
    assert [e["name"] for e in failed] == ["build"]
    assert any(e["cat"] == "ninja" and e["name"].endswith("a.c.o") for e in events)
    assert "publish" not in {e["name"] for e in events}


def test_timeline_file_checked_before_building(tmp_path: Path) -> None:
    _, build = _setup(tmp_path)
    result = mlirboot("build", "-B", build, "--timeline", tmp_path / "no" / "t.json")
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert not (build / "four" / "build").exists()


# -- the pure functions ----------------------------------------------------

LOG = """# ninja log v5
0\t10\t0\ta.o\tdead
0\t12\t0\tb.o\tbeef
12\t30\t0\tlib.a\tcafe
1\t5\t0\ta.o\tf00d
2\t9\t0\tx.h\t1111
2\t9\t0\tx.c\t1111
4\t7\t0\ttorn
"""


def test_parse_and_last_run() -> None:
    entries = timeline.parse_ninja_log(LOG)
    assert [e.output for e in entries] == ["a.o", "b.o", "lib.a", "a.o", "x.h", "x.c"]
    assert [e.output for e in timeline.last_run(entries)] == ["a.o", "x.h", "x.c"]
    edges = timeline.group_edges(entries)
    # a.o once (its last entry); x.h and x.c one edge (same command and times).
    assert [(e.start_ms, e.outputs) for e in edges] == [
        (0, ("b.o",)),
        (1, ("a.o",)),
        (2, ("x.c", "x.h")),
        (12, ("lib.a",)),
    ]


def test_old_log_versions_are_refused() -> None:
    try:
        timeline.parse_ninja_log("# ninja log v4\n1\t2\t3\tx\n")
    except timeline.LogError as err:
        assert "v4" in str(err)
    else:
        raise AssertionError("v4 accepted")


def test_rewritten_log_takes_its_last_run() -> None:
    step = timeline.StepTime(
        "c",
        "build",
        0.0,
        1.0,
        ninja_log="x",
        log_offset=999,
        log_data=LOG.encode(),
        log_rewritten=True,
    )
    entries, note = timeline.step_entries(step)
    assert [e.output for e in entries] == ["a.o", "x.h", "x.c"]
    assert note and "last run" in note
    tail = timeline.StepTime(
        "c", "build", 0.0, 1.0, ninja_log="x", log_offset=10, log_data=b"3\t4\t0\tnew.o\tabc\n"
    )
    assert [e.output for e in timeline.step_entries(tail)[0]] == ["new.o"]


def test_lanes_never_overlap() -> None:
    spans = [(0, 10), (0, 5), (5, 8), (6, 20), (10, 11), (0, 0)]
    lanes = timeline.assign_lanes(spans)
    for i, (s1, e1) in enumerate(spans):
        for j, (s2, e2) in enumerate(spans):
            if i < j and lanes[i] == lanes[j]:
                assert e1 <= s2 or e2 <= s1
    assert min(lanes) == 1 and max(lanes) == 3
