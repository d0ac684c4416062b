"""`mlirboot compile --emit sharedlib|staticlib`: the C header and Rust binding
generators (pure), and the libraries they describe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import PROGRAMS, have_tool

from mlirboot.backend import emit
from mlirboot.backend.driver import compile_program
from mlirboot.backend.program import Signature, TensorType
from mlirboot.bootstrap.errors import UsageError

MATMUL = Signature(
    "matmul",
    (TensorType("tensor", (64, 128), "f32"), TensorType("tensor", (128, 32), "f32")),
    (TensorType("tensor", (64, 32), "f32"),),
)
# A memref entry that writes its second argument, of mixed element types.
WRITER = Signature(
    "scale", (TensorType("memref", (4,), "f64"), TensorType("memref", (2, 3), "i32")), ()
)
needs_llvm = pytest.mark.skipif(not have_tool("clang"), reason="needs LLVM 22 (clang)")


def test_header_has_prototype_and_a_comment_per_parameter():
    text = emit.header_text(MATMUL, "matmul")
    assert "void matmul(const float *arg0, const float *arg1, float *res0);" in text
    assert "/* arg0: f32[64, 128] (64x128, 8192 elements); argument, read only */" in text
    assert "/* res0: f32[64, 32] (64x32, 2048 elements); result, written */" in text
    assert "#define MATMUL_ARG1_LEN 4096u" in text
    assert text.count("#ifndef MLIRBOOT_MATMUL_H") == 1


def test_rust_binding_checks_lengths():
    text = emit.rust_text(MATMUL, "matmul")
    assert 'unsafe extern "C"' in text
    decl = [line.split("//")[0].strip() for line in text.splitlines()]
    assert decl[decl.index("pub fn matmul(") + 1 :][:3] == [
        "arg0: *const f32,",
        "arg1: *const f32,",
        "res0: *mut f32,",
    ]
    assert "pub fn matmul(arg0: &[f32], arg1: &[f32], res0: &mut [f32])" in text
    assert "pub const MATMUL_RES0_LEN: usize = 2048;" in text
    assert text.count("assert_eq!(") == 3


def test_written_memref_arguments_are_mutable():
    text = emit.rust_text(WRITER, "scale", writes=[1])
    assert "pub fn scale(arg0: &[f64], arg1: &mut [i32])" in text
    header = emit.header_text(WRITER, "scale", writes=[1])
    assert "void scale(const double *arg0, int32_t *arg1);" in header
    # Not told which arguments are written: every memref argument may be.
    assert "pub fn scale(arg0: &mut [f64], arg1: &mut [i32])" in emit.rust_text(WRITER, "scale")


@pytest.mark.parametrize("name", ["main", "fn", "a.b"])
def test_entry_names_c_and_rust_cannot_use_are_refused(name: str):
    with pytest.raises(UsageError):
        emit.check_name(name)


@needs_llvm
def test_rustc_accepts_the_binding(tmp_path: Path):
    import shutil

    rustc = shutil.which("rustc") or str(Path.home() / ".cargo/bin/rustc")
    if not Path(rustc).exists():
        pytest.skip("rustc is not installed")
    lib = tmp_path / "lib.rs"
    lib.write_text(emit.rust_text(MATMUL, "matmul") + emit.rust_text(WRITER, "scale", writes=[1]))
    res = subprocess.run(
        [
            rustc,
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "-D",
            "warnings",
            "--emit",
            "metadata",
            "-o",
            tmp_path / "lib.rmeta",
            lib,
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr


@needs_llvm
@pytest.mark.parametrize(
    ("kind", "target"),
    [("sharedlib", "host"), ("staticlib", "host"), ("sharedlib", "offload-host")],
)
def test_c_program_links_the_emitted_library(tmp_path: Path, kind: str, target: str):
    """(offload-host: the library embeds the device image, which registers
    with libomptarget when the program starts; its kernels run on the host
    plugin, a fallback to the host version refused.)"""
    art = compile_program(
        PROGRAMS / "matmul.mlir", target=target, out=tmp_path / "art", emit=kind, use_cache=False
    )
    suffix = ".so" if kind == "sharedlib" else ".a"
    assert art.files[f"emit_{kind}"] == tmp_path / "art" / f"libmatmul{suffix}"
    assert art.files["c_header"].name == "matmul.h" and art.files["rust_binding"].exists()
    main = tmp_path / "main.c"
    main.write_text("""#include "matmul.h"
#include <stdio.h>
static float a[MATMUL_ARG0_LEN], b[MATMUL_ARG1_LEN], c[MATMUL_RES0_LEN];
int main(void) {
  for (unsigned i = 0; i < MATMUL_ARG0_LEN; i++) a[i] = (float)(i % 7) - 3.0f;
  for (unsigned i = 0; i < MATMUL_ARG1_LEN; i++) b[i] = (float)(i % 5) - 2.0f;
  matmul(a, b, c);
  for (int i = 0; i < 64; i++) for (int j = 0; j < 32; j++) {
    float want = 0.0f;
    for (int k = 0; k < 128; k++) want += a[i * 128 + k] * b[k * 32 + j];
    if (c[i * 32 + j] != want) { printf("mismatch at %d,%d\\n", i, j); return 1; }
  }
  puts("ok");
  return 0;
}
""")
    clang = "/usr/lib/llvm-22/bin/clang"
    exe = tmp_path / "main"
    subprocess.run(
        [
            clang,
            "-Wall",
            "-Werror",
            "-I",
            tmp_path / "art",
            main,
            tmp_path / "art" / f"libmatmul{suffix}",
            "-lm",
            "-o",
            exe,
            f"-Wl,-rpath,{tmp_path / 'art'}",
        ],
        check=True,
    )
    env = {**os.environ, "OMP_TARGET_OFFLOAD": "MANDATORY", "LIBOMPTARGET_INFO": "1"}
    ran = subprocess.run([exe], capture_output=True, text=True, env=env)
    assert ran.stdout == "ok\n", ran.stderr
    launched = "Entering OpenMP kernel" in ran.stderr
    assert launched == (target == "offload-host"), ran.stderr


def test_offload_host_refuses_a_library_in_one_line(tmp_path: Path):
    with pytest.raises(UsageError) as err:
        compile_program(
            PROGRAMS / "matmul.mlir", target="offload-host", out=tmp_path / "a", emit="staticlib"
        )
    assert "--emit staticlib is not available for target offload-host" in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_emit_kind(tmp_path: Path):
    with pytest.raises(UsageError, match="unknown --emit"):
        compile_program(PROGRAMS / "matmul.mlir", target="host", emit="dylib")
