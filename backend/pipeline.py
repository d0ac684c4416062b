"""Per-target pipelines as data: backend/pipelines/<target>.yaml.

A pipeline is an ordered list of stages. A stage is either an `mlir-opt` pass
list (optionally per -O level) or a named `step` implemented in Python
(backend/steps.py). `use: <fragment>` pulls a stage from _common.yaml so the
loop-based targets share their lowering. `when: grad` marks a stage that runs
only for a gradient compile (`--grad ENTRY`), `when: blas` only with `--blas`;
`unless: <condition>` is the opposite.

An `mlir-opt` stage may also say what that mlir-opt run loads:
`load: [passes]` loads the MlirbootPasses plugin (its remarks become the
--opt-report), `transform-library: matmul` preloads the host matmul schedule
(backend/schedules) so `transform-interpreter{entry-point=...}` can name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..bootstrap.errors import UsageError

PIPELINE_DIR = Path(__file__).parent / "pipelines"
OPT_LEVELS = ("O0", "O1", "O2", "O3")
CONDITIONS = ("grad", "blas")  # values of a stage's `when:` / `unless:`
PLUGINS = ("passes",)  # values of a stage's `load:` (see Toolbox.plugin)
TRANSFORM_LIBRARIES = ("matmul",)  # values of `transform-library:`


@dataclass(frozen=True)
class Stage:
    name: str
    description: str = ""
    step: str | None = None
    # mlir-opt passes: a list, or {O0: [...], ...} per optimization level.
    passes: list[str] | dict[str, list[str]] | None = None
    generic: bool = False  # print the result in generic op form
    when: str | None = None  # run only under this condition (e.g. "grad")
    unless: str | None = None  # skip under this condition (e.g. "blas")
    load: tuple[str, ...] = ()  # mlir-opt pass plugins to load (PLUGINS)
    transform_library: str | None = None  # a transform library to preload

    def passes_for(self, opt: str) -> list[str]:
        if self.passes is None:
            return []
        if isinstance(self.passes, dict):
            return list(self.passes.get(opt, []))
        return list(self.passes)

    def describe(self, opt: str) -> str:
        if self.step:
            return f"{self.name}: step {self.step}"
        passes = self.passes_for(opt)
        if not passes:
            return f"{self.name}: (no passes at this -O level)"
        extra = "".join(f" --load-pass-plugin=<{p}>" for p in self.load)
        if self.transform_library:
            library = f"<{self.transform_library}>"
            passes = [f"transform-preload-library{{transform-library-paths={library}}}",
                      *passes]
        return f"{self.name}: mlir-opt{extra} --pass-pipeline='builtin.module({','.join(passes)})'"


@dataclass(frozen=True)
class Pipeline:
    target: str
    description: str
    device: dict[str, Any] = field(default_factory=dict)
    stages: tuple[Stage, ...] = ()
    path: Path | None = None

    def active(self, conditions: frozenset[str] = frozenset()) -> tuple[Stage, ...]:
        """The stages that run: unconditional ones, those whose `when` holds and
        those whose `unless` does not."""
        return tuple(s for s in self.stages
                     if (s.when is None or s.when in conditions)
                     and (s.unless is None or s.unless not in conditions))

    def render(self, opt: str, conditions: frozenset[str] = frozenset()) -> str:
        lines = [f"# target {self.target} (-{opt}): {self.description}", f"# from {self.path}"]
        lines += [f"{i:2d}. {stage.describe(opt)}"
                  for i, stage in enumerate(self.active(conditions), 1)]
        return "\n".join(lines)

    def to_json(self, opt: str, conditions: frozenset[str] = frozenset()) -> dict[str, Any]:
        return {
            "target": self.target,
            "opt": opt,
            "device": self.device,
            "stages": [
                {"name": s.name, "step": s.step, "passes": None if s.step else s.passes_for(opt),
                 **({"when": s.when} if s.when else {}),
                 **({"load": list(s.load)} if s.load else {}),
                 **({"transform-library": s.transform_library} if s.transform_library else {})}
                for s in self.active(conditions)
            ],
        }


def targets() -> list[str]:
    return sorted(p.stem for p in PIPELINE_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise UsageError(f"pipeline file is not valid YAML: {err}", where=str(path)) from None
    if not isinstance(data, dict):
        raise UsageError("pipeline file must be a mapping", where=str(path))
    return data


def _stage(raw: dict[str, Any], fragments: dict[str, Any], where: str) -> Stage:
    if "use" in raw:
        name = raw["use"]
        if name not in fragments:
            raise UsageError(f"unknown stage fragment `{name}`", where=where,
                             hint=f"known: {', '.join(sorted(fragments))}")
        raw = {"name": name, **fragments[name], **{k: v for k, v in raw.items() if k != "use"}}
    if "name" not in raw:
        raise UsageError("stage without a name", where=where)
    passes = raw.get("mlir-opt")
    if (passes is None) == (raw.get("step") is None):
        raise UsageError(f"stage `{raw['name']}` needs exactly one of `mlir-opt`, `step`",
                         where=where)
    if isinstance(passes, dict) and set(passes) - set(OPT_LEVELS):
        raise UsageError(f"stage `{raw['name']}`: per-level passes use keys {OPT_LEVELS}",
                         where=where)
    for key in ("when", "unless"):
        if raw.get(key) is not None and raw[key] not in CONDITIONS:
            raise UsageError(f"stage `{raw['name']}`: unknown `{key}: {raw[key]}`", where=where,
                             hint=f"one of {', '.join(CONDITIONS)}")
    load = tuple(raw.get("load") or ())
    library = raw.get("transform-library")
    if (load or library) and passes is None:
        raise UsageError(f"stage `{raw['name']}`: `load`/`transform-library` need `mlir-opt`",
                         where=where)
    if set(load) - set(PLUGINS):
        raise UsageError(f"stage `{raw['name']}`: unknown plugin in `load: {list(load)}`",
                         where=where, hint=f"known: {', '.join(PLUGINS)}")
    if library is not None and library not in TRANSFORM_LIBRARIES:
        raise UsageError(f"stage `{raw['name']}`: unknown `transform-library: {library}`",
                         where=where, hint=f"known: {', '.join(TRANSFORM_LIBRARIES)}")
    return Stage(
        name=raw["name"],
        when=raw.get("when"),
        unless=raw.get("unless"),
        load=load,
        transform_library=library,
        description=raw.get("description", ""),
        step=raw.get("step"),
        passes=passes,
        generic=bool(raw.get("generic", False)),
    )


def load(target: str) -> Pipeline:
    path = PIPELINE_DIR / f"{target}.yaml"
    if target.startswith("_") or not path.exists():
        raise UsageError(f"unknown target `{target}`", where="--target",
                         hint=f"one of: {', '.join(targets())}")
    data = _read(path)
    fragments = _read(PIPELINE_DIR / "_common.yaml").get("fragments", {})
    stages = tuple(
        _stage(raw, fragments, f"{path}: stages[{i}]")
        for i, raw in enumerate(data.get("stages", []))
    )
    return Pipeline(
        target=data.get("target", target),
        description=data.get("description", ""),
        device=dict(data.get("device") or {}),
        stages=stages,
        path=path,
    )
