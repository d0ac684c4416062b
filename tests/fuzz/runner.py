"""Compile and run a generated program under each configuration, compare
with its numpy model, and reduce a failure to a small reproducer.

A configuration is (target, -O level, --blas). Host and offload-host run
-O0, -O2 and --blas; tpu runs -O2 for tensor programs when jax and the CPU
PJRT plugin are importable (a tpu UsageError means "not in its op set": the
program is skipped there, never counted as passing or failing).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlirboot.backend.driver import compile_program
from mlirboot.bootstrap.errors import MlirbootError, UsageError

from .compare import compare
from .generate import Program


@dataclass(frozen=True)
class Config:
    target: str
    opt: str
    blas: bool = False

    def __str__(self) -> str:
        return f"--target {self.target} -{self.opt}{' --blas' if self.blas else ''}"


CPU_CONFIGS = tuple(
    Config(t, o, b)
    for t in ("host", "offload-host")
    for o, b in (("O0", False), ("O2", False), ("O2", True))
)
TPU_CONFIG = Config("tpu", "O2")


def tpu_plugin() -> str | None:
    """The CPU PJRT plugin for the tpu target's launcher, when jax is here."""
    try:
        import jax  # noqa: F401
        import lammps_jax_pjrt_cpu
    except ImportError:
        return None
    path = Path(lammps_jax_pjrt_cpu.__file__).parent / "pjrt_c_api_cpu_plugin.so"
    return str(path) if path.exists() else None


def configs_for(program: Program, tpu: bool) -> list[Config]:
    return [*CPU_CONFIGS, *([TPU_CONFIG] if tpu and program.family == "tensor" else [])]


@dataclass
class Outcome:
    config: Config
    status: str  # "ok" | "mismatch" | "error" | "skipped"
    detail: str = ""


def run_config(program: Program, config: Config, work: Path, plugin: str | None) -> Outcome:
    inputs = program.inputs()
    expected = program.reference(inputs)
    try:
        art = compile_program(
            program.text(),
            target=config.target,
            opt=config.opt,
            blas=config.blas,
            out=work / "art",
            use_cache=False,  # every configuration is compiled for real
        )
        got = art.run(*inputs, pjrt_plugin=plugin) if config.target == "tpu" else art.run(*inputs)
    except UsageError as err:
        if config.target == "tpu":
            return Outcome(config, "skipped", str(err))
        return Outcome(config, "error", str(err))
    except MlirbootError as err:
        return Outcome(config, "error", str(err))
    finally:
        import shutil

        shutil.rmtree(work / "art", ignore_errors=True)
    diff = compare(got, expected, program.dtype)
    return Outcome(config, "mismatch" if diff else "ok", diff)


def check(program: Program, configs: list[Config], plugin: str | None = None) -> list[Outcome]:
    with tempfile.TemporaryDirectory(prefix="mlirboot-fuzz-") as tmp:
        return [run_config(program, c, Path(tmp), plugin) for c in configs]


def reduce(
    program: Program, config: Config, plugin: str | None = None
) -> tuple[Program, Config, Outcome]:
    """Drop components while the failure persists (memref programs: every
    component only reads and writes arguments, so any subset is valid), then
    pick the first failing configuration in CPU_CONFIGS order (host before
    offload-host, -O0 before -O2 before --blas)."""
    with tempfile.TemporaryDirectory(prefix="mlirboot-fuzz-reduce-") as tmp:
        work = Path(tmp)
        first = run_config(program, config, work, plugin)
        if first.status in ("ok", "skipped"):
            return program, config, first
        outcome = first
        if program.family == "memref":
            i = 0
            while i < len(program.components) and len(program.components) > 1:
                candidate = program.without(i)
                trial = run_config(candidate, config, work, plugin)
                if trial.status == first.status:
                    program, outcome = candidate, trial
                else:
                    i += 1
        for smaller in CPU_CONFIGS:
            if smaller == config:
                break
            trial = run_config(program, smaller, work, plugin)
            if trial.status == first.status:
                return program, smaller, trial
        return program, config, outcome


def reproducer(program: Program, config: Config, outcome: Outcome) -> str:
    """The report of a reduced failure: what, the command and the program."""
    return "\n".join(
        [
            f"FUZZ {outcome.status.upper()}: {program.name} ({program.dtype}, "
            f"{' + '.join(program.kinds)})",
            f"  mlirboot run prog.mlir {config}  # inputs: numpy default_rng({program.seed}), "
            "see tests/fuzz/generate.py Program.inputs",
            f"  {outcome.detail}",
            "---- prog.mlir ----",
            program.text(),
            "----",
        ]
    )
