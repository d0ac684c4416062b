"""Device math (issue 12). nvidia and amd link libm.bc of LLVM's libc for GPUs
(built by mlirboot): the plugin's mlirboot-math-approximation{libm} turns each
f32/f64 math op whose function that libm defines into a call to it (expf,
exp, ...), checked here in the linked device IR and the image. What it lacks
(f16/bf16, f32 erfc), and all math on intel (no SPIR-V libm in LLVM 22), gets
upstream's polynomial approximations; their accuracy is measured here on the
host: the approximated program (the pass applied with mlir-opt, no libm calls
left) is compiled for `host` and run against numpy/math in float64.

Measured (LLVM 22.1.8, x86-64 host, 4096 random f32 inputs per op, seed 0;
ulp = |got - ref| / spacing(f32(ref)), ref in float64):
  exp [-87, 88] 0.94 ulp, expm1 [-10, 10] 1.62, log [1e-30, 1e30] 0.65,
  log2 0.99, log1p [-0.9, 100] 1.61, tanh [-10, 10] 3.77, erf [-4, 4] 3.87,
  atan [-100, 100] 9.53, rsqrt (1/sqrt, not approximated) 1.41;
  sin, cos on [-10pi, 10pi]: max abs error 1.4e-6; atan2 (normal pairs) 2.4e-6;
  sinh [-5, 5] (expanded through exp) 1.2e-7 and tan [-1.5, 1.5] (sin/cos)
  8.3e-7 in |got - ref| / max(1, |ref|).
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import have_tool

from mlirboot.backend.driver import compile_program
from mlirboot.bootstrap.errors import UsageError

N = 4096
GPU_PROGRAMS = Path(__file__).parent / "gpu_programs"

_erf = np.vectorize(math.erf)

# name: (math op, input range (lo, hi, log-uniform?), float64 reference)
UNARY = {
    "exp": ("math.exp", (-87.0, 88.0, False), np.exp),
    "expm1": ("math.expm1", (-10.0, 10.0, False), np.expm1),
    "log": ("math.log", (1e-30, 1e30, True), np.log),
    "log2": ("math.log2", (1e-30, 1e30, True), np.log2),
    "log1p": ("math.log1p", (-0.9, 100.0, False), np.log1p),
    "tanh": ("math.tanh", (-10.0, 10.0, False), np.tanh),
    "erf": ("math.erf", (-4.0, 4.0, False), _erf),
    "atan": ("math.atan", (-100.0, 100.0, False), np.arctan),
    "sin": ("math.sin", (-10 * np.pi, 10 * np.pi, False), np.sin),
    "cos": ("math.cos", (-10 * np.pi, 10 * np.pi, False), np.cos),
    "rsqrt": ("math.rsqrt", (1e-6, 1e6, True), lambda x: 1 / np.sqrt(x)),
    "sinh": ("math.sinh", (-5.0, 5.0, False), np.sinh),
    "tan": ("math.tan", (-1.5, 1.5, False), np.tan),
}

# Bounds (about twice the measured maxima, module docstring) in ulp of the f32
# reference. sin/cos/atan2 are bounded in absolute error (their zeros make ulp
# meaningless); sinh and tan (expanded to exp / sin/cos, which cancel near 0)
# in "mixed" error |got - ref| / max(1, |ref|).
MAX_ULP = {
    "exp": 2,
    "expm1": 3,
    "log": 2,
    "log2": 2,
    "log1p": 3,
    "tanh": 8,
    "erf": 8,
    "atan": 20,
    "rsqrt": 3,
}
MAX_ABS = {"sin": 3e-6, "cos": 3e-6, "atan2": 5e-6}
MAX_MIXED = {"sinh": 1e-6, "tan": 2e-6}


PARALLEL = 'iterator_types = ["parallel"]'


def _program() -> str:
    names = list(UNARY)
    args = ", ".join(f"%{n}: tensor<{N}xf32>" for n in names)
    args += f", %ay: tensor<{N}xf32>, %ax: tensor<{N}xf32>"
    results = ", ".join(f"tensor<{N}xf32>" for _ in range(len(names) + 1))
    lines = [
        "#id = affine_map<(i) -> (i)>",
        f"func.func @mathops({args}) -> ({results}) {{",
        f"  %e = tensor.empty() : tensor<{N}xf32>",
    ]
    for n in names:
        op = UNARY[n][0]
        lines += [
            f"  %r_{n} = linalg.generic {{indexing_maps = [#id, #id], {PARALLEL}}}",
            f"      ins(%{n} : tensor<{N}xf32>) outs(%e : tensor<{N}xf32>) {{",
            "    ^bb0(%v: f32, %o: f32):",
            f"      %y = {op} %v : f32",
            "      linalg.yield %y : f32",
            f"  }} -> tensor<{N}xf32>",
        ]
    lines += [
        f"  %r_atan2 = linalg.generic {{indexing_maps = [#id, #id, #id], {PARALLEL}}}",
        f"      ins(%ay, %ax : tensor<{N}xf32>, tensor<{N}xf32>) outs(%e : tensor<{N}xf32>) {{",
        "    ^bb0(%y: f32, %x: f32, %o: f32):",
        "      %t = math.atan2 %y, %x : f32",
        "      linalg.yield %t : f32",
        f"  }} -> tensor<{N}xf32>",
    ]
    rets = ", ".join(f"%r_{n}" for n in [*names, "atan2"])
    lines += [f"  return {rets} : {results}", "}"]
    return "\n".join(lines) + "\n"


def _inputs(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _, (lo, hi, log), _ref in UNARY.values():
        x = np.exp(rng.uniform(np.log(lo), np.log(hi), N)) if log else rng.uniform(lo, hi, N)
        out.append(x.astype(np.float32))
    out += [rng.standard_normal(N).astype(np.float32), rng.standard_normal(N).astype(np.float32)]
    return out


def ulp_error(got: np.ndarray, ref64: np.ndarray) -> np.ndarray:
    spacing = np.spacing(np.abs(ref64.astype(np.float32)))
    return np.abs(got.astype(np.float64) - ref64) / spacing


def approximated(src: Path, out: Path) -> Path:
    """`src` with mlirboot-math-approximation applied (no check: host use)."""
    from mlirboot.backend.toolbox import Toolbox

    tools = Toolbox()
    subprocess.run(
        [
            str(tools.tool("mlir-opt")),
            str(src),
            "-o",
            str(out),
            f"--load-pass-plugin={tools.plugin('passes')}",
            "--pass-pipeline=builtin.module(func.func(mlirboot-math-approximation))",
        ],
        check=True,
    )
    return out


@pytest.fixture(scope="module")
def math_program(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mathops") / "mathops.mlir"
    path.write_text(_program())
    return path


@pytest.fixture(scope="module")
def host_approx(math_program, tmp_path_factory):
    approx = approximated(math_program, math_program.with_name("mathops_approx.mlir"))
    text = approx.read_text()
    for op, *_ in UNARY.values():
        if op == "math.rsqrt":  # native: 1 / sqrt (an instruction on every GPU)
            continue
        assert op not in text, f"{op} was not approximated"
    assert "math.atan2" not in text
    return compile_program(approx, target="host", out=tmp_path_factory.mktemp("ma") / "a")


def test_approximation_accuracy_on_host(host_approx):
    inputs = _inputs()
    got = host_approx.run(*inputs)
    report = {}
    for (name, (_, _, ref)), x, g in zip(UNARY.items(), inputs, got, strict=False):
        expected = ref(x.astype(np.float64))
        if name in MAX_ABS:
            report[name] = ("abs", float(np.max(np.abs(g - expected))))
        elif name in MAX_MIXED:
            mixed = np.abs(g - expected) / np.maximum(1.0, np.abs(expected))
            report[name] = ("mixed", float(np.max(mixed)))
        else:
            report[name] = ("ulp", float(np.max(ulp_error(g, expected))))
    ay, ax = inputs[-2:]
    atan2 = np.arctan2(ay.astype(np.float64), ax.astype(np.float64))
    report["atan2"] = ("abs", float(np.max(np.abs(got[-1] - atan2))))
    print("\n".join(f"{k}: max {kind} error {v:.3g}" for k, (kind, v) in report.items()))
    for name, (kind, value) in report.items():
        bound = {"abs": MAX_ABS, "mixed": MAX_MIXED, "ulp": MAX_ULP}[kind][name]
        assert value <= bound, f"{name}: max {kind} error {value} > {bound}"


LIBM_TARGETS = ["nvidia", "amd"]  # codegen.device_libraries names libm
LLVM = Path("/usr/lib/llvm-22/bin")


def libm_defined(temps: Path) -> set[str]:
    """Functions the device IR, linked with the device libraries, defines."""
    (linked,) = temps.glob("*-devicertl.ll")
    return set(re.findall(r"^define [^@]*@([\w.$]+)\(", linked.read_text(), re.M))


def image_undefined(art) -> set[str]:
    """Symbols the device image leaves to the driver/loader."""
    if "ptx" in art.files:  # the CUDA driver's own: malloc/free (DeviceRTL allocator)
        text = art.files["ptx"].read_text()
        return set(re.findall(r"^\.extern \.func[^\n]*?(\w+)\s*(?:\(|;|$)", text, re.M))
    nm = subprocess.run(
        [LLVM / "llvm-nm", "-u", art.files["code_object"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split()[-1] for line in nm.splitlines() if line.strip()}


@pytest.mark.parametrize("target", ["nvidia", "amd", "intel"])
def test_all_math_ops_compile_for_gpus(math_program, target, tmp_path, toolchain_for):
    if target == "intel" and not have_tool("spirv-val"):
        pytest.skip("spirv-val is not installed")
    art = compile_program(
        math_program,
        target=target,
        out=tmp_path / "a",
        toolchain=toolchain_for(target),
        save_temps=tmp_path / "t",
    )
    assert art.meta["info"]["validation"]
    if target in LIBM_TARGETS:
        # the functions come from the GPU libc, not from approximations
        defined = libm_defined(tmp_path / "t")
        assert {"expf", "expm1f", "logf", "log2f", "log1pf", "tanhf", "erff"} <= defined
        assert {"atanf", "sinf", "cosf", "sinhf", "tanf", "atan2f"} <= defined
        assert image_undefined(art) <= {"malloc", "free"}, image_undefined(art)


F64_EXP = """func.func @e(%x: tensor<16xf64>) -> tensor<16xf64> {
  %e = tensor.empty() : tensor<16xf64>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<16xf64>) outs(%e : tensor<16xf64>) {
    ^bb0(%v: f64, %o: f64):
      %r = math.exp %v : f64
      linalg.yield %r : f64
  } -> tensor<16xf64>
  return %y : tensor<16xf64>
}
"""


@pytest.mark.parametrize("target", LIBM_TARGETS)
def test_f64_exp_calls_the_gpu_libm(tmp_path, target, toolchain_for):
    src = tmp_path / "expf64.mlir"
    src.write_text(F64_EXP)
    art = compile_program(
        src,
        target=target,
        out=tmp_path / "o",
        toolchain=toolchain_for(target),
        save_temps=tmp_path / "t",
    )
    assert "exp" in libm_defined(tmp_path / "t")
    assert image_undefined(art) <= {"malloc", "free"}, image_undefined(art)


def test_f64_exp_is_one_clear_usage_error_without_a_libm(tmp_path):
    src = tmp_path / "expf64.mlir"
    src.write_text(F64_EXP)
    with pytest.raises(UsageError) as info:
        compile_program(src, target="intel", out=tmp_path / "o")
    message = str(info.value)
    assert "math.exp on f64 has no lowering for the intel device (no device libm" in message
    assert "expf64.mlir:3:" in message  # the user's line, not <unknown>
    assert "\n" not in message and "Stack dump" not in message


@pytest.mark.parametrize("target", LIBM_TARGETS)
def test_f64_op_the_libm_lacks_cli_exit_2(tmp_path, capsys, target, toolchain_for):
    """LLVM 22's GPU libm has no f64 tanh: one line naming the op, exit 2."""
    from mlirboot.bootstrap.cli import main

    src = tmp_path / "tanhf64.mlir"
    src.write_text(F64_EXP.replace("math.exp", "math.tanh"))
    tc = toolchain_for(target)
    args = ["compile", str(src), "--target", target, "-o", str(tmp_path / "o")]
    assert main([*args, "--toolchain", tc]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "math.tanh on f64 has no lowering for the " + target in err[0]
    # (the line elides the middle of a long message; the reason ends it)
    assert "narrower math is approximated)" in err[0], err[0]
