"""Compile latency from two changes that must not change what is compiled:
mlir-opt, mlir-translate and clang runs served by one resident process
(backend/resident.py, backend/passes/Resident.cpp), and side steps run on
worker threads beside the stages after them (backend/side_steps.py)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mbtest import llvm_ir_text
from mlirboot.backend import resident
from mlirboot.backend.driver import compile_program, opt_report
from mlirboot.backend.passes.plugin import cached_resident
from mlirboot.backend.steps import registry
from mlirboot.backend.toolbox import Toolbox
from mlirboot.bootstrap.errors import BuildError, UsageError

PROGRAMS = Path(__file__).parent / "programs"
DONE, FAILED = resident.Reply(0, []), resident.Reply(1, [])


def serves_clang() -> bool:
    """mlirboot-mlir serves clang where the LLVM install has libclang-cpp and
    clang's headers (backend/passes/CMakeLists.txt): Debian's LLVM 22 has both."""
    clang = Path(Toolbox().tool("clang")).resolve()
    return (clang.parent.parent / "include" / "clang" / "FrontendTool").is_dir()


ADD = """func.func @add(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  linalg.add ins(%a, %b : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
"""


@pytest.fixture(scope="module")
def server_exe() -> Path:
    tools = Toolbox()
    tools.passes_plugin  # noqa: B018 (built, with mlirboot-mlir, if it was not)
    exe = tools.resident_mlir
    assert exe is not None, f"no mlirboot-mlir beside {tools.passes_plugin}"
    return exe


def _compile(tmp_path: Path, name: str, program: str, target: str, opt: str, **kw):
    return compile_program(
        PROGRAMS / program,
        target=target,
        opt=opt,
        out=tmp_path / name,
        save_temps=tmp_path / f"{name}-temps",
        **kw,
    )


@pytest.mark.parametrize(
    ("program", "target", "opt"),
    [("mlp.mlir", "host", "O2"), ("matmul.mlir", "offload-host", "O2")],
)
def test_served_runs_write_what_the_tools_write(
    tmp_path: Path, monkeypatch, server_exe: Path, program: str, target: str, opt: str
):
    """Every temps file of a compile, and the executable and library, are the
    same byte for byte whether the resident process or the tools ran
    mlir-opt, mlir-translate and clang (paths into each compile's own work
    dir aside)."""
    arts = {}
    for mode in ("on", "off"):
        monkeypatch.setenv(resident.ENV, mode)
        arts[mode] = _compile(tmp_path, mode, program, target, opt)
    served = [p for p in (tmp_path / "on-temps").glob("*.log") if "# served by:" in p.read_text()]
    assert len(served) >= 3, "the resident process served no runs"
    assert not any("# served by:" in p.read_text() for p in (tmp_path / "off-temps").glob("*.log"))
    if serves_clang():
        clang = [p for p in (tmp_path / "on-temps").glob("*-clang.log")]
        assert any("# served by:" in p.read_text() for p in clang), "no clang run was served"
        # A link's linker ran as a process, logged beside the served link.
        assert list((tmp_path / "on-temps").glob("*-link-clang-1-*.log"))
    compared = 0
    pairs = [
        (p, tmp_path / "on-temps" / p.name) for p in sorted((tmp_path / "off-temps").iterdir())
    ]
    pairs += [(arts["off"].path / f, arts["on"].path / f) for f in ("prog", "libprog.so")]
    for path, other in pairs:
        if path.suffix in (".log",) or path.is_dir():
            continue
        if path.name == ".mlirboot-temps":  # what temps holds: logs differ (a linker's own)
            listed = [
                [n for n in json.loads(p.read_text()) if not n.endswith(".log")]
                for p in (path, other)
            ]
            assert listed[0] == listed[1]
            continue
        if path.suffix in (".ll", ".bc"):
            assert llvm_ir_text(other) == llvm_ir_text(path), path.name
            compared += 1
            continue
        mine = path.read_bytes().replace(str(arts["off"].path).encode(), b"ART")
        theirs = other.read_bytes().replace(str(arts["on"].path).encode(), b"ART")
        if b"__omp_offloading_" in mine and path.suffix != ".mlir":
            continue  # compiled from IR whose offload file ids differ (compared above)
        # The work dirs were removed; their names live on in offload files.
        mine, theirs = (re.sub(rb"\.(on|off)\.tmp-\w+", b"WORK", t) for t in (mine, theirs))
        assert mine == theirs, path.name
        compared += 1
    assert compared > 10
    assert arts["on"].meta["remarks"] == arts["off"].meta["remarks"]


def test_a_declined_or_failed_run_is_the_tools_own(tmp_path: Path, monkeypatch, server_exe: Path):
    """What the resident process does not serve, and a run that fails, go to
    the real tool: its exit code, its output."""
    server = resident.server(server_exe)
    assert server is not None
    program = tmp_path / "p.mlir"
    program.write_text("func.func @f() {\n  return\n}\n")
    log = tmp_path / "x.log"
    assert server.serve("mlir-opt", ["mlir-opt", str(program), "--no-such-flag"], log) is None
    assert server.serve("mlir-opt", ["mlir-opt", "-", "-o", str(tmp_path / "o")], log) is None
    assert server.serve("llc", ["llc", str(program)], log) is None
    ok = tmp_path / "ok.mlir"
    assert server.serve("mlir-opt", ["mlir-opt", str(program), "-o", str(ok)], log) == DONE
    assert "func.func @f()" in ok.read_text()
    # Relative paths are where this process is now, not where it started the server.
    monkeypatch.chdir(tmp_path)
    assert server.serve("mlir-opt", ["mlir-opt", "p.mlir", "-o", "rel.mlir"], log) == DONE
    assert "func.func @f()" in (tmp_path / "rel.mlir").read_text()
    # A failure is answered, and resident.run leaves it to the tool (None).
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @f( {\n")
    assert server.serve("mlir-opt", ["mlir-opt", str(bad), "-o", str(ok)], log) == FAILED
    assert "expected" in log.read_text()
    assert resident.run(server, "mlir-opt", ["mlir-opt", str(bad)], stage="t", log_path=log) is None


def test_clang_served_as_its_driver_runs_it(tmp_path: Path, monkeypatch, server_exe: Path):
    """A compile runs in the server and writes the object clang writes; a
    link comes back as the linker command clang would run; clang's errors,
    flags that would change the server's state and a changed environment go
    to the real clang."""
    if not serves_clang():
        pytest.skip("this LLVM install has no libclang-cpp and clang headers")
    server = resident.server(server_exe)
    assert server is not None
    clang = str(Toolbox().tool("clang"))
    src = tmp_path / "f.c"
    src.write_text("#include <math.h>\ndouble f(double x) { return sqrt(x) * 2.0; }\n")
    flags = ["-c", "-O2", "-march=native", "-fPIC", str(src), "-o"]
    log = tmp_path / "c.log"
    assert server.serve("clang", [clang, *flags, str(tmp_path / "served.o")], log) == DONE
    subprocess.run([clang, *flags, str(tmp_path / "real.o")], check=True)
    assert (tmp_path / "served.o").read_bytes() == (tmp_path / "real.o").read_bytes()
    # `clang -cc1`, as the offload embed step runs it.
    cc1 = subprocess.run(
        [clang, "-###", *flags, str(tmp_path / "x.o")], capture_output=True, text=True, check=True
    ).stderr.splitlines()[-1]
    argv = [clang, *shlex.split(cc1)[1:]]
    argv[argv.index("-o") + 1] = str(tmp_path / "cc1.o")
    assert argv[1] == "-cc1"
    assert server.serve("clang", argv, log) == DONE
    assert (tmp_path / "cc1.o").read_bytes() == (tmp_path / "real.o").read_bytes()
    # A link: the linker command, for the caller to run.
    exe = tmp_path / "prog"
    reply = server.serve("clang", [clang, str(tmp_path / "real.o"), "-shared", "-o", str(exe)], log)
    assert reply is not None and reply.rc == 0 and len(reply.jobs) == 1
    assert str(exe) in reply.jobs[0] and str(tmp_path / "real.o") in reply.jobs[0]
    assert not exe.exists()
    # clang's own errors: answered as failures (or declined), left to clang.
    src.write_text("int f( {\n")
    assert server.serve("clang", [clang, *flags, str(tmp_path / "bad.o")], log) == FAILED
    assert "error: expected" in log.read_text()
    for extra in (["-mllvm", "-debug-pass=Structure"], ["-###"], ["-v"]):
        assert server.serve("clang", [clang, *extra, *flags, str(tmp_path / "o.o")], log) is None
    monkeypatch.setenv("LIBRARY_PATH", str(tmp_path))
    assert server.serve("clang", [clang, *flags, str(tmp_path / "o.o")], log) is None


def test_a_bad_program_gets_the_same_error(tmp_path: Path, monkeypatch, server_exe: Path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @f(%a: memref<4xf32>) {\n  %x = arith.addf %a, %a : f32\n}\n")
    said = {}
    for mode in ("on", "off"):
        monkeypatch.setenv(resident.ENV, mode)
        with pytest.raises(UsageError) as err:
            compile_program(bad, target="host", out=tmp_path / mode, use_cache=False)
        said[mode] = err.value.line()
    assert said["on"] == said["off"]
    assert "bad.mlir:2" in said["on"]


def test_a_crashed_server_is_replaced(tmp_path: Path, server_exe: Path):
    """A server that died (a crash in a pass kills it the same way) costs
    the run it was serving a tool process; the next compile starts another."""
    first = resident.server(server_exe)
    assert first is not None and first.alive
    assert first._proc is not None
    os.kill(first._proc.pid, signal.SIGKILL)
    first._proc.wait()
    art = compile_program(ADD, target="host", out=tmp_path / "a", use_cache=False)
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(art.run(a, a, np.zeros_like(a))[2], a + a)
    second = resident.server(server_exe)
    assert second is not None and second is not first and second.alive


def test_off_and_another_mlir(monkeypatch, tmp_path: Path, server_exe: Path):
    monkeypatch.setenv(resident.ENV, "off")
    assert resident.server(server_exe) is None
    # A cached build runs the MLIR it was linked with: not another one's.
    assert cached_resident(tmp_path / "lib" / "cmake" / "mlir") is None


def test_side_steps_run_beside_and_keep_their_order(tmp_path: Path, reference):
    art = _compile(tmp_path, "a", "mlp.mlir", "host", "O2")
    stages = art.meta["stages"]
    assert [s["index"] for s in stages] == sorted(s["index"] for s in stages)
    beside = {s["name"] for s in stages if s.get("beside")}
    assert beside == {"launcher", "runtime", "link", "link-shared"}
    assert all(s["seconds"] > 0 for s in stages if s.get("beside"))
    assert "side step" in opt_report(art.meta)
    inputs, expected = reference("mlp")
    np.testing.assert_allclose(art.run(*inputs)[0], expected[0], rtol=1e-4, atol=1e-5)
    # In order (A/B measurements): the same stages and files, none beside.
    again = compile_program(
        PROGRAMS / "mlp.mlir", out=tmp_path / "b", use_cache=False, options={"side_steps": False}
    )
    assert [s["name"] for s in again.meta["stages"]] == [s["name"] for s in stages]
    assert not any(s.get("beside") for s in again.meta["stages"])
    assert again.meta["files"] == art.meta["files"]


def test_a_failing_side_step_stops_the_compile(tmp_path: Path, monkeypatch):
    """Its own error, as if it had run in order; nothing is left behind."""
    spec = registry.STEPS["host-runtime"]

    def broken(ctx):
        raise BuildError("runtime object failed", where=ctx.where())

    monkeypatch.setitem(
        registry.STEPS, "host-runtime", spec.__class__(**{**spec.__dict__, "run": broken})
    )
    out = tmp_path / "a"
    with pytest.raises(BuildError, match="runtime object failed") as err:
        compile_program(ADD, target="host", out=out, use_cache=False)
    assert err.value.where == "host/runtime"
    assert not out.exists()
    assert not list(tmp_path.iterdir())


FORK = """
import os, sys
import numpy as np
from pathlib import Path
from mlirboot.backend import resident
from mlirboot.backend.driver import compile_program
from mlirboot.backend.toolbox import Toolbox

out = Path(sys.argv[1])
exe = Toolbox().resident_mlir
parent = resident.server(exe)
assert parent is not None and parent.alive
a = np.arange(16, dtype=np.float32).reshape(4, 4)
pid = os.fork()
if pid == 0:  # the child: compile, run, report through the exit code
    code = 1
    try:
        mine = resident.server(exe)
        art = compile_program(sys.argv[2], target="host", out=out / "child", use_cache=False)
        ok = np.array_equal(art.run(a, a, np.zeros_like(a))[2], a + a)
        code = 0 if ok and mine is not None and mine is not parent and mine.alive else 2
    finally:
        os._exit(code)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert parent.alive and resident.server(exe) is parent
art = compile_program(sys.argv[2], target="host", out=out / "parent", use_cache=False)
assert np.array_equal(art.run(a, a, np.zeros_like(a))[2], a + a)
print("ok")
"""


def test_a_forked_child_starts_its_own(tmp_path: Path, server_exe: Path):
    """A child forked after a compile inherits the parent's server and its
    pipes: it must start its own (two processes on one pipe would read each
    other's answers), and leave the parent's running. (In a process of its
    own: this one has other libraries' threads, which a fork does not take.)"""
    done = subprocess.run(
        [sys.executable, "-c", FORK, str(tmp_path), ADD],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
