"""The host programs' temporaries allocator (backend/data/runtime/scratch.c),
driven from a C harness compiled with the real clang: large freed blocks are
handed out again (no fresh pages for the next call), blocks are never shared
while in use, the cache is bounded and per thread, and a compiled program
that allocates temporaries gives the same results call after call."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from mlirboot.backend.driver import compile_program
from mlirboot.backend.steps.host_code import SCRATCH_SOURCE
from mlirboot.backend.toolbox import Toolbox

HARNESS = r"""
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
void *_mlir_memref_to_llvm_alloc(size_t);
void _mlir_memref_to_llvm_free(void *);
#define A _mlir_memref_to_llvm_alloc
#define F _mlir_memref_to_llvm_free
enum { MB = 1 << 20 };

static void *other(void *kept) {
  /* another thread's cache starts empty: it gets a new block */
  void *p = A(4 * MB);
  assert(p != kept);
  F(p);
  return NULL;
}

int main(void) {
  void *a = A(4 * MB);
  memset(a, 1, 4 * MB);
  F(a);
  void *b = A(4 * MB);          /* the freed block comes back */
  assert(b == a);
  void *c = A(4 * MB);          /* b is in use: never handed out twice */
  assert(c != b);
  F(b);
  F(c);
  void *d = A(1 * MB);          /* a kept 4 MB block is over twice the need */
  assert(d != a && d != c);
  void *e = A(3 * MB);          /* the smallest kept block that fits */
  assert(e == a || e == c);
  F(d);
  F(e);
  void *small = A(100);         /* small blocks go through malloc as they are */
  memset(small, 2, 100);
  F(small);
  void *many[12];               /* at most 8 kept: the rest is freed */
  for (int i = 0; i < 12; i++) many[i] = A((size_t)(i + 1) * MB);
  for (int i = 0; i < 12; i++) F(many[i]);
  int reused = 0;
  void *again[12];
  for (int i = 0; i < 12; i++) {
    again[i] = A((size_t)(i + 1) * MB);
    for (int j = 0; j < 12; j++) reused += again[i] == many[j];
  }
  assert(reused <= 8 && reused >= 4);
  for (int i = 0; i < 12; i++) F(again[i]);
  pthread_t t;
  void *kept = A(4 * MB);
  pthread_create(&t, NULL, other, kept);
  pthread_join(t, NULL);
  F(kept);
  F(NULL);
  puts("ok");
  return 0;
}
"""


def test_allocator_reuses_blocks_and_stays_bounded(tmp_path: Path) -> None:
    harness = tmp_path / "harness.c"
    harness.write_text(HARNESS)
    exe = tmp_path / "harness"
    clang = Toolbox(None).tool("clang")
    subprocess.run(
        [
            str(clang),
            "-O1",
            str(SCRATCH_SOURCE),
            str(harness),
            "-o",
            str(exe),
            "-lpthread",
        ],
        check=True,
    )
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


EXAMPLE = Path(__file__).parents[2] / "examples" / "loop_matmul.mlir"


def test_program_with_temporaries_repeats_exactly(tmp_path: Path) -> None:
    """A 256x192x128 matmul: the schedule's packed operands (>= 64 KiB) come
    from the allocator's kept blocks from the second call on, holding the
    previous call's data: results must not change (the padding is rewritten
    every call) and match numpy."""
    text = EXAMPLE.read_text()
    for old, new in (("96", "256"), ("80", "192"), ("48", "128")):
        text = text.replace(old, new)
    art = compile_program(text, target="host", opt="O2", out=tmp_path / "art")
    library = (tmp_path / "art" / "libprog.so").read_bytes()
    assert b"_mlir_memref_to_llvm_alloc" in library
    rng = np.random.default_rng(4)
    a = rng.standard_normal((256, 192)).astype(np.float32)
    b = rng.standard_normal((192, 128)).astype(np.float32)
    first = art.run(a, b, np.zeros((256, 128), np.float32))[-1]
    np.testing.assert_allclose(first, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)
    for _ in range(3):
        for threads in (1, 2):
            got = art.run(a, b, np.full((256, 128), np.nan, np.float32), threads=threads)[-1]
            np.testing.assert_array_equal(got, first)
