"""`mlirboot doctor`, build farm part: the cluster and compile cache the build
dir's plan names, as this machine sees them. Only what can be verified from
here: a TCP connect per server, the slots the config gives it, distcc's own
parse of the host list (`distcc --show-hosts`), the cache tool's version and
whether its remote backend accepts a connection. distcc's protocol reports no
server version, so none is shown."""

from __future__ import annotations

from pathlib import Path

from . import proc
from .doctor_check import Check
from .engine import compile_cache, distributed, planfile


def checks(build_dir: Path) -> list[Check]:
    plan = planfile.load_data_if_present(build_dir)
    out: list[Check] = []
    if plan.get("distributed"):
        out += cluster_checks(distributed.Cluster.from_data(plan["distributed"]))
    if plan.get("cache"):
        out += cache_checks(compile_cache.CacheSpec.from_data(plan["cache"]))
    return out


def cluster_checks(cluster: distributed.Cluster) -> list[Check]:
    tool = proc.which(cluster.launcher)
    out = [
        Check(
            cluster.launcher,
            tool is not None,
            tool or "missing",
            f"build.distributed.engine: {cluster.engine}",
            f"apt-get install {distributed.package(cluster.engine)}",
            kind="cluster",
        )
    ]
    probes = distributed.probe_all(cluster)
    none_alive = all(p.error is not None for p in probes)
    for p in probes:
        found = (
            f"reachable, {p.host.slots} slots" if p.error is None else f"unreachable ({p.error})"
        )
        # One dead server is a warning (the build goes on without it); all dead fails.
        out.append(
            Check(
                f"{cluster.engine} {p.host.name}",
                p.error is None,
                found,
                f"TCP connect within {cluster.connect_timeout:g}s",
                f"start the {cluster.engine} server on {p.host.host} or drop it "
                "from build.distributed.hosts",
                kind="cluster",
                required=none_alive,
            )
        )
    if tool and cluster.engine == "distcc":
        seen = distributed.show_hosts(cluster)
        out.append(
            Check(
                "distcc hosts",
                bool(seen),
                "; ".join(seen) or "none parsed",
                "distcc --show-hosts",
                "check build.distributed.hosts",
                kind="cluster",
                required=False,
            )
        )
    alive = sum(p.host.slots for p in probes if p.error is None)
    out.append(
        Check(
            "cluster slots",
            alive > 0,
            f"{alive} remote + {cluster.local_slots} local -> -j{alive + cluster.local_slots}",
            "at least one live server",
            "start the servers",
            kind="cluster",
            required=False,
        )
    )
    return out


def cache_checks(spec: compile_cache.CacheSpec) -> list[Check]:
    tool = proc.which(spec.tool)
    version = ""
    if tool:
        first = proc.run([spec.tool, "--version"], stage="doctor/cache", check=False).output
        version = first.splitlines()[0].strip() if first.strip() else ""
    out = [
        Check(
            spec.tool,
            tool is not None,
            f"{version} ({tool})" if tool else "missing",
            "build.cache.tool",
            f"apt-get install {spec.tool}",
            kind="cache",
        )
    ]
    if spec.remote:
        addr = compile_cache.remote_address(spec.remote)
        ok = addr is not None and compile_cache.reachable(addr)
        out.append(
            Check(
                "cache remote",
                ok,
                f"{spec.remote} " + ("reachable" if ok else "unreachable"),
                "TCP connect",
                "start the redis server or fix build.cache.remote",
                kind="cache",
                required=False,
            )
        )
    return out
