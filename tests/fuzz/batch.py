"""A fuzzing batch: programs seed..seed+count-1, each checked under its
configurations; failures are reduced and printed as reproducers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .generate import generate
from .runner import check, configs_for, reduce, reproducer, tpu_plugin


@dataclass
class Summary:
    programs: int = 0
    runs: Counter[str] = field(default_factory=Counter)  # status -> count
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # reproducers
    seconds: float = 0.0

    def line(self) -> str:
        runs = ", ".join(f"{k} {v}" for k, v in sorted(self.runs.items()))
        return (
            f"{self.programs} programs, {sum(self.runs.values())} runs ({runs}), "
            f"{len(self.failures)} failing programs, {self.seconds:.0f} s"
        )


def run_batch(
    seed: int, count: int, *, tpu: bool = True, log: Callable[[str], None] = print
) -> Summary:
    plugin = tpu_plugin() if tpu else None
    summary = Summary()
    start = time.monotonic()
    for s in range(seed, seed + count):
        program = generate(s)
        outcomes = check(program, configs_for(program, plugin is not None), plugin)
        summary.programs += 1
        summary.kinds.update(program.kinds)
        summary.runs.update(o.status for o in outcomes)
        bad = [o for o in outcomes if o.status in ("mismatch", "error")]
        if bad:
            small, config, outcome = reduce(program, bad[0].config, plugin)
            if outcome.status not in ("mismatch", "error"):
                # It did not fail again: report the first run as it was.
                small, config, outcome = program, bad[0].config, bad[0]
                outcome.detail = f"(did not reproduce on a rerun) {outcome.detail}"
            summary.failures.append(reproducer(small, config, outcome))
            log(summary.failures[-1])
            log(f"  (all failing configs of seed {s}: {', '.join(str(o.config) for o in bad)})")
        if (s - seed + 1) % 10 == 0:
            log(f"[{s - seed + 1}/{count}] {summary.line()}")
        summary.seconds = time.monotonic() - start
    return summary
