"""Planning side of distributed and cached builds: which compiler launcher the
cache files name, and the `build.distributed` / `build.cache` settings as plain
plan data. Pure: nothing here touches the network or runs a tool; the engine
(bootstrap/engine/distributed.py, bootstrap/engine/compile_cache.py) probes hosts and
sets the environment at build time."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config_model import Config
from .errors import ConfigError
from .yamlsrc import KeyPath

# The port each engine's client talks to when HOST has none.
DEFAULT_PORTS = {"distcc": 3632, "icecream": 8765, "sccache-dist": 10600}
# distcc's own default when a host names no slot count (man distcc: "/LIMIT ... default 4"
# for remote hosts).
DEFAULT_SLOTS = 4
# The executable CMake puts in front of the compiler for each engine.
ENGINE_LAUNCHER = {"distcc": "distcc", "icecream": "icecc", "sccache-dist": "sccache"}
_HOST = re.compile(
    r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>\d+))?"
    r"(?:/(?P<slots>\d+))?$"
)
_REMOTE = re.compile(r"^(redis|rediss|memcached|http|https|file)://")


def launcher(config: Config) -> str | None:
    """The one CMAKE_<LANG>_COMPILER_LAUNCHER. A cache tool comes first and
    hands misses to the distributed engine itself (ccache's prefix_command,
    sccache's own dist client), so compiles are looked up before being sent."""
    build = config.build
    if build.cache is not None:
        return build.cache.tool
    if build.distributed is not None:
        return ENGINE_LAUNCHER[build.distributed.engine]
    return build.compiler_launcher


def parse_host(text: str, engine: str) -> dict[str, Any] | None:
    match = _HOST.match(text.strip())
    if not match:
        return None
    slots = int(match["slots"]) if match["slots"] else DEFAULT_SLOTS
    port = int(match["port"]) if match["port"] else DEFAULT_PORTS[engine]
    if slots < 1 or not 0 < port < 65536:
        return None
    return {"host": match["host"].strip("[]"), "port": port, "slots": slots}


def check(config: Config, where: Callable[[KeyPath], str]) -> None:
    """Located errors for settings that cannot work together (config layer)."""
    build = config.build
    dist, cache = build.distributed, build.cache
    if dist is not None:
        if not dist.hosts:
            raise ConfigError(
                "build.distributed.hosts: no servers listed",
                where=where(("build", "distributed")),
                hint="e.g. hosts: ['10.0.0.5/8', '10.0.0.6:3632/8']",
            )
        for i, host in enumerate(dist.hosts):
            if parse_host(host, dist.engine) is None:
                key: KeyPath = ("build", "distributed", "hosts", i)
                raise ConfigError(
                    f"build.distributed.hosts[{i}]: `{host}` is not HOST[:PORT][/SLOTS]",
                    where=where(key),
                    hint="e.g. 10.0.0.5:3632/8 (port and slots optional)",
                )
        if dist.engine != "distcc" and len(dist.hosts) != 1:
            raise ConfigError(
                f"build.distributed.hosts: {dist.engine} takes one scheduler, "
                f"got {len(dist.hosts)}",
                where=where(("build", "distributed", "hosts")),
                hint="list only the scheduler; it hands jobs to its workers",
            )
        for name in ("local_slots", "io_timeout", "backoff"):
            if getattr(dist, name) < 0:
                key = ("build", "distributed", name)
                raise ConfigError(f"build.distributed.{name}: must be >= 0", where=where(key))
        if dist.connect_timeout <= 0:
            key = ("build", "distributed", "connect_timeout")
            raise ConfigError("build.distributed.connect_timeout: must be > 0", where=where(key))
    if cache is not None:
        if cache.remote and not _REMOTE.match(cache.remote):
            key = ("build", "cache", "remote")
            raise ConfigError(
                f"build.cache.remote: `{cache.remote}` is not a URL",
                where=where(key),
                hint="e.g. redis://cache-host:6379",
            )
        if (
            cache.tool == "sccache"
            and cache.remote
            and not cache.remote.startswith(("redis://", "rediss://"))
        ):
            key = ("build", "cache", "remote")
            raise ConfigError(
                "build.cache.remote: mlirboot wires only redis for sccache",
                where=where(key),
                hint="use a redis:// URL or tool: ccache",
            )
    if dist is not None and cache is not None:
        pair = (cache.tool, dist.engine)
        if pair in (("sccache", "distcc"), ("sccache", "icecream"), ("ccache", "sccache-dist")):
            key = ("build", "cache", "tool")
            raise ConfigError(
                f"build.cache.tool: {cache.tool} cannot hand misses to {dist.engine}",
                where=where(key),
                hint="pair ccache with distcc/icecream, or sccache with sccache-dist",
            )
    if build.compiler_launcher and (dist is not None or cache is not None):
        key = ("build", "compiler_launcher")
        raise ConfigError(
            "build.compiler_launcher: set together with build.distributed/build.cache",
            where=where(key),
            hint="drop compiler_launcher: the launcher follows from those",
        )


def plan_data(config: Config, cwd: Path) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """`distributed` and `cache` entries of plan.json (hosts parsed, paths absolute)."""
    build = config.build
    dist = None
    if build.distributed is not None:
        d = build.distributed
        hosts = [parse_host(h, d.engine) for h in d.hosts]
        dist = {
            "engine": d.engine,
            "launcher": ENGINE_LAUNCHER[d.engine],
            "hosts": hosts,
            "local_slots": d.local_slots,
            "connect_timeout": d.connect_timeout,
            "io_timeout": d.io_timeout,
            "backoff": d.backoff,
            "fallback": d.fallback,
        }
    cache = None
    if build.cache is not None:
        c = build.cache
        local = None
        if c.dir:
            path = Path(c.dir).expanduser()
            local = str(path if path.is_absolute() else cwd / path)
        cache = {"tool": c.tool, "remote": c.remote, "dir": local, "max_size": c.max_size}
    return dist, cache
