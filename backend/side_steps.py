"""Side steps run beside the stages after them.

A compile is a chain of stages, each reading the file the one before made,
plus side steps that use only files they declare (steps/registry.py `side`):
the launcher and runtime objects, the links. Run in order, their tools wait
for each other although nothing they do depends on the chain. Here each
starts on a worker thread when the driver reaches it and runs while the
chain goes on; a step that needs a file a side step makes waits for that
step first. Steps are started in stage order and only ever wait for earlier
ones, so the workers never deadlock.

Errors are the failing step's own, raised when something waits for it or at
`finish`, the first failure in stage order; the compile then stops as if the
stages had run one by one (`drain` lets running tools end first, so nothing
writes into a removed work dir).
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..bootstrap.engine import hostinfo
from .context import Context, StageRecord
from .stages import Stage
from .steps.registry import StepSpec, run_step


class SideSteps:
    """`inline`: each side step runs when it is started, in the caller's
    thread (stages strictly one after another: A/B measurements)."""

    def __init__(self, *, inline: bool = False) -> None:
        self._inline = inline
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[Future[StageRecord]] = []
        self._makers: dict[str, Future[StageRecord]] = {}

    def start(self, ctx: Context, stage: Stage, index: int, spec: StepSpec) -> None:
        """Run side step `spec` (stage `stage`, number `index`) on a worker."""
        before = self._waits(spec.needs | spec.reads)
        # Its own view of the compile: the files and facts are shared, the
        # stage being run (temps names, remarks) is its own.
        view = dataclasses.replace(ctx, stage=stage, index=index, remarks=[], allowed=None)
        if self._inline:
            job: Future[StageRecord] = Future()
            try:
                job.set_result(_run(view, spec, before, beside=False))
            except Exception as err:  # raised where a threaded run's would be
                job.set_exception(err)
        else:
            if self._pool is None:
                # One worker per core this process may use.
                self._pool = ThreadPoolExecutor(
                    hostinfo.cpu_count(), thread_name_prefix="mlirboot-side"
                )
            view.beside = True
            job = self._pool.submit(_run, view, spec, before, beside=True)
        self._jobs.append(job)
        self._makers.update(dict.fromkeys(spec.makes, job))

    def wait_for(self, names: frozenset[str]) -> None:
        """Before a chain step: the side steps making what it uses are done."""
        for job in self._waits(names):
            job.result()

    def finish(self) -> list[StageRecord]:
        """Every side step done: their records (raises the first failure)."""
        try:
            return [job.result() for job in self._jobs]
        finally:
            self.drain()

    def drain(self) -> None:
        """Nothing of ours runs any more (steps not yet started never will)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _waits(self, names: frozenset[str]) -> list[Future[StageRecord]]:
        return list(dict.fromkeys(self._makers[n] for n in sorted(names) if n in self._makers))


def _run(
    ctx: Context, spec: StepSpec, before: list[Future[StageRecord]], *, beside: bool
) -> StageRecord:
    for job in before:
        job.result()
    assert ctx.stage is not None
    start = time.monotonic()
    made = run_step(spec.name, ctx)
    return StageRecord(
        ctx.index,
        ctx.stage.name,
        time.monotonic() - start,
        str(made.relative_to(ctx.workdir)) if isinstance(made, Path) else "",
        {},
        ctx.remarks,
        beside=beside,
    )
