"""Per-target pipelines as data: backend/pipelines/<target>.yaml.

A pipeline names the configs/targets entries whose code generation facts
(triples, archs, runtime names, flags) its host and device code use, and lists
its stages. A stage is either an `mlir-opt` pass list (optionally per -O
level) or a named `step` implemented in Python (backend/steps/). `use:
<fragment>` pulls a stage from _common.yaml so the loop-based targets share
their lowering. `when: grad` marks a stage that runs only for a gradient
compile (`--grad ENTRY`), `when: blas` only with `--blas`; `unless:
<condition>` is the opposite. Either takes a list: `when: [a, b]` runs under
a or b, `unless: [a, b]` under neither. An `mlir-opt` list may hold lists
(YAML aliases of other stages' passes), flattened in order.

An `mlir-opt` stage may also say what that mlir-opt run loads:
`load: [passes]` loads the MlirbootPasses plugin (its remarks become the
--opt-report), `transform-library: matmul` preloads the host matmul schedule
(backend/schedules) so `transform-interpreter{entry-point=...}` can name it.

`load` checks the whole file before any tool runs: keys, references to
targets and fragments, and the step contract (every file a step needs is made
by an earlier stage, under every combination of conditions).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any

from ..bootstrap.errors import UsageError
from ..bootstrap.filenames import CONFIGS_DIR
from ..bootstrap.schema import did_you_mean
from ..bootstrap.targets import TargetSpec, load_target_specs
from ..bootstrap.yamlsrc import KeyPath, Loc, load_yaml
from . import pipelines
from .stages import CONDITIONS, OPT_LEVELS, PLUGINS, TRANSFORM_LIBRARIES, Pipeline, Stage
from .steps import STEPS

PIPELINE_DIR = pipelines.DIR
TARGETS_DIR = CONFIGS_DIR / "targets"
FILE_KEYS = ("description", "host-target", "device-target", "stages")
STAGE_KEYS = (
    "use",
    "name",
    "description",
    "step",
    "mlir-opt",
    "generic",
    "when",
    "unless",
    "load",
    "transform-library",
)
__all__ = ["OPT_LEVELS", "Pipeline", "Stage", "default_target", "load", "targets"]


def targets() -> list[str]:
    return pipelines.names(PIPELINE_DIR)


def _identity(*paths: Path) -> tuple[tuple[str, int, int, int], ...]:
    """The files' path, inode, size and mtime: a result cached under it is
    reused only while none of them changed (a compile loads the same files
    every time; parsing them was most of a compile-cache hit)."""
    ids = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            ids.append((str(path), -1, -1, -1))
        else:
            ids.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(ids)


def default_target() -> str:
    """The target of a compile that names none (_common.yaml `default`)."""
    return _default_target(_identity(PIPELINE_DIR / pipelines.COMMON))


@functools.lru_cache(maxsize=4)
def _default_target(_files: tuple[tuple[str, int, int, int], ...]) -> str:
    data, locs = load_yaml(PIPELINE_DIR / pipelines.COMMON)
    name = data.get("default") if isinstance(data, dict) else None
    if name not in targets():
        raise UsageError(
            "no default target",
            where=str(_loc(locs, ("default",), "")),
            hint=f"set `default:` to one of {', '.join(targets())}",
        )
    return str(name)


def _loc(locs: dict[KeyPath, Loc], path: KeyPath, fallback: str) -> str:
    probe = path
    while probe and probe not in locs:
        probe = probe[:-1]
    return str(locs.get(probe, fallback))


def _mapping(data: Any, where: str, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UsageError(f"{what} must be a mapping", where=where)
    return data


def _conditions(value: Any) -> tuple[str, ...]:
    """`when:`/`unless:` as a tuple: one condition or a list of them."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def _flatten(passes: Any) -> Any:
    """Nested pass lists (YAML aliases of shared lists) -> one flat list, per
    -O level too; anything else is returned for the checks below."""
    if isinstance(passes, dict):
        return {level: _flatten(p) for level, p in passes.items()}
    if isinstance(passes, list):
        return [q for p in passes for q in (_flatten(p) if isinstance(p, list) else [p])]
    return passes


def _stage(raw: Any, fragments: dict[str, Any], where: str) -> Stage:
    raw = _mapping(raw, where, "a stage")
    if "use" in raw:
        name = raw["use"]
        if name not in fragments:
            raise UsageError(
                f"unknown stage fragment `{name}`",
                where=where,
                hint=did_you_mean(str(name), fragments) or f"known: {', '.join(sorted(fragments))}",
            )
        raw = {"name": name, **fragments[name], **{k: v for k, v in raw.items() if k != "use"}}
    for key in raw:
        if key not in STAGE_KEYS:
            raise UsageError(
                f"unknown stage key `{key}`",
                where=where,
                hint=did_you_mean(str(key), STAGE_KEYS) or f"known keys: {', '.join(STAGE_KEYS)}",
            )
    if "name" not in raw:
        raise UsageError("stage without a name", where=where)
    passes = _flatten(raw.get("mlir-opt"))
    if (passes is None) == (raw.get("step") is None):
        raise UsageError(
            f"stage `{raw['name']}` needs exactly one of `mlir-opt`, `step`", where=where
        )
    if isinstance(passes, dict) and set(passes) - set(OPT_LEVELS):
        raise UsageError(
            f"stage `{raw['name']}`: per-level passes use keys {OPT_LEVELS}", where=where
        )
    conditions = {key: _conditions(raw.get(key)) for key in ("when", "unless")}
    for key, values in conditions.items():
        for value in values:
            if value not in CONDITIONS:
                raise UsageError(
                    f"stage `{raw['name']}`: unknown `{key}: {value}`",
                    where=where,
                    hint=f"one of {', '.join(CONDITIONS)}",
                )
    load_plugins = tuple(raw.get("load") or ())
    library = raw.get("transform-library")
    if (load_plugins or library) and passes is None:
        raise UsageError(
            f"stage `{raw['name']}`: `load`/`transform-library` need `mlir-opt`", where=where
        )
    if set(load_plugins) - set(PLUGINS):
        raise UsageError(
            f"stage `{raw['name']}`: unknown plugin in `load: {list(load_plugins)}`",
            where=where,
            hint=f"known: {', '.join(PLUGINS)}",
        )
    if library is not None and library not in TRANSFORM_LIBRARIES:
        raise UsageError(
            f"stage `{raw['name']}`: unknown `transform-library: {library}`",
            where=where,
            hint=f"known: {', '.join(TRANSFORM_LIBRARIES)}",
        )
    step_name = raw.get("step")
    if step_name is not None and step_name not in STEPS:
        raise UsageError(
            f"stage `{raw['name']}`: unknown step `{step_name}`",
            where=where,
            hint=did_you_mean(str(step_name), STEPS) or f"known steps: {', '.join(sorted(STEPS))}",
        )
    return Stage(
        name=raw["name"],
        when=conditions["when"],
        unless=conditions["unless"],
        load=load_plugins,
        transform_library=library,
        description=raw.get("description", ""),
        step=step_name,
        passes=passes,
        generic=bool(raw.get("generic", False)),
        where=where,
    )


def check_contract(stages: tuple[Stage, ...]) -> None:
    """Every file a step needs is made by an earlier stage, whatever the
    conditions (--grad, --blas) a compile runs under."""
    for n in range(len(CONDITIONS) + 1):
        for chosen in itertools.combinations(CONDITIONS, n):
            conditions = frozenset(chosen)
            made: dict[str, str] = {}
            for stage in stages:
                if stage.step is None or not stage.runs_under(conditions):
                    continue
                spec = STEPS[stage.step]
                for need in sorted(spec.needs - set(made)):
                    makers = sorted(s.name for s in STEPS.values() if need in s.makes)
                    under = f" (with {', '.join(sorted(conditions))})" if conditions else ""
                    raise UsageError(
                        f"stage `{stage.name}` (step {stage.step}) needs {need}, "
                        f"which no earlier stage makes{under}",
                        where=stage.where,
                        hint=f"run a stage with step {' or '.join(makers)} before it"
                        if makers
                        else "no step makes it",
                    )
                made.update(dict.fromkeys(spec.makes, stage.name))


def _target_spec(
    data: dict[str, Any],
    key: str,
    specs: dict[str, TargetSpec],
    locs: dict[KeyPath, Loc],
    path: Path,
) -> TargetSpec | None:
    name = data.get(key)
    if name is None:
        return None
    if name not in specs:
        raise UsageError(
            f"`{key}: {name}` names no configs/targets entry",
            where=_loc(locs, (key,), str(path)),
            hint=did_you_mean(str(name), specs) or f"known: {', '.join(specs)}",
        )
    return specs[name]


def load(target: str) -> Pipeline:
    path = PIPELINE_DIR / f"{target}.yaml"
    if target.startswith("_") or not path.is_file():
        raise UsageError(
            f"unknown target `{target}`",
            where="--target",
            hint=did_you_mean(target, targets()) or f"one of: {', '.join(targets())}",
        )
    files = (path, PIPELINE_DIR / pipelines.COMMON, *sorted(TARGETS_DIR.glob("*.yaml")))
    return _load(target, _identity(*files))


@functools.lru_cache(maxsize=32)
def _load(target: str, _files: tuple[tuple[str, int, int, int], ...]) -> Pipeline:
    """The pipeline of `target` (its files unchanged since: `_files`). The
    Pipeline and its stages are frozen, so every compile can share it."""
    path = PIPELINE_DIR / f"{target}.yaml"
    data, locs = load_yaml(path)
    data = _mapping(data, str(path), "a pipeline file")
    for key in data:
        if key not in FILE_KEYS:
            raise UsageError(
                f"unknown key `{key}`",
                where=_loc(locs, (key,), str(path)),
                hint=did_you_mean(str(key), FILE_KEYS) or f"known keys: {', '.join(FILE_KEYS)}",
            )
    common, _ = load_yaml(PIPELINE_DIR / pipelines.COMMON)
    fragments = _mapping(common, str(PIPELINE_DIR / pipelines.COMMON), "_common.yaml")
    fragments = _mapping(
        fragments.get("fragments", {}), str(PIPELINE_DIR / pipelines.COMMON), "`fragments`"
    )
    raw_stages = data.get("stages", [])
    if not isinstance(raw_stages, list):
        raise UsageError("`stages` must be a list", where=_loc(locs, ("stages",), str(path)))
    stages = tuple(
        _stage(raw, fragments, _loc(locs, ("stages", i), str(path)))
        for i, raw in enumerate(raw_stages)
    )
    check_contract(stages)
    specs = load_target_specs(TARGETS_DIR)
    host = _target_spec(data, "host-target", specs, locs, path)
    device = _target_spec(data, "device-target", specs, locs, path)
    return Pipeline(
        target=target,
        description=str(data.get("description", "")),
        host=host.codegen if host else None,
        device=device.codegen if device else None,
        host_target=host.name if host else None,
        device_target=device.name if device else None,
        stages=stages,
        path=path,
        archs=tuple(device.archs.known) if device and device.archs else (),
    )
