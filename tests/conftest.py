"""Shared test helpers: run the real `mlirboot` CLI in a subprocess."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mbtest import REPO, device_runtime_targets

# Every test compiles for real: a compile-cache hit would skip the code under
# test (tests/backend/test_compile_cache.py turns the cache on for itself).
os.environ["MLIRBOOT_COMPILE_CACHE"] = "off"


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlirboot.bootstrap.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def cli(tmp_path: Path):
    def call(*args: str | os.PathLike[str], **kw) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=kw.pop("cwd", tmp_path), **kw)

    return call


# --- a toolchain with the GPU device runtimes -------------------------------
#
# The nvidia and amd pipelines link the OpenMP DeviceRTL that mlirboot builds
# (codegen.device_libraries); Debian's LLVM ships none. One session builds the
# devicertl-<triple> components once, through mlirboot itself, from the LLVM
# source in MLIRBOOT_LLVM_SOURCE (scripts/test.sh sets it) against the system
# LLVM 22, into a key-named dir beside pytest's numbered temp dirs: a rerun
# finds it and mlirboot's incremental build does nothing.

SOURCE_ENV = "MLIRBOOT_LLVM_SOURCE"


# Keys of a target YAML that only the backend reads: editing them must not
# rebuild the device runtimes.
_BACKEND_ONLY_KEYS = ("codegen", "description")


def _toolchain_key(source: str, targets: list[str]) -> str:
    digest = hashlib.sha256(source.encode())
    for t in targets:
        spec = yaml.safe_load((REPO / "configs" / "targets" / f"{t}.yaml").read_text())
        build_keys = {k: v for k, v in spec.items() if k not in _BACKEND_ONLY_KEYS}
        digest.update(json.dumps(build_keys, sort_keys=True).encode())
    for path in [
        REPO / "configs" / "toolchain.yaml",
        REPO / "bootstrap" / "offload" / "recipe.py",
        *sorted((REPO / "bootstrap" / "offload" / "llvm_shim").glob("*.cmake")),
    ]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _build_once(
    tmp_path_factory, name: str, configure: list[str], components: list[str], env: dict[str, str]
) -> Path:
    """`mlirboot configure ARGS -B <dir>/build --prefix <dir>/toolchain`, then
    `mlirboot build -B <dir>/build COMPONENTS`, in <dir> = pytest-of-<user>/NAME (it
    outlives the numbered session dirs: a rerun's incremental build does
    nothing), under a lock so concurrent sessions build once. The prefix."""
    root = tmp_path_factory.getbasetemp()
    while root.parent != root and not root.name.startswith("pytest-of-"):
        root = root.parent
    base = (tmp_path_factory.getbasetemp() if root.parent == root else root) / name
    base.mkdir(parents=True, exist_ok=True)
    build_dir, prefix = base / "build", base / "toolchain"
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for args in (
            ["configure", *configure, "-B", build_dir, "--prefix", prefix],
            ["build", "-B", build_dir, *components],
        ):
            done = run_cli(*args, cwd=base, env=env, timeout=7200)
            assert done.returncode == 0, done.stderr[-5000:]
    return prefix


@pytest.fixture(scope="session")
def gpu_toolchain(tmp_path_factory) -> Path:
    """The prefix (toolchain.json) of a system-LLVM toolchain plus the device
    runtimes of every target that links them."""
    if os.environ.get("MLIRBOOT_TEST_DEVICE_RUNTIMES") == "skip":
        # .ci/run builds them (~10-20 min on 2 cores) in its Debian 12 root only.
        pytest.skip(
            "MLIRBOOT_TEST_DEVICE_RUNTIMES=skip: the nvidia/amd device runtimes are not "
            "built in this run"
        )
    source = os.environ.get(SOURCE_ENV, "")
    if not source or not Path(source, "openmp", "device").is_dir():
        pytest.skip(
            f"{SOURCE_ENV} does not point at the LLVM 22.1.8 source: the nvidia/amd "
            "device runtimes (DeviceRTL) are built from it"
        )
    targets, components = device_runtime_targets()
    return _build_once(
        tmp_path_factory,
        f"mlirboot-devicertl-{_toolchain_key(source, targets)}",
        ["--target", ",".join(targets)],
        components,
        {SOURCE_ENV: source},
    )


# --- a toolchain with Enzyme -------------------------------------------------
#
# No registry reachable here carries Enzyme's source: the `enzyme` tests build
# it through mlirboot from the checkout in MLIRBOOT_ENZYME_SOURCE (its opt
# plugin for --grad and its static library for rustc), once per session and
# source, into a key-named dir beside pytest's temp dirs, like the device
# runtimes above.

ENZYME_SOURCE_ENV = "MLIRBOOT_ENZYME_SOURCE"


def enzyme_source() -> Path | None:
    source = os.environ.get(ENZYME_SOURCE_ENV, "")
    if source and (Path(source) / "enzyme" / "CMakeLists.txt").exists():
        return Path(source)
    return None


@pytest.fixture(scope="session")
def enzyme_toolchain(tmp_path_factory) -> Path:
    """The prefix; its build dir is the sibling `build`."""
    source = enzyme_source()
    if source is None:
        pytest.skip(
            f"{ENZYME_SOURCE_ENV} does not point at an Enzyme checkout: no registry "
            "reachable here carries Enzyme's source"
        )
    digest = hashlib.sha256(str(source.resolve()).encode())
    for path in (REPO / "configs" / "toolchain.yaml", REPO / "bootstrap" / "enzyme" / "recipe.py"):
        digest.update(path.read_bytes())
    return _build_once(
        tmp_path_factory,
        f"mlirboot-enzyme-{digest.hexdigest()[:16]}",
        ["--target", "host", "--set", "enzyme.enabled=true", "--set", "enzyme.rustc=true"],
        ["enzyme"],
        {ENZYME_SOURCE_ENV: str(source)},
    )
