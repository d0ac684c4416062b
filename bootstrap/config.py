"""Config layers, lowest first: built-in configs/toolchain.yaml, a profile,
the user's mlirboot.yaml (or --config FILE), then --target/--profile and
--set key.path=value. Layers merge key by key (mappings deep-merge, other
values replace); every value remembers the layer and line that set it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import buildfarm
from .config_model import Config
from .errors import ConfigError
from .schema import convert, did_you_mean
from .targets import Expansion, TargetSpec, check_selection, expand, load_target_specs
from .yamlsrc import KeyPath, Loc, dotted, load_yaml, parse_yaml

CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"
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


def _parse_set(item: str, index: int) -> Layer:
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
    value, _ = parse_yaml(raw, label, lines=False) if raw.strip() else ("", {})
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


def resolve(
    *,
    config_file: Path | None = None,
    cwd: Path | None = None,
    targets: list[str] | None = None,
    profile: str | None = None,
    sets: list[str] | None = None,
    configs_dir: Path = CONFIGS_DIR,
) -> Resolved:
    """Load, merge and validate every layer. Pure but for reading files."""
    cwd = cwd or Path.cwd()
    builtin_data, builtin_locs = load_yaml(configs_dir / "toolchain.yaml", BUILTIN_LABEL)
    layers = [Layer("built-in", builtin_data, builtin_locs)]

    user_path = config_file
    if user_path is None and (cwd / USER_FILE).exists():
        user_path = cwd / USER_FILE
    user_layers: list[Layer] = []
    if user_path is not None:
        label = str(user_path)
        data, locs = load_yaml(user_path, label)
        user_layers.append(Layer(label, data if data is not None else {}, locs))

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
    user_layers.extend(_parse_set(item, i) for i, item in enumerate(sets or []))

    # The profile layer sits between built-in and user layers, but higher
    # layers choose which profile it is.
    _, pre_origin = merge_layers(layers + user_layers)
    chosen = builtin_data.get("profile", "release")
    for layer in user_layers:
        if "profile" in layer.data:
            chosen = layer.data["profile"]
    profiles_dir = configs_dir / "profiles"
    names = sorted(p.stem for p in profiles_dir.glob("*.yaml"))
    if not isinstance(chosen, str) or chosen not in names:
        raise ConfigError(
            f"profile: unknown profile `{chosen}`",
            where=where_from(pre_origin, ("profile",)),
            hint=did_you_mean(str(chosen), names) or "known profiles: " + ", ".join(names),
        )
    pdata, plocs = load_yaml(profiles_dir / f"{chosen}.yaml", f"configs/profiles/{chosen}.yaml")
    layers.append(Layer(f"profile {chosen}", pdata or {}, plocs))
    layers.extend(user_layers)

    merged, origin = merge_layers(layers)
    config: Config = convert(Config, merged, (), lambda p: where_from(origin, p))
    specs = load_target_specs(configs_dir / "targets")
    resolved = Resolved(config, specs, None, layers, origin)  # type: ignore[arg-type]
    check_selection(config, specs, resolved.where)
    _check_consistency(resolved, cwd)
    resolved.expansion = expand(config, specs)
    return resolved


def _check_consistency(resolved: Resolved, cwd: Path) -> None:
    config, where = resolved.config, resolved.where
    if config.sources is None:
        raise ConfigError("sources: missing", where=BUILTIN_LABEL)
    for name in ("llvm", "enzyme", "stablehlo"):
        source = getattr(config.sources, name)
        if getattr(source, source.use) is None:
            key: KeyPath = ("sources", name, "use")
            raise ConfigError(
                f"{dotted(key)}: `{source.use}` chosen but sources.{name}.{source.use} is not set",
                where=where(key),
                hint=f"add sources.{name}.{source.use} or pick another kind",
            )
        if source.use == "local":
            local = Path(source.local).expanduser()
            if not local.is_absolute():
                local = cwd / local
            if not local.is_dir():
                key = ("sources", name, "local")
                raise ConfigError(
                    f"{dotted(key)}: source directory {local} does not exist",
                    where=where(key),
                    hint="point it at an unpacked source tree",
                )
    if config.offload.provider == "system" and config.provider == "source":
        key = ("offload", "provider")
        raise ConfigError(
            f"{dotted(key)}: the system's offload runtime cannot serve an LLVM built from source",
            where=where(key),
            hint="device code and runtime must come from one LLVM: drop offload.provider "
            "or use provider: system",
        )
    if (
        config.offload.mode == "in-tree"
        and config.provider == "system"
        and (("offload", "mode") in resolved.origin)
    ):
        key = ("offload", "mode")
        raise ConfigError(
            f"{dotted(key)}: in-tree needs an LLVM built from source, but provider is system",
            where=where(key),
            hint="use offload.mode: standalone (built against the system LLVM 22) or "
            "provider: source",
        )
    if config.enzyme.mlir and not config.enzyme.enabled:
        key = ("enzyme", "mlir")
        raise ConfigError(
            f"{dotted(key)}: Enzyme-MLIR asked for but enzyme.enabled is false",
            where=where(key),
            hint="set enzyme.enabled: true",
        )
    if config.pjrt.enabled and not config.pjrt.version:
        key = ("pjrt", "version")
        raise ConfigError(
            f"{dotted(key)}: PJRT enabled without a pinned version",
            where=where(("pjrt",)),
            hint="set pjrt.version",
        )
    if not config.llvm.tools:
        key = ("llvm", "tools")
        raise ConfigError(
            f"{dotted(key)}: nothing to install",
            where=where(key),
            hint="list at least one distribution component, e.g. [clang]",
        )
    buildfarm.check(config, where)
