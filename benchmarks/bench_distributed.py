"""Build time of one real component, in one run, four ways through `mlirboot build`:

    python benchmarks/bench_distributed.py [--source LLVM_SRC] [--runs 1]

1. local:   plain build, -j = cores;
2. cluster: through two distccd servers on loopback (127.0.0.2, 127.0.0.3, 2 slots each);
3. cold:    ccache with a redis backend, empty redis and empty local cache;
4. warm:    a second "machine" (new build dir, new local cache dir), same redis.

The component is compiler-rt's builtins from the LLVM 22.1.8 source (~170 C
compiles). Each build starts from an empty build dir, so configure is included.

On loopback the cluster cannot be faster: both "servers" share this machine's
cores, and distcc adds local preprocessing plus a network round trip per file.
The ratio shows that overhead; a real cluster gains from the remote cores.
The servers are stopped on exit, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from engine import servers  # noqa: E402  (tests/engine/servers.py: the test servers)


def _build(build: Path) -> tuple[float, dict]:
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlirboot.bootstrap.cli",
            "build",
            "--build-dir",
            str(build),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"build in {build} failed:\n{result.stderr[-3000:]}")
    return seconds, json.loads(result.stdout)


def _median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=servers.llvm_source())
    parser.add_argument("--runs", type=int, default=1, help="runs of each (median)")
    args = parser.parse_args()
    missing = servers.missing_tools("distcc", "distccd", "redis-server", "ccache", "clang-22")
    if missing or args.source is None:
        print(f"needs {', '.join(missing) or 'the LLVM source (--source)'}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    where = servers.server_dir()
    daemons: list[servers.Daemon] = []
    times: dict[str, list[float]] = {"local": [], "cluster": [], "cold": [], "warm": []}
    warm_rate = []
    try:
        daemons = [servers.start_distccd(h, where, jobs=2) for h in ("127.0.0.2", "127.0.0.3")]
        redis = servers.start_redis(where)
        daemons.append(redis)
        hosts = [{"host": d.host, "port": d.port, "slots": 2} for d in daemons[:2]]
        cluster = {"engine": "distcc", "launcher": "distcc", "hosts": hosts}
        remote = f"redis://{redis.host}:{redis.port}"
        for run in range(args.runs):
            base = work / f"run{run}"
            servers.builtins_plan(
                base / "local" / "b", base / "local" / "p", args.source, launcher=None
            )
            times["local"].append(_build(base / "local" / "b")[0])
            servers.builtins_plan(
                base / "cluster" / "b",
                base / "cluster" / "p",
                args.source,
                launcher="distcc",
                distributed=cluster,
            )
            times["cluster"].append(_build(base / "cluster" / "b")[0])
            subprocess.run(
                ["redis-cli", "-h", redis.host, "-p", str(redis.port), "flushall"],
                check=True,
                capture_output=True,
                timeout=30,
            )
            for kind in ("cold", "warm"):
                servers.builtins_plan(
                    base / kind / "b",
                    base / kind / "p",
                    args.source,
                    launcher="ccache",
                    cache={"tool": "ccache", "remote": remote, "dir": str(base / kind / "cc")},
                )
                seconds, summary = _build(base / kind / "b")
                times[kind].append(seconds)
                if kind == "warm":
                    warm_rate.append(summary["cache"]["hit_rate"])
        compiles = {d.host: servers.compile_ok(d.log_file) for d in daemons[:2]}
    finally:
        for daemon in daemons:
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(where, ignore_errors=True)

    t = {k: _median(v) for k, v in times.items()}
    print(
        f"component: compiler-rt builtins (LLVM 22.1.8), {os.cpu_count()} cores here, "
        f"median of {args.runs} run(s), configure included"
    )
    local = f"local (-j{os.cpu_count()}):"
    print(f"{local:<40}{t['local']:7.1f} s")
    print(
        f"{'cluster (2 x distccd on loopback, -j4):':<40}{t['cluster']:7.1f} s   "
        f"cluster/local = {t['cluster'] / t['local']:.2f}x   (server compiles: {compiles})"
    )
    print(f"{'ccache+redis cold:':<40}{t['cold']:7.1f} s")
    print(
        f"{'ccache+redis warm (new dir, new cache):':<40}{t['warm']:7.1f} s   "
        f"warm/cold = {t['warm'] / t['cold']:.2f}x   hit rate {_median(warm_rate):.1%}"
    )
    print(
        "note: the loopback 'cluster' shares this machine's cores and adds distcc's "
        "preprocessing and transfer per file, so it is not expected to beat local here; "
        "the warm build still pays configure and the install/link steps."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
