"""Runs a target's pipeline over one program: every stage reads the previous
stage's file and writes its own into a private work directory, which becomes
the artifact directory only when everything succeeded (no partial outputs)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..bootstrap import proc
from ..bootstrap.errors import BuildError, MlirbootError, UsageError
from ..bootstrap.fsutil import staging_dir
from ..bootstrap.schema import did_you_mean
from . import compile_cache, outputs, resident
from . import emit as emit_mod
from .artifact import ARTIFACT_JSON, Artifact
from .context import TEMPS, Context, StageRecord
from .entry_effects import readonly_args
from .grad import GradRequest, parse_wrt
from .pipeline import OPT_LEVELS, Pipeline, Stage, default_target, targets
from .pipeline import load as load_pipeline
from .schedules import matmul
from .side_steps import SideSteps
from .steps import run_step
from .steps.registry import STEPS, lookup
from .tensorize import source_location
from .toolbox import Toolbox

_OP = re.compile(r"^\s*(?:%[\w#:, %]+=\s*)?\"?([a-z_]+\.[a-z_.]+)\"?[ (<{]", re.M)
# An optimization remark as mlir-opt prints it (the source excerpt lines that
# follow it are not matched). Passes of the MlirbootPasses plugin say "mlirboot: ".
_REMARK = re.compile(r"^(?P<loc>\S+?:\d+:\d+): remark: (?:mlirboot: )?(?P<what>.*)$", re.M)


def _without(passes: list[str], disabled: Sequence[str]) -> list[str]:
    """`passes` minus the named passes, also inside nested lists such as
    func.func(a,b,c) (options={"disable_passes": [...]}: A/B measurements)."""
    for name in disabled:
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?:\{{[^}}]*\}})?(?![\w-]),?")
        passes = [re.sub(r",\)", ")", pattern.sub("", p)) for p in passes]
    return [p for p in passes if p and not p.endswith("()")]


def _stage_passes(ctx: Context, stage: Stage) -> list[str]:
    """The stage's passes at this -O level, with the A/B options applied.
    options: {"stage_passes": {stage: [...]}} replaces a stage's passes and
    {"disable_passes": [...]} drops passes (A/B measurements, benchmarks/)."""
    override = ctx.options.get("stage_passes", {}).get(stage.name)
    return _without(
        stage.passes_for(ctx.opt) if override is None else list(override),
        ctx.options.get("disable_passes", ()),
    )


def _input_passes(passes: list[str], load: list[str], current: Path) -> tuple[list[str], list[str]]:
    """`passes` and the plugins to load, adjusted to what the input holds."""
    if any("hoist-static-allocs" in p for p in passes) and _returns_a_value_twice(current):
        # LLVM 22's buffer-results-to-out-params crashes hoisting the alloc of
        # a value returned twice (it erases the alloc the second copy reads).
        passes = [re.sub(r"hoist-static-allocs ?", "", p) for p in passes]
    if any(p.startswith("buffer-deallocation-pipeline") for p in passes) and _frees_memory(current):
        # Ownership-based deallocation refuses a program's own memref.dealloc
        # ("memory free side-effect ... not supported"): drop them first, the
        # pipeline then frees every buffer after its last use.
        passes = ["mlirboot-drop-deallocs", *passes]
        load = load + ([] if "passes" in load else ["passes"])
    return passes, load


def _mergeable(stage: Stage) -> bool:
    """A pass-only stage whose result needs no Python between it and its
    neighbours: not printed generic. (A plugin is loaded once for the whole
    run, its remarks go to the stage whose passes made them; a transform
    library is preloaded once, and checked per stage afterwards.)"""
    return stage.step is None and not stage.generic


def _library(group: list[Stage]) -> str | None:
    """The transform library of the group's stages (at most one), if any."""
    return next((s.transform_library for s in group if s.transform_library), None)


def _same_library(stage: Stage, group: list[Stage]) -> bool:
    """Whether `stage` can join `group` without a second transform library."""
    mine, theirs = stage.transform_library, _library(group)
    return mine is None or theirs is None or mine == theirs


def merge_groups(ctx: Context, stages: Sequence[Stage]) -> list[list[Stage]]:
    """The stages cut into runs of one mlir-opt process each (a list of one for
    a step or a stage that runs alone). Consecutive mergeable stages share a
    process, unless they use two transform libraries (a run preloads one).
    options {"merge_stages": False}: one process per stage (A/B measurements)."""
    groups: list[list[Stage]] = []
    allow = ctx.options.get("merge_stages", True)
    for stage in stages:
        last = groups[-1] if groups else None
        if (
            allow
            and last is not None
            and _mergeable(stage)
            and _mergeable(last[0])
            and _stage_passes(ctx, last[0])  # the first one runs (its file is not a copy)
            and _same_library(stage, last)
        ):
            last.append(stage)
        else:
            groups.append([stage])
    return groups


_MARK = "mlirboot-stage-"
_DUMP = re.compile(rf"^// -----// IR Dump {_MARK}(\d+) //----- //\n", re.M)
_MODULE_END = re.compile(r"^\}.*$", re.M)


def _mlir_opt_merged(ctx: Context, group: list[Stage], first_index: int) -> bool | None:
    """Run the group's stages in one mlir-opt process. Each stage boundary is a
    print-ir pass (it prints the module and changes nothing), from whose dump
    that stage's temps file is written; the last stage's file is mlir-opt's
    output, as if it had run alone. Records one StageRecord per stage: the
    first holds the process's seconds, the others `merged_into` it. None
    (nothing run) if the first stage must run alone (no passes here); False (nothing
    recorded) if the run failed, or if a stage's input-dependent passes
    (_input_passes), chosen from the group's input, differ from what its real
    input (the dump before it) asks for: the caller then runs the stages one
    by one, so an error is reported as the failing stage's own."""
    current = ctx.current
    assert current is not None
    ctx.stage, ctx.index, ctx.remarks = group[0], first_index, []
    start = time.monotonic()
    chosen: list[tuple[list[str], list[str]]] = [
        _input_passes(_stage_passes(ctx, stage), list(stage.load), current) for stage in group
    ]
    if not chosen[0][0]:
        return None
    load = [name for _, wanted in chosen for name in wanted]
    load = list(dict.fromkeys(load))
    library = _library([s for s, (passes, _) in zip(group, chosen, strict=True) if passes])
    pipeline: list[str] = []
    if library:
        # Loaded once per mlir-opt run (a second load is a "doubly defined symbol").
        pipeline.append(matmul.preload(_transform_library(ctx, library)))
    pipeline += chosen[0][0]
    marks: list[int] = []
    for offset, (passes, _) in enumerate(chosen[1:], 1):
        if passes:
            pipeline.append(f"print-ir{{label={_MARK}{offset - 1}}}")
            marks.append(offset - 1)
            pipeline += passes
    ctx.index, ctx.stage = first_index + len(group) - 1, group[-1]
    out = ctx.temp(".mlir")
    ctx.stage, ctx.index = group[0], first_index
    cmd: list[Any] = [
        ctx.tools.tool("mlir-opt"),
        current,
        "-o",
        out,
        "--mlir-print-debuginfo",
        f"--pass-pipeline=builtin.module({','.join(pipeline)})",
    ]
    cmd += _plugin_args(ctx, load, one_line_remarks=bool(load))
    result = ctx.run(cmd, check=False)
    if result.returncode != 0:
        out.unlink(missing_ok=True)
        return False
    # Each dump is the module, up to its closing brace in column 0; what
    # follows it until the next dump is the next stage's diagnostics.
    dumps: dict[int, str] = {}
    found = list(_DUMP.finditer(result.output))
    for m in found:
        close = _MODULE_END.search(result.output, m.end())
        if close is None:
            break
        dumps[int(m.group(1))] = result.output[m.end() : close.end()] + "\n"
    if sorted(dumps) != marks:
        out.unlink(missing_ok=True)
        return False
    seconds = time.monotonic() - start
    # The IR after each stage: the next dump (stages without passes between
    # change nothing), or mlir-opt's output.
    paths: list[Path] = []
    for offset, stage in enumerate(group):
        ctx.stage, ctx.index = stage, first_index + offset
        later = [m for m in marks if m >= offset]
        if later:
            path = ctx.temp(".mlir")
            path.write_text(dumps[later[0]])
        else:
            path = out if offset == len(group) - 1 else ctx.temp(".mlir")
            if path != out:
                shutil.copyfile(out, path)
        paths.append(path)
    inputs = [current, *paths[:-1]]
    for stage, (passes, wanted), given in zip(group, chosen, inputs, strict=True):
        if (passes, wanted) != _input_passes(_stage_passes(ctx, stage), list(stage.load), given):
            for path in paths:
                path.unlink(missing_ok=True)
            return False
    # Remarks (as a stage run alone records them): those before the first
    # dump are the first stage's, those after dump j the next stage's.
    remarks: dict[int, list[dict[str, str]]] = {}
    for hit in _REMARK.finditer(result.output):
        before = [int(m.group(1)) for m in found if m.start() < hit.start()]
        owner = before[-1] + 1 if before else 0
        remarks.setdefault(owner, []).append(
            {"location": _display_location(ctx, hit["loc"]), "what": hit["what"].strip()}
        )
    for offset, (stage, path, previous) in enumerate(zip(group, paths, inputs, strict=True)):
        ctx.stage, ctx.index = stage, first_index + offset
        ctx.remarks = remarks.get(offset, [])
        # The checks _mlir_opt makes for a stage run alone.
        if stage.load:
            _specialization_remarks(ctx, previous, path)
        if stage.transform_library and chosen[offset][0]:
            _check_memref_ops_kept(ctx, previous, path)
        ctx.records.append(
            StageRecord(
                ctx.index,
                stage.name,
                seconds if offset == 0 else 0.0,
                str(path.relative_to(ctx.workdir)),
                _count_ops(path),
                ctx.remarks,
                merged_into=None if offset == 0 else first_index,
            )
        )
    ctx.current = out
    return True


def _plugin_args(ctx: Context, load: list[str], *, one_line_remarks: bool) -> list[str]:
    """mlir-opt's arguments that load the pass plugins `load`; with
    `one_line_remarks`, a remark prints as one line (not with the whole op it
    is attached to), as the remark parsing here expects."""
    args = [f"--load-pass-plugin={ctx.tools.plugin(name)}" for name in load]
    if one_line_remarks:
        args.append("--mlir-print-op-on-diagnostic=false")
    return args


def _mlir_opt(ctx: Context, stage: Stage) -> Path:
    current = ctx.current
    assert current is not None  # the input program, at least
    passes, load = _input_passes(_stage_passes(ctx, stage), list(stage.load), current)
    out = ctx.temp(".mlir")
    if not passes and not stage.generic:
        shutil.copyfile(current, out)  # keep one file per stage for --save-temps
        return out
    cmd: list[Any] = [ctx.tools.tool("mlir-opt"), current, "-o", out, "--mlir-print-debuginfo"]
    cmd += _plugin_args(ctx, load if passes else [], one_line_remarks=bool(stage.load))
    if passes and stage.transform_library:
        # Loaded once per mlir-opt run (a second load is a "doubly defined symbol").
        passes = [matmul.preload(_transform_library(ctx, stage.transform_library)), *passes]
    if passes:
        cmd.append(f"--pass-pipeline=builtin.module({','.join(passes)})")
    if stage.generic:
        cmd.append("--mlir-print-op-generic")
    result = ctx.run(cmd, check=False)
    if result.returncode != 0 and _schedule_gave_up(passes, result.output):
        # The schedule is an optimization: the matmul keeps its plain lowering.
        ctx.remark(
            str(ctx.source),
            "matmul schedule not applied: the transform interpreter "
            "lost track of a folded loop (reduction of size 1); plain loops instead",
        )
        shutil.copyfile(current, out)
        return out
    if result.returncode != 0:
        first = proc.first_diagnostic(result.output.splitlines()) or "mlir-opt failed"
        if "Stack dump:" in result.output:
            first = "mlir-opt crashed (an LLVM bug; its stack dump is in the log)"
        first = first.replace(str(ctx.workdir / TEMPS) + "/", "")
        # An op the target has no lowering for is a property of the input
        # program (exit 2); anything else is a failed compile (exit 1).
        bad_op = (
            "failed to legalize",
            "was not bufferized",
            "failed to bufferize",
            # the plugin's device checks (mlirboot-math-approximation,
            # mlirboot-device-temporaries)
            "has no lowering for the",
            "would need a heap on the",
        )
        err_cls = UsageError if any(b in first for b in bad_op) else BuildError
        raise err_cls(
            f"mlir-opt failed: {first}",
            where=ctx.where(),
            hint=f"the op cannot be lowered for target {ctx.target}; log: {result.log_path}"
            if err_cls is UsageError
            else f"log: {result.log_path}",
        )
    for found in _REMARK.finditer(result.output):
        ctx.remark(_display_location(ctx, found["loc"]), found["what"].strip())
    if stage.load:
        _specialization_remarks(ctx, current, out)
    if stage.transform_library and passes:
        _check_memref_ops_kept(ctx, current, out)
    return out


def _schedule_gave_up(passes: list[str], output: str) -> bool:
    """The tensor matmul schedule failed in the known LLVM 22 way: a one-trip
    loop it still holds a handle to (a matmul with K = 1) is folded by the
    canonicalization inside the schedule ("tracking listener failed to find
    replacement op"). Nothing was rewritten: the stage's input stands."""
    return any("entry-point=matmul_tile_and_vectorize" in p for p in passes) and (
        "tracking listener failed to find replacement op" in output
    )


_RETURN = re.compile(r"^\s*(?:func\.)?return\s+(?P<operands>[^:\n]+):", re.M)


_DEALLOC = re.compile(r"^\s*memref\.dealloc\b|\"memref\.dealloc\"", re.M)


def _frees_memory(path: Path) -> bool:
    """Whether the program frees a buffer itself (memref.dealloc)."""
    return _DEALLOC.search(path.read_text()) is not None


def _returns_a_value_twice(path: Path) -> bool:
    """Whether some function returns the same SSA value more than once."""
    for found in _RETURN.finditer(path.read_text()):
        operands = [o.strip() for o in found["operands"].split(",")]
        if len(set(operands)) < len(operands):
            return True
    return False


# A matmul that writes a memref (buffer semantics: no results, outs(... : memref<...>)).
_MEMREF_LINALG = re.compile(r"^\s*linalg\.(?:batch_)?matmul\b[^\n]*\bouts\([^)]*:\s*memref<", re.M)


def _check_memref_ops_kept(ctx: Context, before: Path, after: Path) -> None:
    """The matmul schedule rewrites value-semantic matmuls only: every matmul
    on memrefs must survive its stages (one that vanished was dropped, not
    rewritten, and what it wrote would be silently lost). Other memref ops are
    not counted: canonicalization may legitimately drop dead copies the
    schedule's own bufferization made."""
    had = len(_MEMREF_LINALG.findall(before.read_text()))
    has = len(_MEMREF_LINALG.findall(after.read_text()))
    if has < had:
        raise BuildError(
            f"internal error: the schedule dropped {had - has} matmul(s) on memrefs",
            where=ctx.where(),
            hint="please report this with --save-temps output; -O1 or --blas avoid the schedule",
        )


_NAMED = re.compile(
    r"^\s*(?:%\S+ = )?(?P<op>linalg\.(?:batch_)?matmul|linalg\.conv_\w+)\b"
    r".* loc\((?P<loc>[^()]*)\)$",
    re.M,
)


def _specialization_remarks(ctx: Context, before: Path, after: Path) -> None:
    """mlirboot-specialize-generic-ops (upstream's naming, checked) names matmul/conv-shaped
    linalg.generic ops silently; report each named op that appeared at a
    location where no named op was and no plugin pass already spoke."""

    def named(path: Path) -> list[tuple[str, str]]:
        text = path.read_text()
        return [(m["op"], source_location(text, m["loc"])) for m in _NAMED.finditer(text)]

    had = {loc for _, loc in named(before)}
    said = {r["location"] for r in ctx.remarks}
    for op, loc in named(after):
        shown = _display_location(ctx, loc)
        if loc and loc not in had and shown not in said:
            ctx.remark(
                shown, f"recognized linalg.generic as {op} (mlirboot-specialize-generic-ops)"
            )
            said.add(shown)


def _display_location(ctx: Context, location: str) -> str:
    """Programs given as text live in the work dir, which is deleted: say <input>."""
    return location.replace(str(ctx.workdir / TEMPS / "00-input.mlir"), "<input>")


def _transform_library(ctx: Context, name: str) -> Path:
    """The rendered transform library `name` (one per compile, under temps/)."""
    libraries = ctx.files.transform_libraries
    if name not in libraries:
        # f64 matmuls get the f64 register tile (twice the vectors per row).
        text = ctx.current.read_text() if ctx.current else ""
        dtype = "f64" if re.search(r"linalg\.(batch_)?matmul[^\n]*xf64>", text) else "f32"
        cpu = matmul.HostCpu.read()  # vector width, cache sizes: the tile sizes
        tiling = matmul.Tiling.for_host(dtype, cpu=cpu)
        if name == "matmul-threads":  # row blocks as scf.forall: a target that runs threads
            tiling = dataclasses.replace(tiling, threads=True)
        libraries[name] = matmul.schedule_file(tiling, ctx.workdir / TEMPS)
        ctx.info.schedule = {
            "library": libraries[name].name,
            "dtype": dtype,
            "tiling": {
                "mr": tiling.mr,
                "nr": tiling.nr,
                "kc": tiling.kc,
                "mb": tiling.mb,
                "kc_few": tiling.kc_few,
            },
            "cpu": {"avx512": cpu.avx512, "l1d": cpu.l1d, "l2": cpu.l2},
        }
    return libraries[name]


def _readonly_args(ctx: Context) -> list[int]:
    """The entry's arguments its code never writes (Artifact.run passes them
    without a copy), judged on the last stage output that still holds the entry
    as a func.func: the final memref-level code the shared library is made
    from. None are without a shared library, or under --grad (Enzyme rewrites
    the entry's LLVM IR)."""
    if ctx.files.shared_library is None or ctx.grad_info is not None or ctx.signature is None:
        return []
    for record in reversed(ctx.records):
        path = ctx.workdir / record.output if record.output else None
        if path is None or path.suffix != ".mlir" or not path.is_file():
            continue
        text, sig = path.read_text(errors="replace"), ctx.signature
        found = readonly_args(text, sig.entry, len(sig.args), len(sig.buffers))
        if found is not None:
            return found
    return []


def _count_ops(path: Path) -> dict[str, int]:
    if path.suffix not in (".mlir", ".ll"):
        return {}
    text = path.read_text(errors="replace")
    if path.suffix == ".ll":
        counts = Counter(m.group(1) for m in re.finditer(r"=\s*(\w+)\s", text))
        counts.update(("call " + m.group(1)) for m in re.finditer(r"call \w+ @(\w+)", text))
        return dict(counts.most_common(8))
    return dict(Counter(_OP.findall(text)).most_common(8))


def _new_workdir(out: Path | None) -> Path:
    try:
        if out is not None:
            return staging_dir(out.absolute().parent, f".{out.name}.tmp-")
        return Path(tempfile.mkdtemp(prefix="mlirboot-artifact-"))
    except OSError as err:
        where = f"-o {out}" if out is not None else "compile"
        raise UsageError(
            f"cannot create a work directory: {err.strerror}",
            where=where,
            hint="pick an output in a writable directory",
        ) from None


def _has_pjrt(target: str) -> bool:
    device = load_pipeline(target).device
    return device is not None and bool(device.pjrt_plugin)


def _check_arch(pipeline: Pipeline, arch: str | None) -> None:
    """--arch against the device target's known archs (configs/targets/*.yaml)."""
    if arch is None:
        return
    if not pipeline.archs:
        raise UsageError(
            f"target {pipeline.target} has no device architectures",
            where=f"--arch {arch}",
            hint="drop --arch (targets with archs: "
            + ", ".join(t for t in targets() if load_pipeline(t).archs)
            + ")",
        )
    if arch not in pipeline.archs:
        raise UsageError(
            f"unknown {pipeline.device_target} arch `{arch}`",
            where=f"--arch {arch}",
            hint=did_you_mean(arch, pipeline.archs) or "known: " + ", ".join(pipeline.archs),
        )


def compile_program(
    source: str | os.PathLike[str],
    *,
    target: str | None = None,
    arch: str | None = None,
    out: str | os.PathLike[str] | None = None,
    entry: str | None = None,
    opt: str = "O2",
    save_temps: str | os.PathLike[str] | None = None,
    toolchain: str | os.PathLike[str] | None = None,
    options: dict[str, Any] | None = None,
    grad: str | None = None,
    wrt: str | Sequence[int] | None = None,
    blas: bool = False,
    use_cache: bool = True,
    emit: str = "artifact",
) -> Artifact:
    """Compile `source` (a path, or MLIR text) for `target`; returns an Artifact.
    With `grad=ENTRY` the artifact is ENTRY's gradient function, made by Enzyme
    (see backend/grad.py; `wrt` picks the arguments, default all). `blas=True`
    turns matmuls into OpenBLAS calls (host CPU targets: the pipelines with a
    `when: blas` stage). `target` None: the default target (_common.yaml).
    A compile seen before is copied from the compile cache (backend/
    compile_cache.py) unless `use_cache` is False or temps are kept.
    `emit="sharedlib"|"staticlib"` also writes lib<entry>.so|.a, <entry>.h and
    <entry>.rs into the artifact (backend/emit.py)."""
    resident.start(toolchain)
    opt = opt.lstrip("-").upper()
    if opt not in OPT_LEVELS:
        raise UsageError(
            f"unknown optimization level `{opt}`", where="-O", hint="one of -O0, -O1, -O2, -O3"
        )
    target = target or default_target()
    pipeline = load_pipeline(target)
    request = _grad_request(grad, wrt, entry)
    entry = request.entry if request else entry
    conditions = frozenset({"grad"} if request else ()) | frozenset({"blas"} if blas else ())
    conditions |= frozenset({emit} if emit == "staticlib" else ())
    stages = pipeline.active(conditions)
    _check_emit(pipeline, stages, emit)
    if blas and not any("blas" in s.when for s in stages):
        raise UsageError(
            f"--blas is not available for target {pipeline.target}",
            where="--blas",
            hint="BLAS replacement is for the CPU targets: "
            + ", ".join(t for t in targets() if _has_blas(t)),
        )
    _check_arch(pipeline, arch)
    plugin = (options or {}).get("pjrt_plugin")
    if plugin and (pipeline.device is None or not pipeline.device.pjrt_plugin):
        raise UsageError(
            f"target {pipeline.target} does not run through a PJRT plugin",
            where=f"--pjrt-plugin {plugin}",
            hint="drop --pjrt-plugin (targets that take it: "
            + ", ".join(t for t in targets() if _has_pjrt(t))
            + ")",
        )
    out_path = Path(out) if out is not None else None
    if _is_path(source):
        _program_file(Path(source))
    if out_path is not None:
        # The program inside the artifact dir is the more specific reason to
        # refuse (that dir is then not mlirboot's either): checked first.
        if _is_path(source):
            outputs.check_outside(Path(source), out_path, f"-o {out_path}")
        outputs.check_artifact_dir(out_path)
    if save_temps is not None:
        outputs.check_temps_dir(Path(save_temps))
        if _is_path(source):
            outputs.check_outside(Path(source), Path(save_temps), f"--save-temps {save_temps}")
        if out_path is not None:
            outputs.check_apart(out_path, Path(save_temps))
    workdir = _new_workdir(out_path)
    (workdir / TEMPS).mkdir()
    ctx: Context | None = None
    # options {"side_steps": False}: side steps in order too (A/B measurements).
    side = SideSteps(inline=not (options or {}).get("side_steps", True))
    source_name = str(Path(source)) if _is_path(source) else "<text>"
    entry_key = None
    try:
        src = _input_file(source, workdir)
        tools = Toolbox(toolchain)
        if (
            use_cache
            and compile_cache.enabled()
            and save_temps is None
            and not (options or {}).get("keep_temps")
        ):
            settings = {
                "source": source_name,
                "target": pipeline.target,
                "arch": arch,
                "entry": entry,
                "opt": opt,
                "options": options or {},
                "grad": grad,
                "wrt": wrt,
                "blas": blas,
                "emit": emit,
            }
            entry_key = compile_cache.key(src.read_bytes(), settings, tools.manifest)
            if compile_cache.fetch(entry_key, workdir):
                compile_cache.mark(
                    workdir,
                    entry_key,
                    hit=True,
                    source=source_name,
                    toolchain=str(toolchain) if toolchain else None,
                )
                return _finish(workdir, out_path, save_temps, keep_temps=False)
        ctx = Context(
            source=src,
            pipeline=pipeline,
            opt=opt,
            arch=arch,
            entry=entry,
            tools=tools,
            workdir=workdir,
            options=dict(options or {}),
            current=src,
            grad=request,
        )
        index = 1
        for group in merge_groups(ctx, stages):
            pending, merge = list(group), True
            while pending:
                ran = _mlir_opt_merged(ctx, pending, index) if merge and len(pending) > 1 else None
                if ran:
                    index += len(pending)
                    break
                # Not merged: this stage alone, then (unless the merged run
                # failed: then each stage alone, for its own error) the rest.
                merge = merge and ran is None
                stage = pending.pop(0)
                spec = lookup(stage.step, f"{pipeline.target}/{stage.name}") if stage.step else None
                if spec and spec.side:
                    side.start(ctx, stage, index, spec)
                    index += 1
                    continue
                if spec:
                    side.wait_for(spec.needs | spec.reads)
                ctx.stage, ctx.index, ctx.remarks = stage, index, []
                start = time.monotonic()
                result = run_step(stage.step, ctx) if stage.step else _mlir_opt(ctx, stage)
                if result is not None:
                    ctx.current = result
                ctx.records.append(
                    StageRecord(
                        index,
                        stage.name,
                        time.monotonic() - start,
                        str(ctx.current.relative_to(workdir)) if ctx.current else "",
                        _count_ops(ctx.current) if ctx.current else {},
                        ctx.remarks,
                    )
                )
                index += 1
        ctx.records = sorted([*ctx.records, *side.finish()], key=lambda r: r.index)
        assert ctx.signature is not None
        emitted = _emit(ctx, emit)
        meta: dict[str, Any] = {
            "target": pipeline.target,
            "arch": ctx.device.arch if pipeline.device else None,
            "opt": opt,
            "blas": blas,
            "device_backend": ctx.device.runtime_backend if ctx.offload else None,
            "toolchain": str(toolchain) if toolchain else None,
            "source": source_name,
            "signature": ctx.signature.to_json(),
            "grad": ctx.grad_info,
            "files": {
                **ctx.files.to_json(workdir),
                **{k: str(p.relative_to(workdir)) for k, p in emitted.items()},
            },
            "emit": emit,
            "info": ctx.info.to_json(),
            "stages": [r.__dict__ for r in ctx.records],
            "remarks": [{"stage": r.name, **m} for r in ctx.records for m in r.remarks],
            "readonly_args": _readonly_args(ctx),
        }
        if ctx.options.get("keep_temps"):
            # What the kept temps/ holds: outputs.artifact_owned replaces
            # nothing else found there.
            meta["temps"] = sorted(
                p.relative_to(workdir).as_posix()
                for p in (workdir / TEMPS).rglob("*")
                if not p.is_dir() or p.is_symlink()
            )
        (workdir / ARTIFACT_JSON).write_text(json.dumps(meta, indent=2) + "\n")
        if entry_key is not None:
            compile_cache.mark(
                workdir,
                entry_key,
                hit=False,
                source=source_name,
                toolchain=str(toolchain) if toolchain else None,
            )
            compile_cache.store(entry_key, workdir)
    except BaseException as err:
        side.drain()
        if save_temps is not None:
            # Checked before the compile; the compile's own error is what matters.
            with contextlib.suppress(MlirbootError, OSError):
                _save_temps(workdir, Path(save_temps))
        shutil.rmtree(workdir, ignore_errors=True)
        if isinstance(err, MlirbootError) and err.hint and str(workdir) in err.hint:
            # The work dir is gone (no partial outputs): point at the kept copy.
            kept = Path(save_temps) if save_temps is not None else None
            if kept is not None and kept.is_dir():
                err.hint = err.hint.replace(str(workdir / TEMPS), str(kept))
            else:
                # A path into the deleted work dir would send the user nowhere.
                err.hint = re.sub(
                    r"log: \S+", "rerun with --save-temps DIR to keep the logs", err.hint
                )
                err.hint = re.sub(
                    rf"\S*{re.escape(str(workdir))}\S*",
                    "(rerun with --save-temps DIR to keep it)",
                    err.hint,
                )
            err.args = (err.line(),)
        if isinstance(err, MlirbootError | KeyboardInterrupt):
            raise
        stage_name = ctx.stage.name if ctx is not None and ctx.stage else "setup"
        raise BuildError(
            f"internal error: {type(err).__name__}: {err}",
            where=f"{target}/{stage_name}",
            hint="please report this with --save-temps output",
        ) from err
    return _finish(workdir, out_path, save_temps, keep_temps=bool(ctx.options.get("keep_temps")))


def _finish(
    workdir: Path,
    out_path: Path | None,
    save_temps: str | os.PathLike[str] | None,
    *,
    keep_temps: bool,
) -> Artifact:
    """Keep the temps where asked, then move the artifact to `out_path`."""
    final = workdir
    try:
        if save_temps is not None:
            _save_temps(workdir, Path(save_temps))
        if not keep_temps:
            shutil.rmtree(workdir / TEMPS, ignore_errors=True)
        if out_path is not None:
            outputs.publish_artifact(workdir, out_path)
            final = out_path
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Artifact.load(final)


def _check_emit(pipeline: Pipeline, stages: Sequence[Stage], emit: str) -> None:
    """`--emit`: a known kind, and a pipeline with a stage making its library."""
    if emit not in emit_mod.KINDS:
        raise UsageError(
            f"unknown --emit kind `{emit}`",
            where="--emit",
            hint="one of " + ", ".join(emit_mod.KINDS),
        )
    if emit == "artifact":
        return
    wanted = emit_mod.LIBRARY_FILE[emit]
    if not any(s.step and wanted in STEPS[s.step].makes for s in stages if s.step in STEPS):
        raise UsageError(
            f"--emit {emit} is not available for target {pipeline.target}: its pipeline "
            f"makes no {wanted}",
            where="--emit",
            hint="the entry as a library is for host-code targets: --target host",
        )


def _emit(ctx: Context, emit: str) -> dict[str, Path]:
    """The library, header and binding `--emit` asks for (nothing by default)."""
    if emit == "artifact":
        return {}
    assert ctx.signature is not None
    name = emit_mod.check_name(ctx.signature.entry)
    library = getattr(ctx.files, emit_mod.LIBRARY_FILE[emit])
    return emit_mod.write(ctx.workdir, emit, library, ctx.signature, name, ctx.info.writes)


def _has_blas(target: str) -> bool:
    return any("blas" in s.when for s in load_pipeline(target).stages)


def _grad_request(
    grad: str | None, wrt: str | Sequence[int] | None, entry: str | None
) -> GradRequest | None:
    if grad is None:
        if wrt is not None:
            raise UsageError("--wrt without --grad", where="--wrt", hint="add --grad ENTRY")
        return None
    if entry is not None and entry != grad:
        raise UsageError(
            f"--entry {entry} and --grad {grad} name different functions",
            where="--grad",
            hint="--grad ENTRY already selects the entry",
        )
    return GradRequest(grad.lstrip("@"), parse_wrt(wrt))


def _is_path(source: str | os.PathLike[str]) -> bool:
    if isinstance(source, os.PathLike):
        return True
    return "\n" not in source and "{" not in source and len(source) < 4096


def _input_file(source: str | os.PathLike[str], workdir: Path) -> Path:
    if _is_path(source):
        return _program_file(Path(source)).resolve()
    path = workdir / TEMPS / "00-input.mlir"
    path.write_text(str(source))
    return path


def _program_file(path: Path) -> Path:
    if path.is_dir():
        raise UsageError(
            "the program is a directory",
            where=str(path),
            hint="pass an .mlir file (`mlirboot run` also takes an artifact dir)",
        )
    if path.exists() and not path.is_file():
        raise UsageError(
            "the program is not a regular file", where=str(path), hint="pass an .mlir file"
        )
    if not path.is_file():
        raise UsageError("program not found", where=str(path), hint="pass an .mlir file")
    return path


def _save_temps(workdir: Path, dest: Path) -> None:
    outputs.save_temps(workdir / TEMPS, dest)


def opt_report(artifact_meta: dict[str, Any]) -> str:
    """What was recognized and rewritten (`file:line:col: what`, one per line),
    then each stage's time and top ops."""
    remarks = artifact_meta.get("remarks", [])
    rows = [f"{r['location']}: {r['what']} [{r['stage']}]" for r in remarks]
    if not remarks:
        rows.append(f"(nothing recognized or rewritten at -{artifact_meta.get('opt', '?')})")
    rows += ["", f"{'#':>2}  {'stage':<18} {'seconds':>8}  output / top ops"]
    merged = beside = False
    for rec in artifact_meta["stages"]:
        ops = ", ".join(f"{k}={v}" for k, v in rec["ops"].items())
        into = rec.get("merged_into")
        seconds = f"{'in ' + str(into):>8}" if into is not None else f"{rec['seconds']:>8.3f}"
        merged = merged or into is not None
        beside = beside or bool(rec.get("beside"))
        rows.append(
            f"{rec['index']:>2}{'*' if rec.get('beside') else ' '} {rec['name']:<18} {seconds}  "
            f"{rec['output']}" + (f"\n{'':32}{ops}" if ops else "")
        )
    if merged:
        rows.append(
            "(in N: the stage ran in stage N's mlir-opt process; N's seconds are the whole run's)"
        )
    if beside:
        rows.append("(*: a side step, run beside the stages after it)")
    return "\n".join(rows)
