"""Bad input and failures: one line naming the stage, the right exit code,
nothing left behind."""

from __future__ import annotations

import numpy as np
import pytest

from mlirboot.bootstrap.cli import main
from mlirboot.bootstrap.errors import UsageError


def cli(capsys, *args):
    code = main(list(args))
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_malformed_mlir_exit_2_nothing_left(tmp_path, capsys):
    bad = tmp_path / "bad.mlir"
    bad.write_text(
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %0 = arith.bogus %a : tensor<4xf32>\n  return %0 : tensor<4xf32>\n}\n"
    )
    code, err = cli(capsys, "compile", str(bad), "-o", str(tmp_path / "out"))
    assert code == 2
    assert len(err) == 1 and "host/parse" in err[0] and "bad.mlir:2:8" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mlir"]


def test_op_target_cannot_lower(tmp_path, capsys):
    prog = tmp_path / "erf.mlir"
    prog.write_text(
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %0 = math.erf %a : tensor<4xf32>\n  return %0 : tensor<4xf32>\n}\n"
    )
    code, err = cli(capsys, "compile", str(prog), "--target", "tpu", "-o", str(tmp_path / "o"))
    assert code == 2 and len(err) == 1
    assert "erf.mlir:2" in err[0] and "to-stablehlo" in err[0] and "math.erf" in err[0]
    assert not (tmp_path / "o").exists()


def test_wrong_shape_and_dtype(compiled, reference):
    art = compiled("matmul", "host")
    (a, b), _ = reference("matmul")
    with pytest.raises(UsageError, match=r"input 1 has shape \(128, 31\)"):
        art.run(a, b[:, :31])
    with pytest.raises(UsageError, match="input 0 has dtype float64"):
        art.run(a.astype(np.float64), b)
    with pytest.raises(UsageError, match="takes 2 inputs, got 1"):
        art.run(a)


def test_cli_run_wrong_shape_exit_2(tmp_path, capsys, programs):
    np.save(tmp_path / "a.npy", np.zeros((64, 128), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((127, 32), np.float32))
    code, err = cli(
        capsys,
        "run",
        str(programs / "matmul.mlir"),
        "-i",
        str(tmp_path / "a.npy"),
        "-i",
        str(tmp_path / "b.npy"),
    )
    assert code == 2 and len(err) == 1 and "input 1" in err[0]


def test_absent_gpu_device_one_line(reference, capsys, tmp_path, programs, toolchain_for):
    """No silent host fallback: running the nvidia executable here fails,
    saying which device is missing and what the runtime found."""
    from mlirboot.backend.devices import runtime_backends
    from mlirboot.backend.toolbox import Toolbox

    if "CUDA" in runtime_backends(Toolbox()):
        pytest.skip("a CUDA device is present")
    (a, b), _ = reference("matmul")
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    code, err = cli(
        capsys,
        "run",
        str(programs / "matmul.mlir"),
        "--target",
        "nvidia",
        "--toolchain",
        toolchain_for("nvidia"),
        "-i",
        str(tmp_path / "a.npy"),
        "-i",
        str(tmp_path / "b.npy"),
    )
    assert code == 1 and len(err) == 1
    assert "no CUDA device" in err[0] and "found only HOST" in err[0]


def test_absent_tpu_one_line(compiled, reference):
    pytest.importorskip("jax")
    import importlib.util
    import os

    from mlirboot.backend.artifact import DeviceError

    if importlib.util.find_spec("libtpu") or os.environ.get("TPU_LIBRARY_PATH"):
        pytest.skip("libtpu is installed")
    art = compiled("matmul", "tpu")
    (a, b), _ = reference("matmul")
    with pytest.raises(DeviceError, match="no TPU: the TPU PJRT plugin"):
        art.run(a, b)


def test_missing_tool_is_named(tmp_path, programs, monkeypatch):
    """A toolchain manifest without mlir-opt: the error names the tool."""
    import json

    from mlirboot.backend.driver import compile_program
    from mlirboot.bootstrap.toolset import system_manifest

    manifest = system_manifest()
    manifest.tools.pop("mlir-opt")
    path = tmp_path / "toolchain.json"
    path.write_text(manifest.to_json())
    assert "mlir-opt" not in json.loads(path.read_text())["tools"]
    with pytest.raises(UsageError, match="no `mlir-opt`"):
        compile_program(programs / "matmul.mlir", toolchain=path, out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_entry_selection(tmp_path):
    from mlirboot import backend

    src = (
        "func.func @a(%x: tensor<2xf32>) -> tensor<2xf32> { return %x : tensor<2xf32> }\n"
        "func.func @b(%x: tensor<2xf32>) -> tensor<2xf32> { return %x : tensor<2xf32> }\n"
    )
    with pytest.raises(UsageError, match="public functions are @a, @b"):
        backend.compile(src, target="host")
    with pytest.raises(UsageError, match="no public function @c"):
        backend.compile(src, target="host", entry="c")
