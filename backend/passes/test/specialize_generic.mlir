// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(linalg-specialize-generic-ops))' --split-input-file -o %t 2> %t.diag
// RUN: FileCheck %s < %t
// Upstream (no plugin pass): a batch matmul / matmul / conv written as
// linalg.generic is named by linalg-specialize-generic-ops. The optimizing
// pipeline runs it after mlirboot-raise-loops-to-linalg.

// CHECK-LABEL: func.func @batch_matmul_generic
// CHECK-NOT: linalg.generic
// CHECK: linalg.batch_matmul ins(%arg0, %arg1 : tensor<3x4x6xf32>, tensor<3x6x5xf32>) outs(%arg2 : tensor<3x4x5xf32>)
#mA = affine_map<(b, i, j, k) -> (b, i, k)>
#mB = affine_map<(b, i, j, k) -> (b, k, j)>
#mC = affine_map<(b, i, j, k) -> (b, i, j)>
func.func @batch_matmul_generic(%a: tensor<3x4x6xf32>, %b: tensor<3x6x5xf32>, %c: tensor<3x4x5xf32>) -> tensor<3x4x5xf32> {
  %r = linalg.generic {indexing_maps = [#mA, #mB, #mC],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<3x4x6xf32>, tensor<3x6x5xf32>) outs(%c : tensor<3x4x5xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
  } -> tensor<3x4x5xf32>
  return %r : tensor<3x4x5xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_generic
// CHECK-NOT: linalg.generic
// CHECK: linalg.conv_2d ins(%arg0, %arg1 : tensor<8x6xf64>, tensor<3x2xf64>) outs(%arg2 : tensor<6x5xf64>)
#mI = affine_map<(i, j, p, q) -> (i + p, j + q)>
#mF = affine_map<(i, j, p, q) -> (p, q)>
#mO = affine_map<(i, j, p, q) -> (i, j)>
func.func @conv2d_generic(%in: tensor<8x6xf64>, %f: tensor<3x2xf64>, %o: tensor<6x5xf64>) -> tensor<6x5xf64> {
  %r = linalg.generic {indexing_maps = [#mI, #mF, #mO],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%in, %f : tensor<8x6xf64>, tensor<3x2xf64>) outs(%o : tensor<6x5xf64>) {
    ^bb0(%x: f64, %y: f64, %acc: f64):
      %p = arith.mulf %x, %y : f64
      %s = arith.addf %acc, %p : f64
      linalg.yield %s : f64
  } -> tensor<6x5xf64>
  return %r : tensor<6x5xf64>
}
