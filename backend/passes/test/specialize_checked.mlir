// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-specialize-generic-ops))' --split-input-file -o %t
// RUN: FileCheck %s < %t
// mlirboot-specialize-generic-ops: upstream's naming, kept only when exact.
// LLVM 22's linalg-specialize-generic-ops names this C += A*B^T a plain
// linalg.matmul (dropping the transpose); the checked pass leaves it a generic.

// CHECK-LABEL: func.func @transposed_b
// CHECK-NOT: linalg.matmul
// CHECK: linalg.generic
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (j, k)>
#c = affine_map<(i, j, k) -> (i, j)>
func.func @transposed_b(%A: tensor<4x4xf32>, %B: tensor<4x4xf32>, %C: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %r = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<4x4xf32>, tensor<4x4xf32>) outs(%C : tensor<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}

// -----

// CHECK-LABEL: func.func @plain
// CHECK-NOT: linalg.generic
// CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<4x3xf32>, tensor<3x5xf32>) outs(%arg2 : tensor<4x5xf32>)
#pa = affine_map<(i, j, k) -> (i, k)>
#pb = affine_map<(i, j, k) -> (k, j)>
#pc = affine_map<(i, j, k) -> (i, j)>
func.func @plain(%A: tensor<4x3xf32>, %B: tensor<3x5xf32>, %C: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %r = linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<4x3xf32>, tensor<3x5xf32>) outs(%C : tensor<4x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}
