"""Helpers shared by the test modules (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

from pathlib import Path

from mlirboot.bootstrap.config import resolve
from mlirboot.bootstrap.configure import Configured, configure

REPO = Path(__file__).resolve().parent.parent


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
    from mlirboot.bootstrap.offload.recipe import component_name
    from mlirboot.bootstrap.targets import load_target_specs

    specs = load_target_specs(REPO / "configs" / "targets")
    targets = sorted(name for name, spec in specs.items() if spec.codegen.device_libraries)
    components = [
        component_name(rt.triple) for name in targets for rt in specs[name].device_runtimes
    ]
    return targets, components


def needs_device_runtime(target: str) -> bool:
    return target in device_runtime_targets()[0]
