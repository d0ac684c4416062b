"""Run real MLIR tools on test programs: mlir-opt (with the plugin), FileCheck,
and mlir-runner for numeric before/after comparisons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlirboot.bootstrap import proc

LLVM_BIN = Path("/usr/lib/llvm-22/bin")
LLVM_LIB = Path("/usr/lib/llvm-22/lib")
MLIR_DIR = LLVM_LIB / "cmake" / "mlir"
MLIR_OPT = LLVM_BIN / "mlir-opt"
FILECHECK = LLVM_BIN / "FileCheck"
MLIR_RUNNER = LLVM_BIN / "mlir-runner"
RUNNER_LIBS = [LLVM_LIB / "libmlir_runner_utils.so", LLVM_LIB / "libmlir_c_runner_utils.so"]
PASSES_TEST_DIR = Path(__file__).resolve().parents[2] / "backend" / "passes" / "test"

# Tensors -> buffers -> loops -> LLVM dialect, with upstream passes only.
LOWER_TO_LLVM = (
    "builtin.module("
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "func.func(convert-linalg-to-loops),"
    "expand-strided-metadata,lower-affine,convert-scf-to-cf,"
    "finalize-memref-to-llvm,convert-arith-to-llvm,convert-cf-to-llvm,"
    "convert-func-to-llvm,reconcile-unrealized-casts)"
)


@dataclass(frozen=True)
class OptResult:
    ir: str
    diagnostics: str


def mlir_opt(
    src: Path | str,
    args: list[str],
    out_dir: Path,
    *,
    plugin: Path | None = None,
    name: str = "out",
) -> OptResult:
    """Run mlir-opt; the IR goes to a file, diagnostics (remarks) are returned."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(src, str):
        path = out_dir / f"{name}.in.mlir"
        path.write_text(src)
        src = path
    out = out_dir / f"{name}.mlir"
    cmd: list[str | Path] = [MLIR_OPT, src, "-o", out, "--mlir-print-op-on-diagnostic=false"]
    if plugin is not None:
        cmd.insert(1, f"--load-pass-plugin={plugin}")
    res = proc.run([*cmd, *args], stage=f"mlir-opt {name}")
    return OptResult(out.read_text(), res.output)


def filecheck(
    check_file: Path, text: str, *, prefix: str = "CHECK", check: bool = True
) -> proc.Result:
    return proc.run(
        [FILECHECK, check_file, f"--check-prefix={prefix}", "--allow-empty", "--dump-input=fail"],
        stage=f"FileCheck {check_file.name} ({prefix})",
        input=text,
        check=check,
    )


def split_chunk(path: Path, func: str) -> str:
    """The `// -----` chunk of a lit file that defines @func."""
    for chunk in path.read_text().split("// -----"):
        if re.search(rf"func\.func @{func}\(", chunk):
            return chunk
    raise KeyError(f"@{func} not in {path}")


# --- numeric runs ----------------------------------------------------------

_MLIR_TYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32}
_PRINT_FN = {"f32": "printMemrefF32", "f64": "printMemrefF64", "i32": "printMemrefI32"}


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Values with two decimals in [-1, 1] (ints in [-9, 9]): exactly
    representable inputs, results well inside print precision."""
    if dtype == "i32":
        return rng.integers(-9, 10, size=shape).astype(np.int32)
    return (rng.integers(-100, 101, size=shape) / 100.0).astype(_MLIR_TYPES[dtype])


def _dense(a: np.ndarray) -> str:
    def fmt(x: object) -> str:
        return repr(float(x)) if a.dtype.kind == "f" else str(int(x))  # type: ignore[arg-type]

    def rec(v: np.ndarray) -> str:
        if v.ndim == 0:
            return fmt(v)
        return "[" + ", ".join(rec(x) for x in v) + "]"

    return f"dense<{rec(a)}>"


def _ty(shape: tuple[int, ...], dtype: str, kind: str) -> str:
    return f"{kind}<{'x'.join(map(str, shape))}x{dtype}>"


def unwrap_module(text: str) -> str:
    """mlir-opt prints `module { ... }`; drop the wrapper so a main can be
    appended to the same (implicit) module. Alias lines (#map = ...) stay."""
    lines = text.rstrip().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("module {") and lines[-1] == "}":
            return "\n".join(lines[:i] + lines[i + 1 : -1])
        if line.startswith("module"):
            break
    return text


def memref_main(kernel: str, func: str, args: list[np.ndarray], dtype: str, out_index: int) -> str:
    """A program calling a memref kernel `func(args...)` that writes args[out_index],
    then printing that output. Inputs live in constant globals; the output
    buffer starts as a copy of args[out_index] (accumulating kernels read it)."""
    lines = [unwrap_module(kernel)]
    body = []
    names = []
    for i, a in enumerate(args):
        t = _ty(a.shape, dtype, "memref")
        lines.append(f'memref.global "private" constant @g{i} : {t} = {_dense(a)}')
        body.append(f"  %g{i} = memref.get_global @g{i} : {t}")
        if i == out_index:
            body.append(f"  %a{i} = memref.alloc() : {t}")
            body.append(f"  memref.copy %g{i}, %a{i} : {t} to {t}")
            names.append(f"%a{i}")
        else:
            names.append(f"%g{i}")
    types = ", ".join(_ty(a.shape, dtype, "memref") for a in args)
    out_t = _ty(args[out_index].shape, dtype, "memref")
    body.append(f"  call @{func}({', '.join(names)}) : ({types}) -> ()")
    body.append(f"  %u = memref.cast {names[out_index]} : {out_t} to memref<*x{dtype}>")
    body.append(f"  call @{_PRINT_FN[dtype]}(%u) : (memref<*x{dtype}>) -> ()")
    lines.append("func.func @main() {\n" + "\n".join(body) + "\n  return\n}")
    lines.append(
        f"func.func private @{_PRINT_FN[dtype]}(memref<*x{dtype}>) "
        "attributes {llvm.emit_c_interface}"
    )
    return "\n".join(lines)


def tensor_main(
    kernel: str, func: str, args: list[np.ndarray], dtype: str, result_shape: tuple[int, ...]
) -> str:
    """A program calling a tensor kernel `func(args...) -> tensor` and printing it."""
    body = []
    for i, a in enumerate(args):
        body.append(f"  %a{i} = arith.constant {_dense(a)} : {_ty(a.shape, dtype, 'tensor')}")
    types = ", ".join(_ty(a.shape, dtype, "tensor") for a in args)
    rt = _ty(result_shape, dtype, "tensor")
    mt = _ty(result_shape, dtype, "memref")
    names = ", ".join(f"%a{i}" for i in range(len(args)))
    body.append(f"  %r = call @{func}({names}) : ({types}) -> {rt}")
    body.append(f"  %m = bufferization.to_buffer %r : {rt} to {mt}")
    body.append(f"  %u = memref.cast %m : {mt} to memref<*x{dtype}>")
    body.append(f"  call @{_PRINT_FN[dtype]}(%u) : (memref<*x{dtype}>) -> ()")
    return "\n".join(
        [
            unwrap_module(kernel),
            "func.func @main() {\n" + "\n".join(body) + "\n  return\n}",
            f"func.func private @{_PRINT_FN[dtype]}(memref<*x{dtype}>) "
            "attributes {llvm.emit_c_interface}",
        ]
    )


def run_program(program: str, work: Path, name: str) -> np.ndarray:
    """Lower `program` with upstream passes, JIT it with mlir-runner and parse
    the one printed memref."""
    lowered = mlir_opt(program, [f"--pass-pipeline={LOWER_TO_LLVM}"], work, name=f"{name}.llvm")
    res = proc.run(
        [
            MLIR_RUNNER,
            work / f"{name}.llvm.mlir",
            "-e",
            "main",
            "-entry-point-result=void",
            f"-shared-libs={','.join(map(str, RUNNER_LIBS))}",
        ],
        stage=f"mlir-runner {name}",
    )
    del lowered
    return parse_memref(res.output)


def parse_memref(output: str) -> np.ndarray:
    head, _, data = output.partition("data =")
    sizes = re.search(r"sizes = \[([0-9, ]*)\]", head)
    if not sizes or not data:
        raise AssertionError(f"no memref printed:\n{output}")
    shape = tuple(int(s) for s in sizes.group(1).split(",") if s.strip())
    numbers = re.findall(r"[-+]?(?:nan|inf|\d+\.?\d*(?:e[-+]?\d+)?)", data)
    return np.array([float(x) for x in numbers]).reshape(shape)
