"""Distributed compiles at build time: check the plan's servers, then give the
compiler launcher the environment and ninja the job counts that fit them.

distcc is the engine this is proven with (tests/engine/test_distributed_slow.py):
two distccd servers, one killed mid-build, the build still ends well. Why it
does, in distcc's own terms (man distcc, 3.4):
- DISTCC_FALLBACK=1: when no server can take a job, compile it here;
- a failed server is put on DISTCC_BACKOFF_PERIOD (seconds) and not tried
  again meanwhile, so the rest of the build goes to the live ones;
- DISTCC_IO_TIMEOUT: a server that stops answering (a machine that dies
  rather than a daemon that exits) counts as failed after that many seconds,
  and the job is retried here.
icecream and sccache-dist get their launcher, host check and job count the
same way, but are not exercised by the tests (no scheduler runs here).
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import proc
from ..errors import BuildError, UsageError
from . import hostinfo

# Client state (host backoff, slot locks) lives in the build dir, not ~/.distcc:
# two build dirs do not share backoff decisions, and a test leaves no trace in $HOME.
STATE_DIR = "distributed"


@dataclass(frozen=True)
class Host:
    host: str
    port: int
    slots: int

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Cluster:
    """plan.json's `distributed` entry."""

    engine: str
    launcher: str
    hosts: list[Host]
    local_slots: int = 0
    connect_timeout: float = 2.0
    io_timeout: int = 120
    backoff: int = 60
    fallback: bool = True

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Cluster:
        return cls(
            engine=str(data["engine"]),
            launcher=str(data["launcher"]),
            hosts=[Host(str(h["host"]), int(h["port"]), int(h["slots"])) for h in data["hosts"]],
            local_slots=int(data.get("local_slots", 0)),
            connect_timeout=float(data.get("connect_timeout", 2.0)),
            io_timeout=int(data.get("io_timeout", 120)),
            backoff=int(data.get("backoff", 60)),
            fallback=bool(data.get("fallback", True)),
        )


@dataclass
class Probe:
    host: Host
    error: str | None  # None: a TCP connection was accepted


@dataclass
class Farm:
    """What the engine uses: the live hosts, the environment, the job counts."""

    cluster: Cluster
    probes: list[Probe]
    env: dict[str, str] = field(default_factory=dict)
    jobs: int = 1

    @property
    def alive(self) -> list[Host]:
        return [p.host for p in self.probes if p.error is None]

    @property
    def dead(self) -> list[Probe]:
        return [p for p in self.probes if p.error is not None]


def probe(host: Host, timeout: float) -> Probe:
    """A TCP connect: the one check every engine's server allows. It proves the
    daemon listens, not that it will accept our compiles (distccd --allow)."""
    try:
        with socket.create_connection((host.host, host.port), timeout=timeout):
            return Probe(host, None)
    except OSError as err:
        reason = (
            "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err)).lower()
        )
        return Probe(host, reason)


def probe_all(cluster: Cluster) -> list[Probe]:
    # In parallel: a cluster of dead hosts costs one timeout, not one per host.
    with ThreadPoolExecutor(max_workers=min(16, len(cluster.hosts) or 1)) as pool:
        return list(pool.map(lambda h: probe(h, cluster.connect_timeout), cluster.hosts))


def prepare(cluster: Cluster, build_dir: Path, warn: Callable[[str], None]) -> Farm:
    """Check the servers (one-line error when none answers, a warning naming
    the dead ones otherwise) and build the environment for the live ones."""
    if proc.which(cluster.launcher) is None:
        raise UsageError(
            f"{cluster.engine}: `{cluster.launcher}` not found",
            where="build/distributed",
            hint=f"apt-get install {package(cluster.engine)}, or drop "
            "build.distributed from the config",
        )
    probes = probe_all(cluster)
    farm = Farm(cluster, probes)
    dead = ", ".join(f"{p.host.name} ({p.error})" for p in farm.dead)
    if not farm.alive:
        raise BuildError(
            f"no {cluster.engine} server reachable: {dead}",
            where="build/distributed",
            hint="start the servers or fix build.distributed.hosts; `mlirboot doctor` "
            "shows the cluster",
        )
    if farm.dead:
        warn(
            f"{cluster.engine}: {len(farm.dead)} of {len(probes)} servers unreachable, "
            f"building without them: {dead}"
        )
    state = build_dir / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    farm.env = environment(cluster, farm.alive, state)
    farm.jobs = max(1, sum(h.slots for h in farm.alive) + cluster.local_slots)
    return farm


def distcc_hosts(hosts: list[Host], local_slots: int) -> str:
    spec = [f"{h.host}:{h.port}/{h.slots}" for h in hosts]
    if local_slots:
        # distcc runs `localhost` jobs itself, without a daemon.
        spec.append(f"localhost/{local_slots}")
    return " ".join(spec)


def environment(cluster: Cluster, alive: list[Host], state: Path) -> dict[str, str]:
    if cluster.engine == "distcc":
        return {
            "DISTCC_HOSTS": distcc_hosts(alive, cluster.local_slots),
            "DISTCC_FALLBACK": "1" if cluster.fallback else "0",
            "DISTCC_BACKOFF_PERIOD": str(cluster.backoff),
            "DISTCC_IO_TIMEOUT": str(cluster.io_timeout),
            # distcc does not create it (nor its parents) itself.
            "DISTCC_DIR": str(state),
        }
    if cluster.engine == "icecream":
        # The client hands jobs to the local iceccd, which the scheduler feeds;
        # nothing to set here beyond the launcher and -j.
        return {}
    # sccache-dist: the client reads the scheduler from its config file.
    host = cluster.hosts[0]
    conf = state / "sccache-dist.toml"
    token = os.environ.get("MLIRBOOT_SCCACHE_DIST_TOKEN", "")
    conf.write_text(
        "[dist]\n"
        f'scheduler_url = "http://{host.host}:{host.port}"\n'
        "toolchains = []\n"
        f'cache_dir = "{state / "sccache-dist-toolchains"}"\n'
        "[dist.auth]\n"
        + (f'type = "token"\ntoken = "{token}"\n' if token else 'type = "DANGEROUSLY_INSECURE"\n')
    )
    return {"SCCACHE_CONF": str(conf)}


def link_jobs(plan_link_jobs: int | None) -> int:
    """Links stay local and RAM-bound. From *total* memory, not the available
    amount: the value lands in the configure command, whose hash must not
    change from one run to the next."""
    if plan_link_jobs:
        return plan_link_jobs
    return max(
        1, min(hostinfo.cpu_count(), int(hostinfo.memory_total_gib() / hostinfo.GIB_PER_LINK_JOB))
    )


def link_pool_defines(jobs: int) -> list[str]:
    # A ninja pool for every CMake project; LLVM's own knob too, because LLVM
    # replaces the JOB_POOLS property and CMAKE_JOB_POOL_LINK when it is set.
    return [
        f"-DCMAKE_JOB_POOLS=mlirboot_link={jobs}",
        "-DCMAKE_JOB_POOL_LINK=mlirboot_link",
        f"-DLLVM_PARALLEL_LINK_JOBS={jobs}",
    ]


_EXEC_ON = re.compile(r"^distcc\[(\d+)\] exec on (\S+?)/")


def retried(client_log: Path) -> int:
    """Compiles distcc had to redo because a server failed, from its client
    log: distcc 3.4 sends such a job to another host (a second `exec on`
    line for the same pid), or runs it here ("failed to distribute")."""
    try:
        text = client_log.read_text(errors="replace")
    except OSError:
        return 0
    hosts: dict[str, int] = {}
    local = 0
    for line in text.splitlines():
        match = _EXEC_ON.match(line)
        if match:
            hosts[match[1]] = hosts.get(match[1], 0) + 1
        elif "failed to distribute" in line:
            local += 1
    return local + sum(1 for count in hosts.values() if count > 1)


# Debian's distccd runs only compilers named here (its "masquerade" whitelist);
# servers are assumed to be set up like this machine.
DISTCC_WHITELIST = Path("/usr/lib/distcc")


def not_whitelisted(compilers: list[str]) -> list[str]:
    """Compilers distccd would refuse (their name is not in /usr/lib/distcc):
    their compiles all fall back to this machine."""
    if not DISTCC_WHITELIST.is_dir():
        return []
    return [c for c in compilers if not (DISTCC_WHITELIST / Path(c).name).exists()]


def show_hosts(cluster: Cluster) -> list[str]:
    """distcc's own reading of the host list (`distcc --show-hosts`)."""
    if cluster.engine != "distcc" or proc.which("distcc") is None:
        return []
    env = {"DISTCC_HOSTS": distcc_hosts(cluster.hosts, cluster.local_slots)}
    result = proc.run(["distcc", "--show-hosts"], stage="doctor/distcc", env=env, check=False)
    return [line.strip() for line in result.output.splitlines() if line.strip()]


def package(engine: str) -> str:
    return {"distcc": "distcc", "icecream": "icecc", "sccache-dist": "sccache"}[engine]
