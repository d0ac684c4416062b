"""build.distributed / build.cache: config to plan, the pre-build server check,
and the parsers of the tools' own output (fast; the real builds are in
test_distributed_slow.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mbtest import cache_entries, configured
from mlirboot.bootstrap.engine import compile_cache, distributed

from . import servers
from .conftest import mlirboot, write_plan


def test_config_to_plan_and_launcher(tmp_path: Path) -> None:
    result = configured(
        tmp_path,
        "host",
        "offload.provider=source",
        'build.distributed={engine: distcc, hosts: ["127.0.0.2:3700/3", "127.0.0.3"]}',
        "build.cache={tool: ccache, remote: 'redis://127.0.0.1:6379', dir: cc}",
    )
    plan = json.loads(result.files["plan.json"])
    assert plan["compiler_launcher"] == "ccache"
    assert plan["distributed"]["hosts"] == [
        {"host": "127.0.0.2", "port": 3700, "slots": 3},
        {"host": "127.0.0.3", "port": 3632, "slots": 4},  # distcc's defaults
    ]
    assert plan["cache"] == {
        "tool": "ccache",
        "remote": "redis://127.0.0.1:6379",
        "dir": str(tmp_path / "cc"),
        "max_size": None,
    }
    entries = cache_entries(result.files["offload.cmake"])
    assert entries["CMAKE_C_COMPILER_LAUNCHER"] == "ccache"
    # Without a cache the engine's own launcher goes in front of the compiler.
    alone = configured(
        tmp_path,
        "host",
        "offload.provider=source",
        "build.distributed={engine: icecream, hosts: [sched]}",
    )
    assert cache_entries(alone.files["offload.cmake"])["CMAKE_CXX_COMPILER_LAUNCHER"] == "icecc"


@pytest.mark.parametrize(
    "setting, message",
    [
        ('build.distributed={engine: distcc, hosts: ["a b"]}', "is not HOST[:PORT][/SLOTS]"),
        ("build.distributed={engine: distcc, hosts: []}", "no servers listed"),
        ("build.distributed={engine: icecream, hosts: [a, b]}", "takes one scheduler"),
        ("build.cache={tool: ccache, remote: '127.0.0.1:6379'}", "is not a URL"),
        ("build.distributed={engine: distbuild, hosts: [a]}", "build.distributed.engine"),
    ],
)
def test_bad_settings_are_usage_errors(tmp_path: Path, setting: str, message: str) -> None:
    result = mlirboot(
        "configure",
        "--target",
        "host",
        "--set",
        setting,
        "--build-dir",
        tmp_path / "b",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cache_tool_that_cannot_feed_the_engine(tmp_path: Path) -> None:
    result = mlirboot(
        "configure",
        "--target",
        "host",
        "--set",
        "build.distributed={engine: distcc, hosts: [h]}",
        "--set",
        "build.cache={tool: sccache}",
        "--build-dir",
        tmp_path / "b",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "sccache cannot hand misses to distcc" in result.stderr


@pytest.mark.skipif(shutil.which("distcc") is None, reason="distcc not installed")
def test_no_server_reachable_is_one_line_error(project: dict) -> None:
    dead = [
        {"host": "127.0.0.2", "port": servers.free_port("127.0.0.2"), "slots": 2},
        {"host": "127.0.0.3", "port": servers.free_port("127.0.0.3"), "slots": 2},
    ]
    plan = json.loads((project["build"] / "plan.json").read_text())
    write_plan(
        project["build"],
        project["prefix"],
        plan["components"],
        compiler_launcher="distcc",
        distributed={
            "engine": "distcc",
            "launcher": "distcc",
            "hosts": dead,
            "connect_timeout": 1.0,
        },
    )
    result = mlirboot("build", "--build-dir", project["build"], timeout=120)
    assert result.returncode == 1, result.stderr
    error = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(error) == 1, result.stderr
    for host in dead:
        assert f"{host['host']}:{host['port']} (connection refused)" in error[0]
    assert "no distcc server reachable" in error[0]
    assert not (project["prefix"] / "bin").exists()


def test_distcc_environment_and_jobs(tmp_path: Path) -> None:
    cluster = distributed.Cluster.from_data(
        {
            "engine": "distcc",
            "launcher": "distcc",
            "local_slots": 1,
            "backoff": 30,
            "hosts": [{"host": "10.0.0.5", "port": 3632, "slots": 8}],
        }
    )
    env = distributed.environment(cluster, cluster.hosts, tmp_path)
    assert env["DISTCC_HOSTS"] == "10.0.0.5:3632/8 localhost/1"
    assert env["DISTCC_FALLBACK"] == "1" and env["DISTCC_BACKOFF_PERIOD"] == "30"
    assert env["DISTCC_DIR"] == str(tmp_path)
    # Link jobs come from installed memory: the same on every run (configure hash).
    assert distributed.link_jobs(None) == distributed.link_jobs(None)
    assert "-DCMAKE_JOB_POOL_LINK=mlirboot_link" in distributed.link_pool_defines(3)


def test_retried_compiles_from_the_client_log(tmp_path: Path) -> None:
    log = tmp_path / "distcc.log"
    log.write_text(
        "distcc[1] exec on 127.0.0.2:1/2: clang-22 -c a.c\n"
        "distcc[2] exec on 127.0.0.2:1/2: clang-22 -c b.c\n"
        "distcc[2] ERROR: nonblocking connect to 127.0.0.2:1 failed: Connection refused\n"
        "distcc[2] exec on 127.0.0.3:1/2: clang-22 -c b.c\n"
        "distcc[3] (dcc_build_somewhere) Warning: failed to distribute c.c to 127.0.0.3, "
        "running locally instead\n"
    )
    assert distributed.retried(log) == 2
    assert distributed.retried(tmp_path / "absent.log") == 0


def test_stats_parsers() -> None:
    ccache = (
        "cache_miss\t3\ndirect_cache_hit\t40\npreprocessed_cache_hit\t2\n"
        "remote_storage_hit\t41\nstats_updated_timestamp\t1795497411\n"
    )
    stats = compile_cache.parse_ccache_stats(ccache)
    assert (stats.hits, stats.misses, stats.remote_hits) == (42, 3, 41)
    assert abs(stats.rate - 42 / 45) < 1e-9
    sccache = json.dumps(
        {
            "stats": {
                "cache_hits": {"counts": {"C/C++": 9}},
                "cache_misses": {"counts": {"C/C++": 1}},
            }
        }
    )
    stats = compile_cache.parse_sccache_stats(sccache)
    assert (stats.hits, stats.misses) == (9, 1)
    assert "90.0% hit rate" in compile_cache.summary_line("sccache", stats, None)


@pytest.mark.skipif(not distributed.DISTCC_WHITELIST.is_dir(), reason="distcc not installed")
def test_distccd_whitelist_names() -> None:
    # Debian's whitelist has clang-22 but not the bare `clang` of /usr/lib/llvm-22/bin.
    assert distributed.not_whitelisted(["/usr/lib/llvm-22/bin/clang", "/usr/bin/clang-22"]) == [
        "/usr/lib/llvm-22/bin/clang"
    ]


def test_sccache_without_redis_support_is_refused(project: dict) -> None:
    sccache = shutil.which("sccache")
    if sccache is None:
        pytest.skip("sccache not installed")
    import subprocess

    run = subprocess.run([sccache, "--help"], capture_output=True, text=True, timeout=60)
    if not re.search(r"Redis:\s*false", run.stdout + run.stderr):
        pytest.skip("this sccache has redis support")
    plan = json.loads((project["build"] / "plan.json").read_text())
    write_plan(
        project["build"],
        project["prefix"],
        plan["components"],
        compiler_launcher="sccache",
        cache={"tool": "sccache", "remote": "redis://127.0.0.1:1"},
    )
    result = mlirboot("build", "--build-dir", project["build"], timeout=120)
    assert result.returncode == 2, result.stderr
    assert "was built without redis" in result.stderr
