"""Planning: resolved config in, plan out. Pure and deterministic: the same
inputs give byte-identical files (no clocks, no host probing here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, buildfarm, localsource
from .config import Resolved
from .config_model import Source
from .enzyme import recipe as enzyme_recipe
from .fsutil import sha256_text
from .llvm import recipe as llvm_recipe
from .mlir import recipe as mlir_recipe
from .offload import recipe as offload_recipe
from .passes import recipe as passes_recipe
from .pjrt import recipe as pjrt_recipe
from .recipe import Component, Context
from .stablehlo import recipe as stablehlo_recipe

PLAN_SCHEMA = 1
# Which config source each recipe builds from.
RECIPE_SOURCES = {"llvm": "llvm", "offload": "llvm", "enzyme": "enzyme", "stablehlo": "stablehlo"}


@dataclass
class Plan:
    targets: list[str]
    provider: str
    build_dir: str
    prefix: str
    components: list[Component]
    config_hash: str
    archs: dict[str, list[str]]
    jobs: int | None = None
    link_jobs: int | None = None
    compiler_launcher: str | None = None
    # build.distributed / build.cache as plain data (hosts parsed); the engine
    # probes the hosts and sets the tools' environment.
    distributed: dict[str, Any] | None = None
    cache: dict[str, Any] | None = None
    lock_hash: str = ""
    mlirboot_version: str = __version__
    schema: int = PLAN_SCHEMA
    requires: list[dict[str, str]] = field(default_factory=list)

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def to_data(self) -> dict[str, Any]:
        data = asdict(self)
        for comp in data["components"]:
            del comp["sections"]
        return data


def source_spec(source: Source, cwd: Path) -> dict[str, Any]:
    """The chosen source kind as plain data, as the engine and lock need it."""
    if source.use == "local":
        path = Path(source.local or "").expanduser()
        return {"kind": "local", "path": str(path if path.is_absolute() else cwd / path)}
    chosen = getattr(source, source.use)
    return {"kind": source.use, **{k: v for k, v in asdict(chosen).items() if v is not None}}


def make_plan(
    resolved: Resolved,
    *,
    build_dir: Path,
    prefix: Path | None,
    cwd: Path,
    codename: str | None,
    render_cache,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """`render_cache(component) -> str` renders a component's cache file (the
    settings hash covers exactly that text). `environ` holds the source
    overrides (MLIRBOOT_*_SOURCE); none when omitted."""
    environ = environ or {}
    config = resolved.config
    build_dir = build_dir if build_dir.is_absolute() else cwd / build_dir
    if prefix is None:
        prefix = Path(config.prefix) if config.prefix else build_dir / "toolchain"
    prefix = prefix if prefix.is_absolute() else cwd / prefix
    llvm_provider = config.provider
    llvm_prefix = Path(config.system.llvm_prefix or "") if llvm_provider == "system" else prefix
    ctx = Context(config, resolved.expansion, build_dir, prefix, llvm_provider, llvm_prefix)

    llvm = llvm_recipe.plan(ctx)
    mlir_recipe.contribute(ctx, llvm)
    offload_recipe.contribute(ctx, llvm)
    components = [
        llvm,
        *offload_recipe.plan(ctx),
        *enzyme_recipe.plan(ctx),
        *stablehlo_recipe.plan(ctx),
        *pjrt_recipe.plan(ctx),
        *passes_recipe.plan(ctx),
    ]

    assert config.sources is not None
    distributed, cache = buildfarm.plan_data(config, cwd)
    system_versions = config.system.versions
    for comp in components:
        if comp.action == "cmake":
            # A recipe may bring its own source (passes: backend/passes in this package).
            comp.source = localsource.override(
                comp.source
                or source_spec(getattr(config.sources, RECIPE_SOURCES[comp.recipe]), cwd),
                comp.source_env,
                environ,
                cwd,
            )
            comp.cache_file = f"{comp.name}.cmake"
            comp.settings_hash = sha256_text(
                render_cache(comp) + json.dumps(comp.source, sort_keys=True)
            )
        elif comp.action == "system":
            version = system_versions.get(codename or "", "")
            # LLVM's own packages are pinned; what targets add (libze-dev,
            # spirv-tools) is whatever the distribution ships.
            pinned = [p.name for p in config.system.packages if p.component == comp.name]
            extra = resolved.expansion.system_packages if comp.name == "llvm" else []
            comp.packages = [{"name": n, "version": version} for n in pinned] + [
                {"name": n, "version": ""} for n in extra if n not in pinned
            ]
            comp.settings_hash = sha256_text(json.dumps(comp.packages, sort_keys=True))
        else:
            comp.settings_hash = sha256_text(json.dumps(comp.pip, sort_keys=True))

    return Plan(
        targets=list(config.targets),
        provider=config.provider,
        build_dir=str(build_dir),
        prefix=str(prefix),
        components=components,
        config_hash="",
        archs=resolved.expansion.archs,
        jobs=config.build.jobs,
        link_jobs=config.build.link_jobs,
        compiler_launcher=buildfarm.launcher(config),
        distributed=distributed,
        cache=cache,
        requires=[asdict(r) for r in resolved.expansion.requires],
    )


def lock_data(plan: Plan) -> dict[str, Any]:
    """Every input pinned: sources (URL + sha256 or git commit; a local tree
    as `configure` found it: its git commit and dirty flag, or a content hash),
    system package versions, pip pins, and the resolved config's hash."""
    sources: dict[str, Any] = {}
    for comp in plan.components:
        if comp.source is not None:
            sources.setdefault(
                json.dumps(comp.source, sort_keys=True), {"source": comp.source, "components": []}
            )["components"].append(comp.name)
    return {
        "schema": PLAN_SCHEMA,
        "mlirboot_version": plan.mlirboot_version,
        "config_hash": plan.config_hash,
        "sources": [sources[k] for k in sorted(sources)],
        "system_packages": sorted(
            (
                {"name": p["name"], "version": p["version"]}
                for c in plan.components
                for p in c.packages
            ),
            key=lambda p: p["name"],
        ),
        "pip": [{"component": c.name, **(c.pip or {})} for c in plan.components if c.pip],
    }
