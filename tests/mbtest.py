"""Helpers shared by the test modules (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mlirboot.bootstrap.config import resolve
from mlirboot.bootstrap.configure import Configured, configure

REPO = Path(__file__).resolve().parent.parent


# OpenMP offload entries are named by the translated file's device and inode.
_FILE_ID = re.compile(r"(__omp_offloading_)[0-9a-f]+_[0-9a-f]+_|(!\{i32 0, )i32 \d+, i32 \d+, ")


def llvm_ir_text(path: Path) -> str:
    """LLVM IR (.ll, or .bc through llvm-dis) without what differs between
    two compiles of the same code: the module id, the offload file ids."""
    from mlirboot.bootstrap.toolset import system_manifest

    if path.suffix == ".bc":
        dis = system_manifest().tool("llvm-dis")
        text = subprocess.run(
            [dis, path, "-o", "-"], check=True, capture_output=True, text=True
        ).stdout
    else:
        text = path.read_text()
    lines = [line for line in text.splitlines() if not line.startswith("; ModuleID")]
    return _FILE_ID.sub(lambda m: (m[1] or m[2]) + "ID_", "\n".join(lines))


def cache_entries(text: str) -> dict[str, str]:
    """`set(KEY "value" CACHE TYPE "")` lines of a rendered cache, by key."""
    out = {}
    for line in text.splitlines():
        if line.startswith("set("):
            key, rest = line[4:].split(" ", 1)
            out[key] = rest.split('" CACHE')[0].lstrip('"')
    return out


def configured(tmp_path: Path, targets: str, *sets: str) -> Configured:
    resolved = resolve(targets=targets.split(","), sets=list(sets), cwd=tmp_path)
    # No MLIRBOOT_*_SOURCE overrides: the plan is the config's alone.
    return configure(
        resolved,
        build_dir=tmp_path / "build",
        prefix=None,
        cwd=tmp_path,
        codename="trixie",
        environ={},
    )


def device_runtime_targets() -> tuple[list[str], list[str]]:
    """(targets whose codegen links device runtime libraries, the components
    that build them), from configs/targets."""
    from mlirboot.bootstrap.manifest import device_runtime_component
    from mlirboot.bootstrap.targets import load_target_specs

    specs = load_target_specs(REPO / "configs" / "targets")
    targets = sorted(name for name, spec in specs.items() if spec.codegen.device_libraries)
    components = [
        device_runtime_component(rt.triple)
        for name in targets
        for rt in specs[name].device_runtimes
    ]
    return targets, components


def needs_device_runtime(target: str) -> bool:
    return target in device_runtime_targets()[0]


def cargo() -> str | None:
    """cargo on PATH, else rustup's default place."""
    return shutil.which("cargo") or next(
        (str(p) for p in [Path.home() / ".cargo" / "bin" / "cargo"] if p.exists()), None
    )


def cargo_env(cargo_path: str, target_dir: Path, **extra: str) -> dict[str, str]:
    """An offline cargo run of an examples/rust project: its build.rs calls
    this interpreter's mlirboot."""
    return {
        **os.environ,
        "PATH": f"{Path(cargo_path).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CARGO_TARGET_DIR": str(target_dir),
        "CARGO_NET_OFFLINE": "true",
        "MLIRBOOT": f"{sys.executable} -m mlirboot.bootstrap.cli",
        **extra,
    }
