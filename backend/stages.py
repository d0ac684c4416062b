"""A pipeline as data: its stages and the target facts its code is generated
for. Read from backend/pipelines/*.yaml by backend/pipeline.py; nothing here
runs a tool."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..bootstrap.targets import Codegen

OPT_LEVELS = ("O0", "O1", "O2", "O3")
# values of a stage's `when:` / `unless:`
CONDITIONS = ("grad", "blas", "staticlib")
PLUGINS = ("passes",)  # values of a stage's `load:` (see Toolbox.plugin)
TRANSFORM_LIBRARIES = ("matmul", "matmul-threads")  # values of `transform-library:`


@dataclass(frozen=True)
class Stage:
    name: str
    description: str = ""
    step: str | None = None
    # mlir-opt passes: a list, or {O0: [...], ...} per optimization level.
    passes: list[str] | dict[str, list[str]] | None = None
    generic: bool = False  # print the result in generic op form
    when: tuple[str, ...] = ()  # run only under one of these conditions (e.g. "grad")
    unless: tuple[str, ...] = ()  # skip under any of these conditions (e.g. "blas")
    load: tuple[str, ...] = ()  # mlir-opt pass plugins to load (PLUGINS)
    transform_library: str | None = None  # a transform library to preload
    where: str = ""  # file:line of the stage in its pipeline file

    def passes_for(self, opt: str) -> list[str]:
        if self.passes is None:
            return []
        if isinstance(self.passes, dict):
            return list(self.passes.get(opt, []))
        return list(self.passes)

    def runs_under(self, conditions: frozenset[str]) -> bool:
        return (not self.when or bool(conditions.intersection(self.when))) and (
            not conditions.intersection(self.unless)
        )

    def describe(self, opt: str) -> str:
        if self.step:
            return f"{self.name}: step {self.step}"
        passes = self.passes_for(opt)
        if not passes:
            return f"{self.name}: (no passes at this -O level)"
        extra = "".join(f" --load-pass-plugin=<{p}>" for p in self.load)
        if self.transform_library:
            library = f"<{self.transform_library}>"
            passes = [f"transform-preload-library{{transform-library-paths={library}}}", *passes]
        return f"{self.name}: mlir-opt{extra} --pass-pipeline='builtin.module({','.join(passes)})'"


@dataclass(frozen=True)
class Pipeline:
    """`target` is the name users pass to --target (the file's stem). Host
    code is generated for `host` (a configs/targets entry's codegen facts),
    device code for `device`; a pipeline without a device runs on the host."""

    target: str
    description: str
    host: Codegen | None = None
    device: Codegen | None = None
    host_target: str | None = None  # the configs/targets entries named
    device_target: str | None = None
    stages: tuple[Stage, ...] = ()
    path: Path | None = None
    archs: tuple[str, ...] = field(default=())  # what --arch may name (device target's)

    def active(self, conditions: frozenset[str] = frozenset()) -> tuple[Stage, ...]:
        """The stages that run: unconditional ones, those whose `when` holds and
        those whose `unless` does not."""
        return tuple(s for s in self.stages if s.runs_under(conditions))

    def render(self, opt: str, conditions: frozenset[str] = frozenset()) -> str:
        lines = [f"# target {self.target} (-{opt}): {self.description}", f"# from {self.path}"]
        lines += [
            f"{i:2d}. {stage.describe(opt)}" for i, stage in enumerate(self.active(conditions), 1)
        ]
        return "\n".join(lines)

    def to_json(self, opt: str, conditions: frozenset[str] = frozenset()) -> dict[str, Any]:
        return {
            "target": self.target,
            "opt": opt,
            "host-target": self.host_target,
            "device-target": self.device_target,
            "device": asdict(self.device) if self.device else None,
            "stages": [
                {
                    "name": s.name,
                    "step": s.step,
                    "passes": None if s.step else s.passes_for(opt),
                    **({"when": list(s.when)} if s.when else {}),
                    **({"load": list(s.load)} if s.load else {}),
                    **({"transform-library": s.transform_library} if s.transform_library else {}),
                }
                for s in self.active(conditions)
            ],
        }
