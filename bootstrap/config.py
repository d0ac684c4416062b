"""Config layers, lowest first: built-in configs/toolchain.yaml, a profile,
the user's mlirboot.yaml (or --config FILE), then --target/--profile and
--set key.path=value. Layers merge key by key (mappings deep-merge, other
values replace); every value remembers the layer and line that set it.

`resolve` reports every independent error at once: a layer that cannot be
read or parsed stops it after all layers are read; otherwise the merged
config, the target files, the target selection and the cross-key checks are
all validated, each check skipping keys already found invalid."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import buildfarm
from .config_model import Config
from .errors import ConfigError, ErrorCollector
from .filenames import CONFIGS_DIR
from .schema import did_you_mean, validate
from .targets import Expansion, TargetSpec, expand, load_target_specs, selection_problems
from .yamlsrc import KeyPath, Loc, dotted, load_yaml, parse_yaml

USER_FILE = "mlirboot.yaml"
BUILTIN_LABEL = "configs/toolchain.yaml"


@dataclass
class Layer:
    name: str  # "built-in", "profile release", "mlirboot.yaml", "--set", ...
    data: dict[str, Any]
    locs: dict[KeyPath, Loc] = field(default_factory=dict)


@dataclass
class Resolved:
    config: Config
    specs: dict[str, TargetSpec]
    expansion: Expansion
    layers: list[Layer]
    # key path -> (layer name, location) for every key a layer wrote
    origin: dict[KeyPath, tuple[str, Loc]]

    def where(self, path: KeyPath) -> str:
        return where_from(self.origin, path)


def origin_of(origin: dict[KeyPath, tuple[str, Loc]], path: KeyPath) -> tuple[str, Loc] | None:
    """The layer and location that set `path`, or its nearest ancestor that a layer set."""
    probe = tuple(path)
    while probe:
        if probe in origin:
            return origin[probe]
        probe = probe[:-1]
    return None


def where_from(origin: dict[KeyPath, tuple[str, Loc]], path: KeyPath) -> str:
    found = origin_of(origin, path)
    return str(found[1]) if found else "built-in default"


def _parse_set(item: str, errors: ErrorCollector | None = None) -> Layer:
    label = f"--set {item}"
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            f"expected KEY=VALUE, got `{item}`",
            where="--set",
            hint="e.g. --set llvm.assertions=true or --set archs.nvidia=[sm_90]",
        )
    parts = tuple(key.strip().split("."))
    if any(not p for p in parts):
        raise ConfigError(
            f"malformed key path `{key}`",
            where=label,
            hint="use dots between keys: llvm.build_type=Debug",
        )
    value, _ = (
        parse_yaml(raw, label, lines=False, errors=errors, base=parts) if raw.strip() else ("", {})
    )
    data: dict[str, Any] = {}
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    locs: dict[KeyPath, Loc] = {parts[:i]: Loc(label) for i in range(1, len(parts) + 1)}
    locs.update({(*parts, *sub): Loc(label) for sub in _subpaths(value)})
    return Layer("--set", data, locs)


def _subpaths(value: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    out: list[KeyPath] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*prefix, k))
            out.extend(_subpaths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*prefix, i))
            out.extend(_subpaths(v, (*prefix, i)))
    return out


def merge_layers(layers: list[Layer]) -> tuple[dict[str, Any], dict[KeyPath, tuple[str, Loc]]]:
    merged: dict[str, Any] = {}
    origin: dict[KeyPath, tuple[str, Loc]] = {}
    for layer in layers:
        if not isinstance(layer.data, dict):
            raise ConfigError(
                "the top level must be a mapping of keys",
                where=str(layer.locs.get((), layer.name)),
                hint="see configs/mlirboot.schema.json for the keys",
            )
        _merge_into(merged, layer.data, (), layer, origin)
    return merged, origin


def _merge_into(dst: dict, src: dict, path: KeyPath, layer: Layer, origin: dict) -> None:
    for key, value in src.items():
        sub = (*path, key)
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            origin[sub] = (layer.name, layer.locs.get(sub, Loc(layer.name)))
            _merge_into(dst[key], value, sub, layer, origin)
            continue
        # A replaced value: forget where its old children came from.
        for stale in [p for p in origin if p[: len(sub)] == sub]:
            del origin[stale]
        dst[key] = copy.deepcopy(value)
        for p in [sub, *((*sub, *s) for s in _subpaths(value))]:
            origin[p] = (layer.name, layer.locs.get(p, Loc(layer.name)))


def _profiles_dir() -> Path:
    return CONFIGS_DIR / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in _profiles_dir().glob("*.yaml"))


def _load_layer(name: str, path: Path, label: str, errors: ErrorCollector) -> Layer | None:
    """A file layer, or None (the error added) when it cannot be read or parsed."""
    try:
        data, locs = load_yaml(path, label, errors)
    except ConfigError as err:
        errors.add(err)
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.add(
            ConfigError(
                "the top level must be a mapping of keys",
                where=str(locs.get((), label)),
                hint="see configs/mlirboot.schema.json for the keys",
            )
        )
        return None
    return Layer(name, data, locs)


def resolve(
    *,
    config_file: Path | None = None,
    cwd: Path | None = None,
    targets: list[str] | None = None,
    profile: str | None = None,
    sets: list[str] | None = None,
    configs_dir: Path = CONFIGS_DIR,
) -> Resolved:
    """Load, merge and validate every layer. Pure but for reading files.
    Raises ConfigError for one error, ConfigErrors for several."""
    cwd = cwd or Path.cwd()
    errors = ErrorCollector()
    # Where each layer's errors point, lowest layer first: errors print in this order.
    order = [BUILTIN_LABEL]
    builtin = _load_layer("built-in", configs_dir / "toolchain.yaml", BUILTIN_LABEL, errors)
    layers = [builtin] if builtin else []
    loaded = builtin is not None  # every layer read and parsed

    user_path = config_file
    if user_path is None and (cwd / USER_FILE).exists():
        user_path = cwd / USER_FILE
    user_layers: list[Layer] = []
    if user_path is not None:
        order.append(str(user_path))
        user = _load_layer(str(user_path), user_path, str(user_path), errors)
        loaded = loaded and user is not None
        if user is not None:
            user_layers.append(user)

    cli_data: dict[str, Any] = {}
    cli_locs: dict[KeyPath, Loc] = {}
    if targets is not None:
        cli_data["targets"] = targets
        cli_locs[("targets",)] = Loc("--target " + ",".join(targets))
        cli_locs.update(
            {("targets", i): Loc("--target " + ",".join(targets)) for i in range(len(targets))}
        )
    if profile is not None:
        cli_data["profile"] = profile
        cli_locs[("profile",)] = Loc(f"--profile {profile}")
    if cli_data:
        user_layers.append(Layer("command line", cli_data, cli_locs))
        order.extend(str(loc) for loc in cli_locs.values())
    for item in sets or []:
        order.append(f"--set {item}")
        try:
            user_layers.append(_parse_set(item, errors))
        except ConfigError as err:
            errors.add(err)
            loaded = False
    if not loaded:  # what a missing layer would have set is unknown: stop here
        errors.raise_if_any(order)
    assert builtin is not None

    # The profile layer sits between built-in and user layers, but higher
    # layers choose which profile it is.
    _, pre_origin = merge_layers(layers + user_layers)
    chosen = builtin.data.get("profile", "release")
    for layer in user_layers:
        if "profile" in layer.data:
            chosen = layer.data["profile"]
    profiles_dir = configs_dir / "profiles"
    names = sorted(p.stem for p in profiles_dir.glob("*.yaml"))
    if isinstance(chosen, str) and chosen in names:
        label = f"configs/profiles/{chosen}.yaml"
        order.insert(1, label)
        prof = _load_layer(f"profile {chosen}", profiles_dir / f"{chosen}.yaml", label, errors)
        if prof is None:
            errors.raise_if_any(order)
        assert prof is not None
        layers.append(prof)
    elif isinstance(chosen, str):
        errors.add(
            ConfigError(
                f"profile: unknown profile `{chosen}`",
                where=where_from(pre_origin, ("profile",)),
                hint=did_you_mean(chosen, names) or "known profiles: " + ", ".join(names),
            ),
            ("profile",),
        )
    # else: a refused YAML 1.1 value, or not a string (the model says so below).
    layers.extend(user_layers)

    merged, origin = merge_layers(layers)
    config: Config | None = validate(Config, merged, (), lambda p: where_from(origin, p), errors)
    before = len(errors.errors)
    specs = load_target_specs(configs_dir / "targets", errors)
    targets_ok = len(errors.errors) == before
    if config is None:
        errors.raise_if_any(order)
    assert config is not None
    resolved = Resolved(config, specs, None, layers, origin)  # type: ignore[arg-type]
    if targets_ok and not errors.touches(("targets",), ("archs",)):
        for problem in selection_problems(config, specs, resolved.where):
            errors.add(problem)
    for problem in _consistency_problems(resolved, cwd, errors):
        errors.add(problem)
    errors.raise_if_any(order)
    resolved.expansion = expand(config, specs)
    return resolved


def _consistency_problems(
    resolved: Resolved, cwd: Path, errors: ErrorCollector
) -> Iterator[ConfigError]:
    """Settings that cannot work together. A check whose keys were invalid
    (and so hold defaults) is skipped: its verdict would be about the default."""
    config, where = resolved.config, resolved.where

    def valid(*keys: KeyPath) -> bool:
        return not errors.touches(*keys)

    if valid(("sources",)) and config.sources is None:
        yield ConfigError("sources: missing", where=BUILTIN_LABEL)
    for name in ("llvm", "enzyme", "stablehlo"):
        if config.sources is None or not valid(("sources", name)):
            continue
        source = getattr(config.sources, name)
        if getattr(source, source.use) is None:
            key: KeyPath = ("sources", name, "use")
            yield ConfigError(
                f"{dotted(key)}: `{source.use}` chosen but sources.{name}.{source.use} is not set",
                where=where(key),
                hint=f"add sources.{name}.{source.use} or pick another kind",
            )
        elif source.use == "local":
            local = Path(source.local).expanduser()
            if not local.is_absolute():
                local = cwd / local
            if not local.is_dir():
                key = ("sources", name, "local")
                yield ConfigError(
                    f"{dotted(key)}: source directory {local} does not exist",
                    where=where(key),
                    hint="point it at an unpacked source tree",
                )
    if (
        valid(("offload", "provider"), ("provider",))
        and config.offload.provider == "system"
        and config.provider == "source"
    ):
        key = ("offload", "provider")
        yield ConfigError(
            f"{dotted(key)}: the system's offload runtime cannot serve an LLVM built from source",
            where=where(key),
            hint="device code and runtime must come from one LLVM: drop offload.provider "
            "or use provider: system",
        )
    if (
        valid(("offload", "mode"), ("provider",))
        and config.offload.mode == "in-tree"
        and config.provider == "system"
        and (("offload", "mode") in resolved.origin)
    ):
        key = ("offload", "mode")
        yield ConfigError(
            f"{dotted(key)}: in-tree needs an LLVM built from source, but provider is system",
            where=where(key),
            hint="use offload.mode: standalone (built against the system LLVM 22) or "
            "provider: source",
        )
    if valid(("enzyme", "mlir"), ("enzyme", "enabled")) and (
        config.enzyme.mlir and not config.enzyme.enabled
    ):
        key = ("enzyme", "mlir")
        yield ConfigError(
            f"{dotted(key)}: Enzyme-MLIR asked for but enzyme.enabled is false",
            where=where(key),
            hint="set enzyme.enabled: true",
        )
    enzyme_keys = (("enzyme", "enabled"), ("enzyme", "plugin"), ("enzyme", "rustc"))
    if valid(*enzyme_keys, ("enzyme", "mlir")) and (
        config.enzyme.enabled
        and not (config.enzyme.plugin or config.enzyme.rustc or config.enzyme.mlir)
        and not any(resolved.specs[t].enzyme_mlir for t in config.targets if t in resolved.specs)
    ):
        key = ("enzyme", "plugin")
        yield ConfigError(
            "enzyme: enabled, but plugin, rustc and mlir are all false: nothing to build",
            where=where(key),
            hint="set enzyme.plugin: true (the backend's --grad) or enzyme.rustc: true "
            "(rustc's std::autodiff), or enzyme.enabled: false",
        )
    if valid(("pjrt", "enabled"), ("pjrt", "version")) and (
        config.pjrt.enabled and not config.pjrt.version
    ):
        key = ("pjrt", "version")
        yield ConfigError(
            f"{dotted(key)}: PJRT enabled without a pinned version",
            where=where(("pjrt",)),
            hint="set pjrt.version",
        )
    if valid(("llvm", "tools")) and not config.llvm.tools:
        key = ("llvm", "tools")
        yield ConfigError(
            f"{dotted(key)}: nothing to install",
            where=where(key),
            hint="list at least one distribution component, e.g. [clang]",
        )
    if valid(("build",)):
        try:
            buildfarm.check(config, where)
        except ConfigError as err:
            yield err
