"""The step contract: a step is a Python function named by `step:` in a
pipeline file, with the files it needs (made by an earlier stage), reads if
present, and makes (see backend/context.py: Files). A `side` step uses only
those files (never the chain's current file, and what it returns does not
become it), so the driver runs it beside the stages after it
(backend/side_steps.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from ...bootstrap.errors import UsageError
from ..context import CONTRACT_NAMES, Context

StepFn = Callable[[Context], Path | None]


@dataclass(frozen=True)
class StepSpec:
    name: str
    run: StepFn
    needs: frozenset[str]
    reads: frozenset[str]
    makes: frozenset[str]
    side: bool = False


class Uses(TypedDict):
    """What several steps read (`step(..., **uses, makes=...)`)."""

    needs: tuple[str, ...]
    reads: tuple[str, ...]


class Contract(Uses):
    """A whole contract several steps share (`step(name, **contract)`)."""

    makes: tuple[str, ...]
    side: bool


STEPS: dict[str, StepSpec] = {}


def step(
    name: str,
    *,
    needs: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    makes: tuple[str, ...] = (),
    side: bool = False,
) -> Callable[[StepFn], StepFn]:
    """Register a step under `name` with its contract."""
    unknown = sorted((set(needs) | set(reads) | set(makes)) - CONTRACT_NAMES)
    if unknown or name in STEPS:
        raise AssertionError(f"step {name}: unknown contract name {unknown} or registered twice")

    def register(fn: StepFn) -> StepFn:
        STEPS[name] = StepSpec(name, fn, frozenset(needs), frozenset(reads), frozenset(makes), side)
        return fn

    return register


def run_step(name: str, ctx: Context) -> Path | None:
    spec = lookup(name, ctx.where())
    ctx.allowed = (spec.needs | spec.reads, spec.makes)
    try:
        return spec.run(ctx)
    finally:
        ctx.allowed = None


def lookup(name: str, where: str) -> StepSpec:
    if name not in STEPS:
        raise UsageError(
            f"unknown pipeline step `{name}`",
            where=where,
            hint=f"known steps: {', '.join(sorted(STEPS))}",
        )
    return STEPS[name]
