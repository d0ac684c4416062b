"""What a compile's stages share (one Context per compile), below both the
driver that runs the stages and the steps that implement them.

Files handed from step to step are typed fields of `Files`; each step says
which it needs and makes (backend/steps/registry.py), `pipeline.load` checks
that every need is made by an earlier stage, and `Context.file`/`Context.make`
hold each step to what it declared."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bootstrap import proc
from ..bootstrap.errors import BuildError
from ..bootstrap.targets import Codegen
from . import resident
from .grad import GradRequest
from .program import Signature
from .stages import Pipeline, Stage
from .toolbox import Toolbox

TEMPS = "temps"
SIGNATURE = "signature"  # the entry's signature: made by the parse step, like a file


@dataclass
class Files:
    """Files one step makes for later ones (and for the artifact)."""

    host_object: Path | None = None  # host code, linked last
    launcher_object: Path | None = None  # main(): reads inputs, calls the entry
    runtime_object: Path | None = None  # the temporaries' allocator (data/runtime/scratch.c)
    executable: Path | None = None
    shared_library: Path | None = None  # the entry, for in-process calls (Artifact.run)
    static_library: Path | None = None  # the entry archived (--emit staticlib)
    offload_mlir: Path | None = None  # the entry outlined into an omp.target region
    host_bc: Path | None = None  # host side of the split module
    device_ll: Path | None = None  # device side of the split module
    ptx: Path | None = None
    cubin: Path | None = None
    code_object: Path | None = None  # AMDGPU .hsaco
    spirv: Path | None = None
    device_embed: Path | None = None  # the device image embedded into the host object
    offload_binary: Path | None = None
    stablehlo: Path | None = None
    primal_stablehlo: Path | None = None  # the program a gradient was taken of
    portable_artifact: Path | None = None
    launcher: Path | None = None  # PJRT launcher script
    blas_objects: list[Path] = field(default_factory=list)  # shim objects (host link)
    blas_device_ir: list[Path] = field(default_factory=list)  # shim bitcode (device link)
    transform_libraries: dict[str, Path] = field(default_factory=dict)

    def to_json(self, root: Path) -> dict[str, str]:
        """Relative paths by name, as artifact.json lists them."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            items = (
                {f.name: value}
                if isinstance(value, Path)
                else {f"{f.name}.{p.stem}": p for p in value}
                if isinstance(value, list)
                else {f"{f.name}.{k}": p for k, p in (value or {}).items()}
            )
            out.update({k: str(p.relative_to(root)) for k, p in items.items() if p is not None})
        return out


FILE_NAMES = frozenset(f.name for f in dataclasses.fields(Files))
CONTRACT_NAMES = FILE_NAMES | {SIGNATURE}


@dataclass
class Info:
    """What the compile learned, kept in artifact.json's `info`."""

    writes: list[int] | None = None  # arguments a tensorized memref entry writes
    blas: dict[str, Any] | None = None
    kernels: list[str] | None = None  # offload kernel names in the device module
    validation: dict[str, str] = field(default_factory=dict)  # validator: what it said
    offloading: list[str] | None = None
    schedule: dict[str, Any] | None = None  # library, dtype, tiling, cpu (its facts)
    stablehlo_version: str | None = None
    pjrt_plugin: str | None = None
    libtpu: str | None = None
    launcher_object: str | None = None  # "compiled", or "cached" (compile_cache objects/)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {})}


@dataclass
class StageRecord:
    index: int
    name: str
    seconds: float
    output: str
    ops: dict[str, int] = field(default_factory=dict)
    # What the stage recognized/rewrote: {"location": "file:line:col", "what": ...}
    remarks: list[dict[str, str]] = field(default_factory=list)
    # Set when the stage ran in the mlir-opt process of stage `merged_into`
    # (its index): that stage's `seconds` are the whole process's, this one's 0.
    merged_into: int | None = None
    # A side step: it ran on a worker beside the stages after it (side_steps.py).
    beside: bool = False


@dataclass
class Context:
    """The program, the target's code generation facts, the tools and the
    files made so far."""

    source: Path
    pipeline: Pipeline
    opt: str
    entry: str | None
    tools: Toolbox
    workdir: Path
    arch: str | None = None  # --arch (checked against the device target's archs)
    options: dict[str, Any] = field(default_factory=dict)
    current: Path | None = None
    signature: Signature | None = None
    files: Files = field(default_factory=Files)
    info: Info = field(default_factory=Info)
    grad_info: dict[str, Any] | None = None  # set by a gradient step
    records: list[StageRecord] = field(default_factory=list)
    stage: Stage | None = None
    index: int = 0
    grad: GradRequest | None = None  # set by --grad: the `when: grad` stages run
    remarks: list[dict[str, str]] = field(default_factory=list)  # of the current stage
    # The running step's declared needs+reads and makes (None: an mlir-opt stage).
    allowed: tuple[frozenset[str], frozenset[str]] | None = None
    beside: bool = False  # a side step running beside the chain (side_steps.py)

    @property
    def target(self) -> str:
        return self.pipeline.target

    @property
    def device(self) -> Codegen:
        """The device code's facts, with --arch applied."""
        if self.pipeline.device is None:
            raise BuildError(f"target {self.target} has no device code", where=self.where())
        if self.arch:
            return dataclasses.replace(self.pipeline.device, arch=self.arch)
        return self.pipeline.device

    @property
    def host(self) -> Codegen:
        if self.pipeline.host is None:
            raise BuildError(f"target {self.target} has no host code", where=self.where())
        return self.pipeline.host

    @property
    def offload(self) -> bool:
        """Split host/device code (the device image is linked separately)."""
        return self.pipeline.device is not None and self.pipeline.host is not None

    @property
    def opt_flag(self) -> str:
        return f"-{self.opt}"

    def file(self, name: str) -> Path:
        """A file an earlier stage made, that this step declared it needs."""
        self._declared(name, 0)
        value = getattr(self.files, name)
        if not isinstance(value, Path):
            raise BuildError(f"internal error: no {name} was made", where=self.where())
        return value

    def maybe(self, name: str) -> Path | None:
        """A file this step reads if an earlier stage made it."""
        self._declared(name, 0)
        value = getattr(self.files, name)
        return value if isinstance(value, Path) else None

    def each(self, name: str) -> list[Path]:
        """The files of a list field (none if no stage made any)."""
        self._declared(name, 0)
        return list(getattr(self.files, name))

    def make(self, name: str, path: Path) -> Path:
        """Record `path` as the file `name` this step declared it makes."""
        self._declared(name, 1)
        current = getattr(self.files, name)
        if isinstance(current, list):
            current.append(path)
        else:
            setattr(self.files, name, path)
        return path

    def _declared(self, name: str, which: int) -> None:
        if self.allowed is not None and name not in self.allowed[which]:
            verb = ("needs", "makes")[which]
            raise BuildError(
                f"internal error: step {self.stage.step if self.stage else '?'} uses {name} "
                f"but does not declare that it {verb} it",
                where=self.where(),
            )

    def temp(self, suffix: str, tag: str = "") -> Path:
        """A file of the current stage under temps/ (kept with --save-temps)."""
        assert self.stage is not None
        name = f"{self.index:02d}-{self.stage.name}{'-' + tag if tag else ''}{suffix}"
        return self.workdir / TEMPS / name

    def product(self, name: str) -> Path:
        """A file that is part of the artifact (top level of the artifact dir)."""
        return self.workdir / name

    def remark(self, location: str, what: str) -> None:
        """Record what the current stage recognized or rewrote (--opt-report)."""
        self.remarks.append({"location": location, "what": what})

    def where(self) -> str:
        return f"{self.target}/{self.stage.name if self.stage else '?'}"

    def run(self, cmd: list[Any], *, tag: str = "", **kw: Any) -> proc.Result:
        log = self.temp(".log", tag or Path(str(cmd[0])).name)
        tool = self.tools.served_tool(cmd[0])
        argv = [str(c) for c in cmd]
        # A side step's compile would hold the server while the chain waits:
        # only its links (a quick answer: the linker command) are served.
        if tool and not set(kw) - {"check", "hint"} and not (self.beside and "-c" in argv):
            server = resident.server(self.tools.resident_mlir)
            served = server and resident.run(server, tool, argv, stage=self.where(), log_path=log)
            if isinstance(served, proc.Result):
                return served
            if served and (done := self._run_jobs(served, log, kw)):
                return done
        return self._process(cmd, log, **kw)

    def _run_jobs(self, jobs: list[list[str]], log: Path, kw: dict[str, Any]) -> proc.Result | None:
        """The commands a served run left (a link's linker), each a process
        logged beside `log`: the last one's result, or None if one failed
        (the tool itself then runs, and reports it)."""
        result = None
        for number, job in enumerate(jobs, 1):
            name = f"{log.stem}-{number}-{Path(job[0]).name}.log"
            result = self._process(job, log.with_name(name), **{**kw, "check": False})
            if result.returncode != 0:
                return None
        return result

    def _process(self, cmd: list[Any], log: Path, **kw: Any) -> proc.Result:
        # The tool's own temporaries (clang-linker-wrapper's images, ...) go to
        # a dir removed after it, so a tool stopped by an interrupt or a crash
        # leaves none in the user's $TMPDIR.
        # One per run: side steps run tools at the same time.
        scratch = Path(tempfile.mkdtemp(prefix=".tool-tmp-", dir=self.workdir / TEMPS))
        env = {**(kw.pop("env", None) or {}), "TMPDIR": str(scratch)}
        try:
            return proc.run(cmd, stage=self.where(), log_path=log, env=env, **kw)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
