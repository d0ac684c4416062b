"""SIGINT/SIGTERM/SIGHUP to a real `mlirboot build`: ninja and its running jobs stop
(gracefully, or killed after the grace period when a job ignores the signal),
the command ends with one line and 128 + the signal, no process of the build is left,
and the next `mlirboot build` resumes and completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlirboot.bootstrap import proctree

from .conftest import component, mlirboot, write_cache, write_plan

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="scans /proc")

# Two jobs that take long while `slow.on` exists beside the project: one dies
# on the signal as compilers do, one ignores it (only SIGKILL stops it).
CMAKELISTS = """\
cmake_minimum_required(VERSION 3.20)
project(stoppable C)
add_executable(quick main.c)
add_custom_command(OUTPUT a.stamp COMMAND sh ${CMAKE_SOURCE_DIR}/a.sh ${MARK}
  COMMAND ${CMAKE_COMMAND} -E touch a.stamp)
add_custom_command(OUTPUT b.stamp COMMAND sh ${CMAKE_SOURCE_DIR}/b.sh ${MARK}
  COMMAND ${CMAKE_COMMAND} -E touch b.stamp)
add_custom_target(slow ALL DEPENDS a.stamp b.stamp)
install(TARGETS quick DESTINATION bin)
"""


def _project(tmp: Path, *, stubborn: bool) -> dict:
    src = tmp / "proj"
    src.mkdir()
    mark = tmp / "slow.on"
    mark.touch()
    (src / "CMakeLists.txt").write_text(CMAKELISTS)
    (src / "a.sh").write_text('if [ -e "$1" ]; then exec sleep 60; fi\n')
    trap = "trap '' INT TERM; " if stubborn else ""
    (src / "b.sh").write_text(f'if [ -e "$1" ]; then {trap}sleep 60; fi\n')
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    build, prefix = tmp / "build", tmp / "prefix"
    write_cache(build, "p", f'set(MARK "{mark}" CACHE STRING "")\n')
    write_plan(build, prefix, [component("p", {"kind": "local", "path": str(src)})])
    return {"build": build, "prefix": prefix, "mark": mark}


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _program(pid: int) -> str:
    """The program name of `pid`, "" once it has gone (it may exit at any
    moment: read /proc once)."""
    argv = _cmdline(pid)
    return Path(argv[0]).name if argv else ""


def _ninja_session(build: Path, proc: subprocess.Popen[str], deadline: float) -> int:
    """The pid (= session id) of the ninja building in `build`, once both
    slow jobs run under it."""
    bdir = str(build / "p" / "build")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the build ended early: {proc.communicate()[1]}")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            argv = _cmdline(int(entry))
            if argv and Path(argv[0]).name == "ninja" and bdir in argv:
                sid = int(entry)
                sleeps = [p for p in proctree.session_members(sid) if _program(p) == "sleep"]
                if len(sleeps) == 2:
                    return sid
        time.sleep(0.1)
    pytest.fail("the two slow jobs never started")


def _interrupt(
    tmp: Path, sig: int, *, stubborn: bool, grace: str, to_group: bool = False
) -> tuple[dict, str, int]:
    """Signal a running build: mlirboot alone, or (`to_group`) its whole
    process group, as a terminal's Ctrl-C does."""
    proj = _project(tmp, stubborn=stubborn)
    build = proj["build"]
    env = {**os.environ, "MLIRBOOT_INTERRUPT_GRACE": grace}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", "build", "--build-dir", str(build)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=to_group,
    )
    try:
        sid = _ninja_session(build, proc, time.monotonic() + 120)
        members = proctree.session_members(sid)
        t0 = time.monotonic()
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Nothing of the build runs any more: not ninja, not its jobs.
    assert proctree.session_members(sid) == [], err
    alive = [
        p
        for p in members
        if Path(f"/proc/{p}").exists()
        and Path(f"/proc/{p}/stat").read_text().split(") ")[1][0] != "Z"
    ]
    assert alive == [], err
    lines = err.strip().splitlines()
    assert lines[-1] == "mlirboot: interrupted", err
    assert "Traceback" not in err
    assert proc.returncode == 128 + sig, err
    proj["took"] = took
    return proj, (build / "p" / "logs" / "build.log").read_text(), sid


def _resume(proj: dict) -> None:
    proj["mark"].unlink()  # the slow jobs are quick from now on
    result = mlirboot("build", "--build-dir", proj["build"], "--json")
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["components"][0]["steps"]
    assert steps["configure"] == "up to date"  # resumed, not restarted
    assert steps["build"] == "ran" and steps["publish"] == "ran"
    assert (proj["prefix"] / "bin" / "quick").exists()


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"]
)
def test_interrupt_stops_ninja_and_its_jobs_then_resumes(tmp_path: Path, sig: int) -> None:
    proj, log, _sid = _interrupt(tmp_path, sig, stubborn=False, grace="30")
    # ninja itself saw the signal and stopped its jobs (it was not SIGKILLed).
    assert "interrupted by user" in log
    assert proj["took"] < 20, proj["took"]
    _resume(proj)


def test_job_ignoring_the_signal_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    proj, _log, _sid = _interrupt(tmp_path, signal.SIGINT, stubborn=True, grace="1")
    assert proj["took"] < 20
    _resume(proj)


def test_ctrl_c_to_the_whole_process_group(tmp_path: Path) -> None:
    proj, log, _sid = _interrupt(tmp_path, signal.SIGINT, stubborn=False, grace="30", to_group=True)
    assert "interrupted by user" in log
    _resume(proj)
