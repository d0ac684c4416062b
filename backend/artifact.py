"""A compiled program: the artifact directory (artifact.json + products) and
how to run it with numpy arrays."""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bootstrap import proc
from ..bootstrap.errors import BuildError, MlirbootError, UsageError
from ..bootstrap.jsonfile import load_object
from .devices import DeviceError, require_device  # DeviceError: importable from here too
from .program import Signature

ARTIFACT_JSON = "artifact.json"
FIX = "compile it again with `mlirboot compile PROG.mlir -o DIR`"
# The parts of artifact.json that loading and running read, checked on load.
FIELDS: dict[str, Any] = {
    "target": str,
    "signature": dict[str, Any],
    "files": dict[str, str],
    "device_backend": str | None,
    "info": dict[str, Any],
    "readonly_args": list[int],
}
# (device backend, toolchain) pairs whose device this process has seen.
_DEVICES_SEEN: set[tuple[str, str | None]] = set()


def read_meta(path: Path) -> dict[str, Any]:
    """artifact.json of the artifact dir `path`, checked: the one reader of it."""
    return load_object(
        path / ARTIFACT_JSON,
        what="artifact metadata",
        fix=FIX,
        missing_hint="not an mlirboot artifact: compile one with "
        "`mlirboot compile PROG.mlir -o DIR`",
        fields=FIELDS,
        required=("target", "signature", "files"),
    )


@dataclass
class Artifact:
    path: Path
    target: str
    signature: Signature
    meta: dict[str, Any]
    last_log: str = field(default="", repr=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Artifact:
        path = Path(path)
        meta_path = path / ARTIFACT_JSON
        meta = read_meta(path)
        try:
            signature = Signature.from_json(meta["signature"])
        except (KeyError, TypeError, ValueError, StopIteration, AttributeError):
            raise UsageError(
                "artifact metadata: malformed `signature`", where=str(meta_path), hint=FIX
            ) from None
        return cls(path, meta["target"], signature, meta)

    @property
    def files(self) -> dict[str, Path]:
        """Every product of the compile (executable, device images, StableHLO...)."""
        return {k: self.path / v for k, v in self.meta["files"].items() if (self.path / v).exists()}

    def check_inputs(self, arrays: tuple[Any, ...], names: list[str] | None = None) -> list[Any]:
        """`names`: where each array came from (the --input files), for errors."""
        import numpy as np

        sig = self.signature
        if len(arrays) != len(sig.args):
            raise UsageError(
                f"@{sig.entry} takes {len(sig.args)} inputs, got {len(arrays)}",
                where="--input" if names is not None else "inputs",
                hint="pass one per argument: " + ", ".join(str(a) for a in sig.args),
            )
        checked = []
        for i, (arr, want) in enumerate(zip(arrays, sig.args, strict=True)):
            arr = np.asarray(arr)
            where = f"--input {names[i]}" if names is not None else f"input {i}"
            if arr.dtype != np.dtype(want.dtype):
                raise UsageError(
                    f"input {i} has dtype {arr.dtype}, @{sig.entry} expects {want.dtype} ({want})",
                    where=where,
                    hint=f"convert it, e.g. arr.astype(np.{want.dtype})",
                )
            if tuple(arr.shape) != want.shape:
                raise UsageError(
                    f"input {i} has shape {tuple(arr.shape)}, @{sig.entry} expects "
                    f"{want.shape} ({want})",
                    where=where,
                    hint=f"pass an array of shape {want.shape}",
                )
            checked.append(np.ascontiguousarray(arr))
        return checked

    def run(
        self,
        *arrays: Any,
        info: bool = False,
        pjrt_plugin: str | None = None,
        names: list[str] | None = None,
        isolated: bool = False,
        threads: int | None = None,
    ) -> list[Any]:
        """Run the entry on numpy arrays. Returns the entry's results in order;
        for an entry without results, the final contents of every argument
        (memrefs it writes into), in argument order. `info` asks the offload
        runtime for its mapping report (LIBOMPTARGET_INFO); the run's output is
        kept in `last_log`. Host code runs inside this process (its shared
        library) unless `isolated`: then, like every other target, in a process
        of its own, which a crash in the compiled code cannot take down.
        `threads`: how many threads the host and offload-host targets' parallel
        loops run on (default: $OMP_NUM_THREADS, else one per core)."""
        import numpy as np

        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise UsageError(
                f"threads must be a positive integer, got {threads!r}",
                where="threads",
                hint="pass e.g. threads=2, or leave it out for one per core",
            )
        inputs = self.check_inputs(arrays, names)
        sig = self.signature
        _check_fits_in_memory(sig)
        threads = _default_threads(sig, threads)
        library = self.meta.get("files", {}).get("shared_library")
        if (
            library
            and not isolated
            and not info
            and (self.path / library).is_file()
            and self._offload_in_process()
        ):
            from .inprocess import call

            # Arguments the code never writes go in without a copy, unless
            # the entry has no results: then every argument is returned, and
            # what it returns must never be the caller's array.
            readonly = (
                frozenset(self.meta.get("readonly_args") or ()) if sig.results else frozenset()
            )
            outs = call(self.path / library, sig.entry, sig.buffers, inputs, threads, readonly)
            self.last_log = ""
            return outs[len(sig.args) :] if sig.results else outs
        with tempfile.TemporaryDirectory(prefix="mlirboot-run-") as tmp:
            io = Path(tmp)
            for i, arr in enumerate(inputs):
                (io / f"arg{i}.bin").write_bytes(arr.tobytes())
            try:
                if self.meta.get("files", {}).get("portable_artifact"):
                    self._run_pjrt(io, pjrt_plugin)
                else:
                    self._run_native(io, info, threads)
            except MlirbootError as err:
                _forget_deleted_log(err, tmp)
                raise
            buffers = sig.buffers
            outs = []
            for i, buf in enumerate(buffers):
                data = (io / f"out{i}.bin").read_bytes()
                outs.append(np.frombuffer(data, dtype=buf.dtype).reshape(buf.shape).copy())
        if sig.results:
            return outs[len(sig.args) :]
        return outs

    def _offload_in_process(self) -> bool:
        """Whether this process may run the library's kernels: true without an
        offload device. With one (offload-host), its device must be there
        (asked once per process), and libomptarget must refuse a host fallback
        as the process runner's does: OMP_TARGET_OFFLOAD=MANDATORY, set here
        when unset (libomptarget reads it when the first image registers);
        another setting keeps the process runner. So does
        MLIRBOOT_OFFLOAD_THREADS: the device image prints its thread report
        when it is unloaded, at the end of the process (then in last_log)."""
        device = self.meta.get("device_backend")
        if not device:
            return True
        if os.environ.get("MLIRBOOT_OFFLOAD_THREADS"):
            return False
        mode = os.environ.setdefault("OMP_TARGET_OFFLOAD", "MANDATORY")
        if mode.upper() != "MANDATORY":
            return False
        key = (device, self.meta.get("toolchain"))
        if key not in _DEVICES_SEEN:
            require_device(device, self.target, self.meta.get("toolchain"))
            _DEVICES_SEEN.add(key)
        return True

    def _run_native(self, io: Path, info: bool, threads: int | None) -> None:
        device = self.meta.get("device_backend")
        env = (
            {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
            if threads
            else {}
        )
        if device:
            require_device(device, self.target, self.meta.get("toolchain"))
            # Never a silent host fallback: the runtime must use the device.
            env["OMP_TARGET_OFFLOAD"] = "MANDATORY"
            if info:
                env["LIBOMPTARGET_INFO"] = "1"
        result = proc.run(
            [self.path / "prog", io], stage=f"{self.target}/run", env=env, log_path=io / "run.log"
        )
        self.last_log = result.output

    def _run_pjrt(self, io: Path, plugin: str | None) -> None:
        # Compiled with the target's default plugin (configs/targets codegen.pjrt_plugin).
        plugin = plugin or self.meta["info"]["pjrt_plugin"]
        cmd = [sys.executable, self.path / "launch.py", "--plugin", plugin, self.path, io]
        libtpu = self.meta.get("info", {}).get("libtpu")
        env = (
            {"TPU_LIBRARY_PATH": libtpu}
            if libtpu and "TPU_LIBRARY_PATH" not in os.environ
            else None
        )
        result = proc.run(
            cmd, stage=f"{self.target}/run", check=False, env=env, log_path=io / "run.log"
        )
        self.last_log = result.output
        if result.returncode == 3:  # the launcher's "device absent" exit
            line = result.output.strip().splitlines()[-1] if result.output.strip() else "?"
            raise DeviceError(
                line,
                where=f"{self.target}/run",
                hint="on a TPU host install libtpu; elsewhere pass "
                "--pjrt-plugin cpu or --pjrt-plugin PATH/TO/plugin.so",
            )
        if result.returncode != 0:
            first = proc.first_diagnostic(result.output.splitlines()) or "launcher failed"
            raise BuildError(
                f"PJRT launcher failed: {first}",
                where=f"{self.target}/run",
                hint="see the launcher output above",
            )


# Below this many elements in all its buffers a program runs on one thread
# unless told otherwise (`threads`, $OMP_NUM_THREADS): forking a team costs
# more than such work (on 2 busy cores a 4x4 matmul call took 54 us on one
# thread, 134 us on two).
SMALL_PROGRAM_ELEMENTS = 1 << 12


def _default_threads(sig: Signature, threads: int | None) -> int | None:
    """`threads`, else 1 for a small program when $OMP_NUM_THREADS is unset,
    else None (libomp's own default: one thread per core)."""
    if threads is not None or os.environ.get("OMP_NUM_THREADS", "").strip():
        return threads
    elements = sum(math.prod(b.shape) for b in sig.buffers)
    return 1 if elements < SMALL_PROGRAM_ELEMENTS else None


def _check_fits_in_memory(sig: Signature) -> None:
    """The entry's buffers (arguments and results) against this machine's
    memory: a gigantic static shape is one line, not the OOM killer."""
    need = sum(b.nbytes for b in sig.buffers)
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return
    if need > have:
        raise UsageError(
            f"its arguments and results need {need / 2**30:.1f} GiB; "
            f"this machine has {have / 2**30:.1f} GiB of memory",
            where=f"@{sig.entry}",
            hint="use smaller static shapes, or run on a machine with more memory",
        )


def _forget_deleted_log(err: MlirbootError, tmp: str) -> None:
    """The run's scratch dir is deleted on the way out: a hint naming a log in
    it would point nowhere (BuildError's details carry the output's tail)."""
    if err.hint and tmp in err.hint:
        err.hint = re.sub(rf";? *log: \S*{re.escape(tmp)}\S*", "", err.hint)
        err.hint = err.hint.replace("see the log for the full output", "").strip() or None
        if err.hint and tmp in err.hint:
            err.hint = re.sub(rf"\S*{re.escape(tmp)}\S*", "(deleted scratch file)", err.hint)
        err.hint = (err.hint or "") + ("; " if err.hint else "") + "the output's tail follows"
        err.args = (err.line(),)
