"""Accelerator targets as data: configs/targets/<name>.yaml, validated into
`TargetSpec`, and the union of several selected targets (`Expansion`).

A new target or arch is a YAML change; nothing here names a target.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

from .config_model import CMakeValue, Config, Plugin
from .errors import ConfigError, ErrorCollector
from .schema import convert, did_you_mean, doc, validate
from .yamlsrc import dotted, load_yaml


@dataclass
class DeviceRuntime:
    """A runtime build for a device triple (LLVM_RUNTIME_TARGETS entry)."""

    triple: str
    runtimes: list[str] = field(default_factory=lambda: ["openmp"])
    cmake: dict[str, CMakeValue] = field(
        default_factory=dict, metadata=doc("RUNTIMES_<triple>_<KEY> entries")
    )
    libraries: dict[str, str] = field(
        default_factory=dict,
        metadata=doc(
            "name -> file the build installs under lib/<triple>/; toolchain.json "
            "lists it as `<name>-<triple>` (codegen.device_libraries links them)"
        ),
    )


@dataclass
class Archs:
    known: list[str]
    default: list[str]


@dataclass
class Requirement:
    """Something the target needs on the machine (checked by `mlirboot doctor`)."""

    name: str
    kind: Literal["executable", "python", "header", "library"]
    fix: str
    declares: str | None = field(
        default=None,
        metadata=doc(
            "header kind: an identifier the header must declare "
            "(a version check that survives distro patching)"
        ),
    )


@dataclass
class Codegen:
    """What the backend generates code for on this target (backend/pipelines
    name the target whose facts a pipeline's device or host code uses)."""

    triple: str | None = field(default=None, metadata=doc("LLVM triple of the generated code"))
    arch: str | None = field(
        default=None, metadata=doc("the default --arch of `mlirboot compile` (in archs.known)")
    )
    features: str = field(default="", metadata=doc("llc -mattr for the device code"))
    runtime_backend: str | None = field(
        default=None,
        metadata=doc("the offload runtime's name for the device (llvm-offload-device-info)"),
    )
    entry_stub: str | None = field(
        default=None,
        metadata=doc(
            "backend/data/stubs/<name>.c (a device runtime compiled into the image) "
            "or <name>.ll (a kernel-entry stub)"
        ),
    )
    device_libraries: list[str] = field(
        default_factory=list,
        metadata=doc(
            "device runtime libraries (device_runtimes[].libraries names) llvm-linked "
            "into every device image, only what it needs; found in toolchain.json"
        ),
    )
    alloca_address_space: int | None = field(
        default=None, metadata=doc("address space of stack allocations in device code")
    )
    data_layout: str | None = field(
        default=None, metadata=doc('the device data layout; "clang": the one clang uses')
    )
    flags: dict[str, list[str]] = field(
        default_factory=dict, metadata=doc("extra clang codegen flags per -O level (O0..O3)")
    )
    pjrt_plugin: str | None = field(
        default=None, metadata=doc("the default PJRT plugin (`--pjrt-plugin`) of a PJRT target")
    )
    stablehlo_version: str | None = field(
        default=None, metadata=doc("the StableHLO version of the portable artifact")
    )


@dataclass
class TargetSpec:
    name: str
    description: str
    codegen: Codegen = field(default_factory=Codegen)
    llvm_targets: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    runtimes: list[str] = field(default_factory=list)
    offload_plugins: list[Plugin] = field(default_factory=list)
    device_runtimes: list[DeviceRuntime] = field(default_factory=list)
    archs: Archs | None = None
    tools: list[str] = field(default_factory=list)
    components: list[Literal["enzyme", "stablehlo", "pjrt"]] = field(default_factory=list)
    enzyme_mlir: bool = False
    mlir_cmake: dict[str, CMakeValue] = field(default_factory=dict)
    system_packages: list[str] = field(default_factory=list)
    requires: list[Requirement] = field(default_factory=list)


def load_target_specs(
    directory: Path, errors: ErrorCollector | None = None
) -> dict[str, TargetSpec]:
    """Every configs/targets/*.yaml. Without `errors` the first bad file raises;
    with it, each file's errors are gathered and a bad file is left out."""
    specs = {}
    for path in sorted(directory.glob("*.yaml")):
        if errors is None:
            spec = _load_spec(path, None)
            assert spec is not None  # without a collector, a bad file raised
            specs[path.stem] = spec
            continue
        try:
            spec = _load_spec(path, errors)
        except ConfigError as err:
            errors.add(err)
            continue
        if spec is not None:
            specs[path.stem] = spec
    return specs


def _load_spec(path: Path, errors: ErrorCollector | None) -> TargetSpec | None:
    label = f"configs/targets/{path.name}"
    data, locs = load_yaml(path, label, errors)
    where = partial(_where, locs, file=path)
    if errors is None:
        spec = convert(TargetSpec, data, (), where)
    else:
        # Paths in a target file are not config key paths: gather into a
        # collector of its own, so as not to mark config keys invalid.
        own = ErrorCollector()
        spec = validate(TargetSpec, data, (), where, own)
        for err in own.errors:
            errors.add(err)
        if own:
            return None
    problems = list(_spec_problems(spec, path, locs))
    if not problems:
        return spec
    if errors is None:
        raise problems[0]
    for err in problems:
        errors.add(err)
    return None


def _spec_problems(spec: TargetSpec, path: Path, locs: dict) -> Iterator[ConfigError]:
    if spec.name != path.stem:
        yield ConfigError(
            f"target file declares name `{spec.name}`",
            where=f"configs/targets/{path.name}",
            hint=f"the name must match the file name (`{path.stem}`)",
        )
    arch = spec.codegen.arch
    if arch is not None and spec.archs is not None and arch not in spec.archs.known:
        yield ConfigError(
            f"codegen.arch `{arch}` is not in archs.known",
            where=_where(locs, ("codegen", "arch"), path),
            hint=did_you_mean(arch, spec.archs.known) or "add it to archs.known",
        )
    if spec.archs:
        for arch in spec.archs.default:
            if arch not in spec.archs.known:
                yield ConfigError(
                    f"default arch `{arch}` is not in archs.known",
                    where=f"configs/targets/{path.name}",
                )


def _where(locs: dict, path: tuple, file: Path) -> str:
    probe = tuple(path)
    while probe not in locs and probe:
        probe = probe[:-1]
    return str(locs.get(probe, f"configs/targets/{file.name}"))


def _union(*lists: Iterable[str]) -> list[str]:
    """Ordered union: first occurrence wins, so output is deterministic."""
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item, None)
    return list(seen)


@dataclass
class Expansion:
    """What the selected targets, together, ask of one toolchain."""

    targets: list[str]
    llvm_targets: list[str]
    projects: list[str]
    runtimes: list[str]
    plugins: list[str]
    device_runtimes: list[DeviceRuntime]
    archs: dict[str, list[str]]
    tools: list[str]
    components: list[str]
    enzyme_mlir: bool
    mlir_cmake: dict[str, CMakeValue]
    system_packages: list[str]
    requires: list[Requirement]


def expand(config: Config, specs: dict[str, TargetSpec]) -> Expansion:
    """The union of the selected targets' settings (one LLVM, every backend)."""
    chosen = [specs[name] for name in config.targets]
    device_runtimes: dict[str, DeviceRuntime] = {}
    for spec in chosen:
        for rt in spec.device_runtimes:
            if rt.triple in device_runtimes:
                merged = device_runtimes[rt.triple]
                merged.runtimes = _union(merged.runtimes, rt.runtimes)
                merged.cmake = {**merged.cmake, **rt.cmake}
                merged.libraries = {**merged.libraries, **rt.libraries}
            else:
                device_runtimes[rt.triple] = DeviceRuntime(
                    rt.triple, list(rt.runtimes), dict(rt.cmake), dict(rt.libraries)
                )
    archs = {
        spec.name: list(config.archs.get(spec.name, spec.archs.default))
        for spec in chosen
        if spec.archs
    }
    components = _union(*(spec.components for spec in chosen))
    if config.enzyme.enabled:
        components = _union(["enzyme"], components)
    if config.stablehlo.enabled:
        components = _union(components, ["stablehlo"])
    if config.pjrt.enabled:
        components = _union(components, ["pjrt"])
    mlir_cmake: dict[str, CMakeValue] = {}
    for spec in chosen:
        mlir_cmake.update(spec.mlir_cmake)
    requires: dict[str, Requirement] = {}
    for spec in chosen:
        for req in spec.requires:
            requires.setdefault(req.name, req)
    return Expansion(
        targets=[spec.name for spec in chosen],
        llvm_targets=_union(config.llvm.targets_to_build, *(s.llvm_targets for s in chosen)),
        projects=_union(config.llvm.projects, *(s.projects for s in chosen)),
        runtimes=_union(*(s.runtimes for s in chosen)),
        plugins=_union(["host"], config.offload.plugins, *(s.offload_plugins for s in chosen)),
        device_runtimes=list(device_runtimes.values()),
        archs=archs,
        tools=_union(config.llvm.tools, *(s.tools for s in chosen)),
        components=components,
        enzyme_mlir=config.enzyme.mlir or any(s.enzyme_mlir for s in chosen),
        mlir_cmake=mlir_cmake,
        system_packages=_union(*(s.system_packages for s in chosen)),
        requires=list(requires.values()),
    )


def selection_problems(
    config: Config, specs: dict[str, TargetSpec], where
) -> Iterator[ConfigError]:
    """Every problem with the target names and arch overrides, each independent
    of those before it."""
    if not config.targets:
        yield ConfigError(
            "no target selected",
            where=where(("targets",)),
            hint="pass --target T (one of: " + ", ".join(specs) + ")",
        )
        return
    for i, name in enumerate(config.targets):
        if name not in specs:
            yield ConfigError(
                f"targets[{i}]: unknown target `{name}`",
                where=where(("targets", i)),
                hint=did_you_mean(name, specs) or "known targets: " + ", ".join(specs),
            )
    mistyped = any(name not in specs for name in config.targets)
    if len(set(config.targets)) != len(config.targets):
        dup = next(t for t in config.targets if config.targets.count(t) > 1)
        yield ConfigError(
            f"target `{dup}` is selected twice",
            where=where(("targets",)),
            hint=f"list `{dup}` once",
        )
    for name, archs in config.archs.items():
        key = ("archs", name)
        if name not in specs:
            yield ConfigError(
                f"{dotted(key)}: unknown target `{name}`",
                where=where(key),
                hint=did_you_mean(name, specs) or "known targets: " + ", ".join(specs),
            )
            continue
        if name not in config.targets:
            if mistyped:
                continue  # likely the mistyped one: reported above
            yield ConfigError(
                f"{dotted(key)}: archs given for target `{name}`, which is not selected",
                where=where(key),
                hint=f"add `{name}` to the targets or remove archs.{name}",
            )
            continue
        spec = specs[name]
        if spec.archs is None:
            yield ConfigError(
                f"{dotted(key)}: target `{name}` has no device architectures",
                where=where(key),
                hint=f"remove archs.{name}",
            )
            continue
        if not archs:
            yield ConfigError(
                f"{dotted(key)}: empty arch list",
                where=where(key),
                hint=f"known: {', '.join(spec.archs.known)}",
            )
            continue
        for i, arch in enumerate(archs):
            if arch not in spec.archs.known:
                yield ConfigError(
                    f"{dotted((*key, i))}: unknown {name} arch `{arch}`",
                    where=where((*key, i)),
                    hint=did_you_mean(arch, spec.archs.known)
                    or "known: " + ", ".join(spec.archs.known),
                )
