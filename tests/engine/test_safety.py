"""Safety: the build-dir lock, SIGKILL mid-build then resume, a killed or
failed publish never leaves a half-installed component."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlirboot.bootstrap.engine import publish
from mlirboot.bootstrap.engine.lock import BuildLock
from mlirboot.bootstrap.errors import BuildError, UsageError

from .conftest import mlirboot, write_cache


def test_concurrent_build_fails_naming_the_holder(project: dict) -> None:
    build = project["build"]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path\n"
            "from mlirboot.bootstrap.engine.lock import BuildLock\n"
            f"BuildLock(Path({str(build)!r})).acquire(); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = mlirboot("build", "--build-dir", build)
        assert result.returncode == 2
        assert f"pid {holder.pid}" in result.stderr and "--wait" in result.stderr
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: no stale lock to clean.
    assert mlirboot("build", "--build-dir", build).returncode == 0


def test_wait_queues_behind_the_holder(project: dict) -> None:
    build = project["build"]
    lock = BuildLock(build)
    lock.acquire()
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlirboot.bootstrap.cli",
            "build",
            "--build-dir",
            str(build),
            "--wait",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    assert waiter.poll() is None  # still waiting
    lock.release()
    _out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert f"pid {os.getpid()}" in err
    assert (project["prefix"] / "bin" / "hello-tool").exists()


def test_sigkill_mid_build_then_resume(project: dict) -> None:
    build, prefix = project["build"], project["prefix"]
    write_cache(build, "hello", 'set(SLOW_STEP 5 CACHE STRING "")\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", "build", "--build-dir", str(build)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = build / "hello" / "logs" / "build.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        # ninja prints an edge when it finishes: once the quick compile edges
        # are done, the 5 s step is what is running.
        if log.exists() and "[2/" in log.read_text():
            time.sleep(0.5)
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("the slow step never started")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    # ninja died with its parent (no orphan still writing into the build dir).
    assert _processes_running(f"ninja -C {build}") == []
    assert not (prefix / "bin").exists()
    stamp = json.loads((build / "hello" / "stamps" / "build.json").read_text())
    assert stamp["state"] == "running"
    result = mlirboot("build", "--build-dir", build, "--json")
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["components"][0]["steps"]
    assert steps["configure"] == "up to date"  # resumed, not restarted
    assert steps["build"] == "ran" and steps["publish"] == "ran"
    assert (prefix / "bin" / "hello-tool").exists()


def _stage(tmp: Path, files: dict[str, str]) -> Path:
    root = tmp / "stage"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_failed_publish_rolls_back(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    stage = _stage(tmp_path, {"bin/tool": "new", "lib/libx.a": "lib"})
    (prefix / "bin").mkdir()
    (prefix / "bin" / "tool").write_text("old")
    (prefix / "lib").write_text("a file where a directory must go")
    with pytest.raises(BuildError) as info:
        publish.publish(prefix, "x", stage, "g1")
    msg = str(info.value)
    assert "is a file where a directory must go" in msg and "nothing of `x` was published" in msg
    assert (prefix / "bin" / "tool").read_text() == "old"  # restored
    assert publish.read_record(prefix, "x") is None


def test_failed_publish_via_cli(project: dict) -> None:
    prefix = project["prefix"]
    prefix.mkdir()
    (prefix / "lib").write_text("in the way")
    result = mlirboot("build", "--build-dir", project["build"])
    assert result.returncode == 1
    assert "hello/publish" in result.stderr and "directory must go" in result.stderr
    assert not (prefix / "bin" / "hello-tool").exists()
    assert not (prefix / "include").exists() or not any((prefix / "include").rglob("*.h"))
    (prefix / "lib").unlink()
    assert mlirboot("build", "--build-dir", project["build"]).returncode == 0
    assert (prefix / "lib" / "libhello.a").exists()


def test_killed_publish_is_detected_and_redone(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    old = _stage(tmp_path / "old", {"bin/a": "a1", "bin/b": "b1", "bin/gone": "g"})
    publish.publish(prefix, "x", old, "g1")
    new = _stage(tmp_path / "new", {"bin/a": "a2", "bin/b": "b2", "bin/c": "c2"})
    # Die (like SIGKILL: no cleanup) right after the first file moved in. A
    # separate process, not a fork: this test process may hold JAX's threads.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import os, sys; from pathlib import Path\n"
                "from mlirboot.bootstrap.engine import publish\n"
                "publish.publish(Path(sys.argv[1]), 'x', Path(sys.argv[2]), 'g2',\n"
                "                after_file=lambda rel: os._exit(9))\n"
            ),
            str(prefix),
            str(new),
        ]
    )
    assert child.returncode == 9
    assert publish.read_record(prefix, "x")["state"] == "publishing"
    assert not publish.is_published(prefix, "x", "g2")
    assert (prefix / "bin" / "a").read_text() == "a2"  # half-published
    assert publish.recover(prefix, "x")
    # Back to the old component, whole.
    assert {p.name: p.read_text() for p in (prefix / "bin").iterdir()} == {
        "a": "a1",
        "b": "b1",
        "gone": "g",
    }
    assert publish.is_published(prefix, "x", "g1")
    publish.publish(prefix, "x", new, "g2")
    assert {p.name: p.read_text() for p in (prefix / "bin").iterdir()} == {
        "a": "a2",
        "b": "b2",
        "c": "c2",
    }


def test_publish_into_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    stage = _stage(tmp_path, {"bin/t": "t"})
    with pytest.raises(BuildError, match="cannot write to the prefix"):
        publish.publish(blocker / "prefix", "x", stage, "g")


def test_lock_error_is_usage_error(tmp_path: Path) -> None:
    first = BuildLock(tmp_path)
    first.acquire()
    try:
        # flock locks belong to the open file description: a second open in
        # the same process conflicts just like another process would.
        with pytest.raises(UsageError, match=f"pid {os.getpid()}"):
            BuildLock(tmp_path).acquire()
    finally:
        first.release()


def _processes_running(needle: str) -> list[int]:
    """pids whose command line contains `needle` (no procps in a minimal root)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue  # ended meanwhile
            if needle in cmdline:
                found.append(int(entry.name))
    return found
