"""MLIR test programs (tensor form, C interface), generated per shape."""

from __future__ import annotations


def matmul_acc(m: int, n: int, k: int, dtype: str = "f32") -> str:
    """C += A x B with C passed in (the accumulate form)."""
    ta, tb, tc = (
        f"tensor<{m}x{k}x{dtype}>",
        f"tensor<{k}x{n}x{dtype}>",
        f"tensor<{m}x{n}x{dtype}>",
    )
    return f"""
func.func @mm(%a: {ta}, %b: {tb}, %c: {tc}) -> {tc} attributes {{llvm.emit_c_interface}} {{
  %r = linalg.matmul ins(%a, %b : {ta}, {tb}) outs(%c : {tc}) -> {tc}
  return %r : {tc}
}}
"""


def matmul_fill(m: int, n: int, k: int, dtype: str = "f32") -> str:
    """C = A x B into a fresh zero-filled tensor (the form of examples/matmul.mlir)."""
    ta, tb, tc = (
        f"tensor<{m}x{k}x{dtype}>",
        f"tensor<{k}x{n}x{dtype}>",
        f"tensor<{m}x{n}x{dtype}>",
    )
    return f"""
func.func @mm(%a: {ta}, %b: {tb}) -> {tc} attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : {dtype}
  %init = tensor.empty() : {tc}
  %acc = linalg.fill ins(%zero : {dtype}) outs(%init : {tc}) -> {tc}
  %r = linalg.matmul ins(%a, %b : {ta}, {tb}) outs(%acc : {tc}) -> {tc}
  return %r : {tc}
}}
"""


def batch_matmul_acc(b: int, m: int, n: int, k: int, dtype: str = "f32") -> str:
    ta, tb, tc = (
        f"tensor<{b}x{m}x{k}x{dtype}>",
        f"tensor<{b}x{k}x{n}x{dtype}>",
        f"tensor<{b}x{m}x{n}x{dtype}>",
    )
    return f"""
func.func @mm(%a: {ta}, %b: {tb}, %c: {tc}) -> {tc} attributes {{llvm.emit_c_interface}} {{
  %r = linalg.batch_matmul ins(%a, %b : {ta}, {tb}) outs(%c : {tc}) -> {tc}
  return %r : {tc}
}}
"""
