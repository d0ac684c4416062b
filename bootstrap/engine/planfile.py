"""Read `<build-dir>/plan.json` (written by `mlirboot configure`) into typed
dataclasses. The engine depends only on this file's shape (schema 1), not on
the planner's code, so the two can evolve separately; the one spelling both
use is recipe.CMAKE_COMPONENT (an install entry that is a CMake component)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config_model import MAX_JOBS
from ..errors import UsageError
from ..filenames import PLAN_JSON
from ..jsonfile import check_fields, load_object
from ..recipe import CMAKE_COMPONENT
from .compile_cache import CacheSpec
from .distributed import Cluster

SCHEMA = 1
WHAT = "build plan"  # how error messages name the file
ACTIONS = ("cmake", "system", "pip")
SOURCE_KINDS = ("git", "tarball", "debian", "local")
FIX = "run `mlirboot configure` again"
# The shape of plan.json (what `parse` reads), checked on load.
PLAN_FIELDS: dict[str, Any] = {
    "mlirboot_version": str,
    "config_hash": str,
    "lock_hash": str | None,
    "targets": list[str],
    "provider": str,
    "build_dir": str | None,
    "prefix": str,
    "components": list[dict[str, Any]],
    "jobs": int | None,
    "link_jobs": int | None,
    "compiler_launcher": str | None,
    "distributed": dict[str, Any] | None,
    "cache": dict[str, Any] | None,
}
COMPONENT_FIELDS: dict[str, Any] = {
    "name": str,
    "recipe": str,
    "action": str,
    "version": str,
    "source": dict[str, Any] | None,
    "source_env": str | None,
    "source_subdir": str | None,
    "cache_file": str | None,
    "depends_on": list[str] | None,
    "build_targets": list[str] | None,
    "install_targets": list[str] | None,
    "provides": dict[str, list[str] | None] | None,
    "library_files": dict[str, str] | None,
    "settings_hash": str,
    "packages": list[dict[str, str | None]] | None,
    "pip": dict[str, str] | None,
    "llvm_prefix": str | None,
    "license": str | None,  # read by the shipping commands (SBOM, container labels)
}


@dataclass(frozen=True)
class Package:
    name: str
    version: str | None = None


@dataclass(frozen=True)
class PipSpec:
    package: str
    version: str


@dataclass(frozen=True)
class Component:
    name: str
    recipe: str
    action: str
    version: str
    source: dict[str, Any] | None = None
    source_env: str | None = None
    source_subdir: str = ""
    cache_file: str | None = None
    depends_on: list[str] = field(default_factory=list)
    build_targets: list[str] = field(default_factory=list)
    install_targets: list[str] = field(default_factory=lambda: ["install"])
    tools: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)
    library_files: dict[str, str] = field(default_factory=dict)  # name -> relative to prefix
    settings_hash: str = ""
    packages: list[Package] = field(default_factory=list)
    pip: PipSpec | None = None
    llvm_prefix: str | None = None  # system only: where the distribution's LLVM lives

    def install_commands(self, cmake: str, ninja: str, bdir: Path, jobs: int) -> list[list[str]]:
        """The install step, run with DESTDIR set: ninja's install targets, then
        `cmake --install --component` for each `component:NAME` entry (a CMake
        install component with no ninja target of its own, e.g. enzymemlir-opt)."""
        targets = [t for t in self.install_targets if not t.startswith(CMAKE_COMPONENT)]
        commands = [[ninja, "-C", str(bdir), f"-j{jobs}", *targets]] if targets else []
        for entry in self.install_targets:
            if entry.startswith(CMAKE_COMPONENT):
                name = entry.removeprefix(CMAKE_COMPONENT)
                commands.append([cmake, "--install", str(bdir), "--component", name])
        return commands


@dataclass(frozen=True)
class Plan:
    mlirboot_version: str
    config_hash: str
    lock_hash: str | None
    targets: list[str]
    provider: str
    build_dir: Path
    prefix: Path
    components: list[Component]
    jobs: int | None = None
    link_jobs: int | None = None
    compiler_launcher: str | None = None
    distributed: Cluster | None = None
    cache: CacheSpec | None = None
    path: Path | None = None

    def component(self, name: str) -> Component:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise UsageError(
            f"the plan has no component `{name}`",
            where=str(self.path),
            hint="components in this plan: " + ", ".join(c.name for c in self.components),
        )


def load(build_dir: Path) -> Plan:
    path = build_dir / PLAN_JSON
    data = load_object(
        path,
        what=WHAT,
        fix=FIX,
        missing_hint="run `mlirboot configure --target ...` first (or pass --build-dir)",
    )
    return parse(data, path, build_dir)


def load_data_if_present(build_dir: Path) -> dict[str, Any]:
    """plan.json as checked plain data, or {} when the build dir has none
    (doctor works before configure; a corrupt plan is still an error)."""
    path = build_dir / PLAN_JSON
    if not path.exists() and not path.is_symlink():
        return {}
    data = load_object(path, what=WHAT, fix=FIX)
    check_fields(data, PLAN_FIELDS, (), path=path, what=WHAT, fix=FIX)
    return data


def load_data_or_none(build_dir: Path) -> dict[str, Any] | None:
    """plan.json as unchecked JSON data, or None when it is missing or not a
    JSON object: for `configure`, which is about to replace it anyway."""
    try:
        return load_object(build_dir / PLAN_JSON, what=WHAT, fix=FIX)
    except UsageError:
        return None


def read_text(path: Path, *, fix: str = FIX) -> str:
    """plan.json's text as written (shipped verbatim), after `jsonfile` checked
    its schema and field types (the text is then known to parse)."""
    load_object(path, what=WHAT, fix=fix, fields=PLAN_FIELDS, schema=SCHEMA)
    return path.read_text()


def parse(data: dict[str, Any], path: Path, build_dir: Path) -> Plan:
    where = str(path)
    if data.get("schema") != SCHEMA:
        raise UsageError(
            f"plan schema {data.get('schema')!r} is not {SCHEMA}",
            where=where,
            hint="re-run `mlirboot configure` with this mlirboot version",
        )
    check_fields(data, PLAN_FIELDS, ("prefix", "components"), path=path, what=WHAT, fix=FIX)
    for i, comp in enumerate(data["components"]):
        check_fields(
            comp,
            COMPONENT_FIELDS,
            ("name",),
            path=path,
            what=WHAT,
            fix=FIX,
            at=("components", i),
        )
    for key in ("jobs", "link_jobs"):
        value = data.get(key)
        if value is not None and not 1 <= value <= MAX_JOBS:
            raise UsageError(
                f"build plan: {key} {value} is not from 1 to {MAX_JOBS}", where=where, hint=FIX
            )
    try:
        components = [
            _component(c, f"{where}: components[{i}]") for i, c in enumerate(data["components"])
        ]
        base = Path(data.get("build_dir") or build_dir)
        plan = Plan(
            mlirboot_version=str(data.get("mlirboot_version", "")),
            config_hash=str(data.get("config_hash", "")),
            lock_hash=data.get("lock_hash"),
            targets=list(data.get("targets", [])),
            provider=str(data.get("provider", "source")),
            build_dir=base.resolve(),
            prefix=Path(data["prefix"]).resolve(),
            components=components,
            jobs=data.get("jobs"),
            link_jobs=data.get("link_jobs"),
            compiler_launcher=data.get("compiler_launcher"),
            distributed=Cluster.from_data(data["distributed"]) if data.get("distributed") else None,
            cache=CacheSpec.from_data(data["cache"]) if data.get("cache") else None,
            path=path,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UsageError(
            f"build plan is malformed: {type(err).__name__}: {err}", where=where, hint=FIX
        ) from None
    names = [c.name for c in plan.components]
    for comp in plan.components:
        for dep in comp.depends_on:
            if dep not in names or names.index(dep) > names.index(comp.name):
                raise UsageError(
                    f"component `{comp.name}` depends on `{dep}`, which is not earlier in the plan",
                    where=where,
                    hint="components must be listed in build order",
                )
    return plan


def _component(data: dict[str, Any], where: str) -> Component:
    action = data.get("action", "cmake")
    if action not in ACTIONS:
        raise UsageError(
            f"unknown action {action!r}", where=where, hint="one of: " + ", ".join(ACTIONS)
        )
    source = data.get("source")
    if source is not None and source.get("kind") not in SOURCE_KINDS:
        raise UsageError(
            f"unknown source kind {source.get('kind')!r}",
            where=where,
            hint="one of: " + ", ".join(SOURCE_KINDS),
        )
    provides = data.get("provides") or {}
    pip = data.get("pip")
    return Component(
        name=data["name"],
        recipe=data.get("recipe", data["name"]),
        action=action,
        version=str(data.get("version", "")),
        source=source,
        source_env=data.get("source_env"),
        source_subdir=data.get("source_subdir") or "",
        cache_file=data.get("cache_file"),
        depends_on=list(data.get("depends_on") or []),
        build_targets=list(data.get("build_targets") or []),
        install_targets=list(data.get("install_targets") or ["install"]),
        tools=list(provides.get("tools") or []),
        libraries=list(provides.get("libraries") or []),
        library_files=dict(data.get("library_files") or {}),
        settings_hash=str(data.get("settings_hash", "")),
        packages=[Package(p["name"], p.get("version")) for p in data.get("packages") or []],
        pip=PipSpec(pip["package"], str(pip["version"])) if pip else None,
        llvm_prefix=data.get("llvm_prefix"),
    )
