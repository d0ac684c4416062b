"""`--grad ENTRY`: gradients made by Enzyme, checked against numpy's analytic
backprop and against finite differences of the forward program.

tpu (Enzyme-MLIR from PyPI enzyme-ad, run through the PJRT path) runs in CI;
host (LLVMEnzyme-22) runs where the toolchain has Enzyme (marker `enzyme`),
and its clear error without Enzyme is tested always."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from mlirboot.backend.driver import compile_program
from mlirboot.backend.grad import enzyme_wrapper, resolve
from mlirboot.backend.program import parse_signature
from mlirboot.bootstrap.cli import main
from mlirboot.bootstrap.errors import UsageError
from mlirboot.bootstrap.manifest import Manifest

PROGRAMS = Path(__file__).parent / "programs"
LOSS = PROGRAMS / "mlp_loss.mlir"
WEIGHTS = (1, 2, 3, 4)  # W1, b1, W2, b2 of @mlp_loss(x, W1, b1, W2, b2, y)


def loss_inputs(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(16, 64), (64, 128), (128,), (128, 10), (10,), (16, 10)]
    scale = [1.0, 0.15, 0.1, 0.15, 0.1, 1.0]  # keeps the loss O(100): FD stays accurate
    return [
        (rng.standard_normal(s) * k).astype(np.float32) for s, k in zip(shapes, scale, strict=True)
    ]


def numpy_backprop(x, w1, b1, w2, b2, y):
    """d/d(x, W1, b1, W2, b2, y) of sum((relu(x W1 + b1) W2 + b2 - y)^2), by hand."""
    x, w1, b1, w2, b2, y = (a.astype(np.float64) for a in (x, w1, b1, w2, b2, y))
    z1 = x @ w1 + b1
    h = np.maximum(z1, 0)
    d_out = 2 * (h @ w2 + b2 - y)
    d_z1 = (d_out @ w2.T) * (z1 > 0)
    return [d_z1 @ w1.T, x.T @ d_z1, d_z1.sum(0), h.T @ d_out, d_out.sum(0), -d_out]


def f64_forward(stablehlo_text: str):
    """The forward StableHLO program (the tpu artifact's own, no Enzyme),
    widened to f64 and compiled once by XLA:CPU: finite differences without
    f32 round-off."""
    import jax
    import jax.extend.backend
    from jax._src.lib import xla_client

    text = stablehlo_text.replace("f32", "f64")
    backend = jax.extend.backend.get_backend("cpu")
    device = backend.devices()[0]
    exe = backend.compile_and_load(
        text, xla_client.DeviceList((device,)), xla_client.CompileOptions()
    )

    def run(*arrays: np.ndarray) -> float:
        with jax.enable_x64(True):
            bufs = [jax.device_put(np.asarray(a, np.float64), device) for a in arrays]
            return float(np.asarray(exe.execute(bufs)[0]))

    return run


def check_against_fd(grads, wrt, inputs, forward, rng):
    """Central differences along random directions and single coordinates.
    Returns the worst relative error."""
    worst = 0.0
    base = [a.astype(np.float64) for a in inputs]
    for g, i in zip(grads, wrt, strict=True):
        probes = [rng.standard_normal(base[i].shape) for _ in range(2)]
        for _ in range(3):
            e = np.zeros(base[i].shape)
            e.flat[rng.integers(e.size)] = 1.0
            probes.append(e)
        for v in probes:
            h = 1e-4
            plus = [a if k != i else a + h * v for k, a in enumerate(base)]
            minus = [a if k != i else a - h * v for k, a in enumerate(base)]
            fd = (forward(*plus) - forward(*minus)) / (2 * h)
            analytic = float(np.sum(g.astype(np.float64) * v))
            err = abs(fd - analytic) / max(1.0, abs(fd))
            worst = max(worst, err)
            assert err < 1e-3, f"arg {i}: Enzyme {analytic} vs finite differences {fd}"
    return worst


def needs_enzyme_ad() -> None:
    """Enzyme-MLIR comes from PyPI's enzyme-ad, whose wheels are for Python 3.11 only."""
    if sys.version_info[:2] != (3, 11):
        pytest.skip(
            f"PyPI enzyme-ad (Enzyme-MLIR) has no wheel for Python "
            f"{sys.version_info[0]}.{sys.version_info[1]} (3.11 only)"
        )
    pytest.importorskip("enzyme_ad.jax", reason="PyPI enzyme-ad (Enzyme-MLIR) not installed")


@pytest.fixture(scope="module")
def tpu_grad(tmp_path_factory):
    needs_enzyme_ad()
    out = tmp_path_factory.mktemp("grad") / "tpu"
    return compile_program(LOSS, target="tpu", grad="mlp_loss", wrt=WEIGHTS, out=out)


@pytest.fixture(scope="module")
def tpu_forward(tmp_path_factory):
    pytest.importorskip("jax")
    return compile_program(LOSS, target="tpu", out=tmp_path_factory.mktemp("fwd") / "tpu")


def test_tpu_mlp_loss_grad_wrt_weights_by_enzyme(tpu_grad, tpu_forward, pjrt_cpu_plugin):
    """The issue's done-criterion: Enzyme's gradient of the MLP's squared
    error w.r.t. its weights, run through the CPU PJRT plugin (loaded from
    its file, as libtpu is), matches numpy's backprop and finite differences."""
    art = tpu_grad
    grad = art.meta["grad"]
    assert grad["entry"] == "mlp_loss" and grad["wrt"] == list(WEIGHTS)
    assert grad["engine"].startswith("Enzyme-MLIR")
    # Enzyme saw x and y as constants and the weights as active.
    assert any(
        "ReverseMode" in p
        and "argTys=enzyme_const,enzyme_active,enzyme_active,"
        "enzyme_active,enzyme_active,enzyme_const"
        in p
        for p in grad["enzyme_passes"]
    )
    assert [r.shape for r in art.signature.results] == [(64, 128), (128,), (128, 10), (10,)]
    # The gradient is plain StableHLO (portable), not a runtime call into Enzyme.
    assert "custom_call" not in art.files["stablehlo"].read_text()

    inputs = loss_inputs(seed=11)
    grads = art.run(*inputs, pjrt_plugin=pjrt_cpu_plugin)
    assert f"plugin={pjrt_cpu_plugin}" in art.last_log
    expected = numpy_backprop(*inputs)
    for g, i in zip(grads, WEIGHTS, strict=True):
        assert g.dtype == np.float32 and g.shape == inputs[i].shape
        scale = np.max(np.abs(expected[i]))
        np.testing.assert_allclose(
            g, expected[i], rtol=1e-4, atol=1e-5 * scale, err_msg=f"argument {i}"
        )
    forward = f64_forward(tpu_forward.files["stablehlo"].read_text())
    # The forward program itself agrees with numpy's loss (so FD probes the same function).
    loss = np.sum(
        (
            np.maximum(inputs[0] @ inputs[1] + inputs[2], 0) @ inputs[3] + inputs[4] - inputs[5]
        ).astype(np.float64)
        ** 2
    )
    assert forward(*inputs) == pytest.approx(loss, rel=1e-5)
    check_against_fd(grads, WEIGHTS, inputs, forward, np.random.default_rng(2))


def test_tpu_grad_default_is_every_argument_of_sum_of_outputs(tmp_path):
    """mlp.mlir returns a 16x10 tensor: the loss is the sum of its elements,
    differentiated w.r.t. all five arguments (jaxlib's CPU client)."""
    needs_enzyme_ad()
    art = compile_program(PROGRAMS / "mlp.mlir", target="tpu", grad="mlp", out=tmp_path / "a")
    assert art.meta["grad"]["wrt"] == [0, 1, 2, 3, 4]
    assert art.meta["grad"]["loss"].startswith("sum")
    rng = np.random.default_rng(4)
    x, w1, b1, w2, b2 = (
        rng.standard_normal(s).astype(np.float32)
        for s in [(16, 64), (64, 128), (128,), (128, 10), (10,)]
    )
    grads = art.run(x, w1, b1, w2, b2, pjrt_plugin="cpu")
    z1 = x.astype(np.float64) @ w1 + b1
    h = np.maximum(z1, 0)
    d_out = np.ones((16, 10))
    d_z1 = (d_out @ w2.T) * (z1 > 0)
    expected = [d_z1 @ w1.T, x.T @ d_z1, d_z1.sum(0), h.T @ d_out, d_out.sum(0)]
    for k, (g, e) in enumerate(zip(grads, expected, strict=True)):
        np.testing.assert_allclose(
            g, e, rtol=1e-4, atol=1e-4 * np.max(np.abs(e)), err_msg=f"argument {k}"
        )


def test_cli_run_grad_writes_gradients(tmp_path, capsys):
    needs_enzyme_ad()
    inputs = loss_inputs(seed=5)
    names = []
    for i, arr in enumerate(inputs):
        names += ["--input", str(tmp_path / f"in{i}.npy")]
        np.save(tmp_path / f"in{i}.npy", arr)
    code = main(
        [
            "run",
            str(LOSS),
            "--target",
            "tpu",
            "--pjrt-plugin",
            "cpu",
            "--grad",
            "mlp_loss",
            "--wrt",
            "3,4",
            *names,
            "--output",
            str(tmp_path / "gw2.npy"),
            "--output",
            str(tmp_path / "gb2.npy"),
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["grad"]["wrt"] == [3, 4] and report["grad"]["entry"] == "mlp_loss"
    assert report["outputs"][str(tmp_path / "gw2.npy")] == [128, 10]
    expected = numpy_backprop(*inputs)
    for name, i in (("gw2", 3), ("gb2", 4)):
        got = np.load(tmp_path / f"{name}.npy")
        np.testing.assert_allclose(
            got, expected[i], rtol=1e-4, atol=1e-5 * np.max(np.abs(expected[i]))
        )


@pytest.mark.parametrize("target", ["tpu", "host"])
def test_print_pipeline_shows_grad_stage(capsys, target):
    assert main(["compile", str(LOSS), "--target", target, "--print-pipeline"]) == 0
    plain = capsys.readouterr().out
    assert (
        main(["compile", str(LOSS), "--target", target, "--grad", "mlp_loss", "--print-pipeline"])
        == 0
    )
    with_grad = capsys.readouterr().out
    step = {"tpu": "enzyme-stablehlo", "host": "enzyme-llvm"}[target]
    assert f"grad: step {step}" in with_grad and "grad:" not in plain


# --- LLVM targets: LLVMEnzyme-22 ---------------------------------------------


def _toolbox_manifest():
    from mlirboot.backend.toolbox import Toolbox

    return Toolbox().manifest


def _manifest_without_enzyme(tmp_path: Path) -> Path:
    manifest = _toolbox_manifest()
    manifest.libraries = {k: v for k, v in manifest.libraries.items() if "Enzyme" not in k}
    path = tmp_path / "toolchain.json"
    manifest.write(path)
    return path


@pytest.mark.parametrize("target", ["host"])
def test_llvm_grad_without_enzyme_is_one_clear_error(tmp_path, capsys, target):
    """Runs everywhere: a toolchain without LLVMEnzyme-22 (forced, even where
    one has it) gives one line, exit 2, and leaves nothing behind."""
    toolchain = _manifest_without_enzyme(tmp_path)
    code = main(
        [
            "compile",
            str(LOSS),
            "--target",
            target,
            "--grad",
            "mlp_loss",
            "--toolchain",
            str(toolchain),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert f"{target}/grad" in err[0] and "LLVMEnzyme-22 is not in the toolchain" in err[0]
    assert "enzyme.enabled=true" in err[0] and "MLIRBOOT_ENZYME_SOURCE" in err[0]
    assert "mlirboot build" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("with_enzyme", [False, True])
def test_split_target_grad_says_what_it_lacks_first(tmp_path, capsys, with_enzyme):
    """offload-host: one line saying the split kernel is not differentiated,
    with or without Enzyme in the toolchain (so nobody builds Enzyme for it)."""
    toolchain = _manifest_without_enzyme(tmp_path)
    if with_enzyme:
        manifest = Manifest.load(toolchain)
        manifest.libraries["LLVMEnzyme"] = str(tmp_path / "LLVMEnzyme-22.so")
        manifest.write(toolchain)
    argv = ["compile", str(LOSS), "--target", "offload-host", "--grad", "mlp_loss"]
    code = main([*argv, "--toolchain", str(toolchain), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "offload-host/grad" in err[0] and "not implemented for the split target" in err[0]
    assert "--target host" in err[0] and "LLVMEnzyme-22 is not in" not in err[0]
    assert not (tmp_path / "out").exists()


def test_host_enzyme_wrapper_links_with_the_lowered_entry(tmp_path):
    """The __enzyme_autodiff wrapper is valid IR against the host pipeline's
    real lowering of the entry (llvm-link + the IR verifier), with or
    without Enzyme."""
    from mlirboot.bootstrap import proc

    temps = tmp_path / "temps"
    try:
        compile_program(
            LOSS,
            target="host",
            grad="mlp_loss",
            out=tmp_path / "a",
            save_temps=temps,
            toolchain=_manifest_without_enzyme(tmp_path),
        )
    except UsageError as err:
        assert "LLVMEnzyme-22" in str(err)
    sig = parse_signature((temps / "01-parse.mlir").read_text(), "mlp_loss", "t")
    from mlirboot.backend.grad import GradRequest

    wrt = resolve(GradRequest("mlp_loss", WEIGHTS), sig, "t")
    wrapper = tmp_path / "wrapper.ll"
    wrapper.write_text(enzyme_wrapper(sig, wrt, "mlp_loss_grad", "t"))
    tools = _toolbox_manifest()
    linked = tmp_path / "linked.bc"
    ir = next(temps.glob("*-translate.ll"))
    proc.run([tools.tool("llvm-link"), ir, wrapper, "-o", linked], stage="test")
    out = proc.run(
        [tools.tool("opt"), "-passes=verify", linked, "-S", "-o", "-"], stage="test"
    ).output
    call = next(line for line in out.splitlines() if "@__enzyme_autodiff(ptr @mlp_loss" in line)
    # x and y constant, the four weights (and the loss) duplicated with their shadows.
    assert call.count("i32 %const, ptr") == 2 and call.count("i32 %dup, ptr") == 5
    assert "load i32, ptr @enzyme_dup" in out and "load i32, ptr @enzyme_const" in out


@pytest.mark.enzyme
def test_host_mlp_loss_grad_by_llvm_enzyme(tmp_path, tpu_forward, enzyme_toolchain):
    """With the Enzyme this session built (the `enzyme_toolchain` fixture)."""
    art = compile_program(
        LOSS,
        target="host",
        grad="mlp_loss",
        wrt=WEIGHTS,
        out=tmp_path / "h",
        toolchain=enzyme_toolchain,
    )
    assert art.meta["grad"]["engine"].startswith("Enzyme LLVM plugin")
    inputs = loss_inputs(seed=11)
    grads = art.run(*inputs)
    expected = numpy_backprop(*inputs)
    for g, i in zip(grads, WEIGHTS, strict=True):
        np.testing.assert_allclose(
            g, expected[i], rtol=1e-4, atol=1e-5 * np.max(np.abs(expected[i]))
        )
    forward = f64_forward(tpu_forward.files["stablehlo"].read_text())
    check_against_fd(grads, WEIGHTS, inputs, forward, np.random.default_rng(3))


# --- bad requests: exit 2 ----------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--wrt", "9"], "@mlp_loss has 6 arguments"),
        (["--wrt", "a,b"], "is not a list of argument indices"),
        (["--entry", "other"], "name different functions"),
    ],
)
def test_bad_grad_requests(tmp_path, capsys, args, message):
    pytest.importorskip("jax")
    code = main(
        [
            "compile",
            str(LOSS),
            "--target",
            "tpu",
            "--grad",
            "mlp_loss",
            *args,
            "-o",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_grad_of_entry_without_results(tmp_path):
    with pytest.raises(UsageError, match="returns nothing"):
        compile_program(
            PROGRAMS / "loop_matmul.mlir",
            target="host",
            grad="loop_matmul",
            out=tmp_path / "o",
            toolchain=None,
        )


def test_wrt_without_grad(tmp_path):
    with pytest.raises(UsageError, match="--wrt without --grad"):
        compile_program(LOSS, target="tpu", wrt="1", out=tmp_path / "o")


# --- the translator's reductions (what a loss needs on tpu) ------------------

REDUCTIONS = """
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
func.func @f(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<8xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant -3.0e38 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %rows = linalg.generic {indexing_maps = [#id, #id, #row],
                          iterator_types = ["parallel", "reduction"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%f : tensor<4xf32>) {
    ^bb0(%v: f32, %w: f32, %o: f32):
      %p = arith.mulf %v, %w : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
  } -> tensor<4xf32>
  %e8 = tensor.empty() : tensor<8xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e8 : tensor<8xf32>) -> tensor<8xf32>
  %cols = linalg.reduce ins(%a : tensor<4x8xf32>) outs(%m0 : tensor<8xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %mx = arith.maximumf %in, %acc : f32
      linalg.yield %mx : f32
    }
  return %rows, %cols : tensor<4xf32>, tensor<8xf32>
}
"""


def test_reductions_on_tpu_match_numpy_and_host(tmp_path):
    """Reduction generic (sum of products) and linalg.reduce (max) become
    stablehlo.reduce; tpu agrees with numpy and with the host's own lowering."""
    pytest.importorskip("jax")
    rng = np.random.default_rng(8)
    a, b = (rng.standard_normal((4, 8)).astype(np.float32) for _ in range(2))
    for target in ("tpu", "host"):
        art = compile_program(REDUCTIONS, target=target, out=tmp_path / target)
        rows, cols = art.run(a, b, pjrt_plugin="cpu")
        np.testing.assert_allclose(rows, (a * b).sum(1), rtol=1e-5, atol=1e-6, err_msg=target)
        np.testing.assert_array_equal(cols, a.max(0), err_msg=target)
    assert "stablehlo.reduce" in (tmp_path / "tpu" / "program.stablehlo.mlir").read_text()


def test_reduction_body_must_combine_the_accumulator(tmp_path):
    pytest.importorskip("jax")
    bad = REDUCTIONS.replace("%s = arith.addf %o, %p : f32", "%s = arith.subf %o, %p : f32")
    with pytest.raises(UsageError, match="a reduction body must combine the accumulator"):
        compile_program(bad, target="tpu", out=tmp_path / "o")
