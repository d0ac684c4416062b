// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-reassociate-matmul-chains))' --split-input-file -o %t 2> %t.diag
// RUN: FileCheck %s < %t && FileCheck %s --check-prefix=REMARK --allow-empty < %t.diag

// (A·B)·C with A 64x512, B 512x512, C 512x4: A·(B·C) is 20x cheaper.
// 64*512*512 + 64*512*4 = 16908288; 512*512*4 + 64*512*4 = 1179648.
// REMARK: remark: mlirboot: reassociated matmul chain (A·B)·C -> A·(B·C): cost 16908288 -> 1179648 multiplies
// CHECK-LABEL: func.func @chain3
// CHECK: %[[BC:.*]] = linalg.matmul ins(%arg1, %arg2 : tensor<512x512xf32>, tensor<512x4xf32>)
// CHECK: %[[R:.*]] = linalg.matmul ins(%arg0, %[[BC]] : tensor<64x512xf32>, tensor<512x4xf32>)
// CHECK-NOT: linalg.matmul
// CHECK: return %[[R]]
func.func @chain3(%a: tensor<64x512xf32>, %b: tensor<512x512xf32>, %c: tensor<512x4xf32>) -> tensor<64x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<64x512xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x512xf32>) -> tensor<64x512xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<64x512xf32>, tensor<512x512xf32>) outs(%f1 : tensor<64x512xf32>) -> tensor<64x512xf32>
  %e2 = tensor.empty() : tensor<64x4xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x4xf32>) -> tensor<64x4xf32>
  %abc = linalg.matmul ins(%ab, %c : tensor<64x512xf32>, tensor<512x4xf32>) outs(%f2 : tensor<64x4xf32>) -> tensor<64x4xf32>
  return %abc : tensor<64x4xf32>
}

// -----

// A 4-chain written right-to-left, A·(B·(C·D)), f64; best is (A·B)·(C·D).
// A 2x100, B 100x3, C 3x100, D 100x2:
//   written: C·D 3*100*2=600, B·(CD) 100*3*2=600, A·(BCD) 2*100*2=400 -> 1600
//   best:    A·B 2*100*3=600, C·D 600, (AB)(CD) 2*3*2=12                 -> 1212
// REMARK: remark: mlirboot: reassociated matmul chain A·(B·(C·D)) -> (A·B)·(C·D): cost 1600 -> 1212 multiplies
// CHECK-LABEL: func.func @chain4
// CHECK-DAG: %[[AB:.*]] = linalg.matmul ins(%arg0, %arg1 : tensor<2x100xf64>, tensor<100x3xf64>)
// CHECK-DAG: %[[CD:.*]] = linalg.matmul ins(%arg2, %arg3 : tensor<3x100xf64>, tensor<100x2xf64>)
// CHECK: %[[R:.*]] = linalg.matmul ins(%[[AB]], %[[CD]] : tensor<2x3xf64>, tensor<3x2xf64>)
// CHECK: return %[[R]]
func.func @chain4(%a: tensor<2x100xf64>, %b: tensor<100x3xf64>, %c: tensor<3x100xf64>, %d: tensor<100x2xf64>) -> tensor<2x2xf64> {
  %zero = arith.constant 0.0 : f64
  %e1 = tensor.empty() : tensor<3x2xf64>
  %f1 = linalg.fill ins(%zero : f64) outs(%e1 : tensor<3x2xf64>) -> tensor<3x2xf64>
  %cd = linalg.matmul ins(%c, %d : tensor<3x100xf64>, tensor<100x2xf64>) outs(%f1 : tensor<3x2xf64>) -> tensor<3x2xf64>
  %e2 = tensor.empty() : tensor<100x2xf64>
  %f2 = linalg.fill ins(%zero : f64) outs(%e2 : tensor<100x2xf64>) -> tensor<100x2xf64>
  %bcd = linalg.matmul ins(%b, %cd : tensor<100x3xf64>, tensor<3x2xf64>) outs(%f2 : tensor<100x2xf64>) -> tensor<100x2xf64>
  %e3 = tensor.empty() : tensor<2x2xf64>
  %f3 = linalg.fill ins(%zero : f64) outs(%e3 : tensor<2x2xf64>) -> tensor<2x2xf64>
  %r = linalg.matmul ins(%a, %bcd : tensor<2x100xf64>, tensor<100x2xf64>) outs(%f3 : tensor<2x2xf64>) -> tensor<2x2xf64>
  return %r : tensor<2x2xf64>
}

// -----

// Already optimal: no rewrite, no remark.
// REMARK-NOT: remark
// CHECK-LABEL: func.func @optimal
// CHECK: %[[AB:.*]] = linalg.matmul ins(%arg0, %arg1 :
// CHECK: linalg.matmul ins(%[[AB]], %arg2 :
func.func @optimal(%a: tensor<4x512xf32>, %b: tensor<512x512xf32>, %c: tensor<512x64xf32>) -> tensor<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4x512xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x512xf32>) -> tensor<4x512xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<4x512xf32>, tensor<512x512xf32>) outs(%f1 : tensor<4x512xf32>) -> tensor<4x512xf32>
  %e2 = tensor.empty() : tensor<4x64xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x64xf32>) -> tensor<4x64xf32>
  %abc = linalg.matmul ins(%ab, %c : tensor<4x512xf32>, tensor<512x64xf32>) outs(%f2 : tensor<4x64xf32>) -> tensor<4x64xf32>
  return %abc : tensor<4x64xf32>
}

// -----

// The inner product has a second use (returned): not a chain, untouched.
// REMARK-NOT: remark
// CHECK-LABEL: func.func @shared_intermediate
// CHECK: %[[AB:.*]] = linalg.matmul ins(%arg0, %arg1 :
// CHECK: linalg.matmul ins(%[[AB]], %arg2 :
func.func @shared_intermediate(%a: tensor<64x512xf32>, %b: tensor<512x512xf32>, %c: tensor<512x4xf32>) -> (tensor<64x4xf32>, tensor<64x512xf32>) {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<64x512xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x512xf32>) -> tensor<64x512xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<64x512xf32>, tensor<512x512xf32>) outs(%f1 : tensor<64x512xf32>) -> tensor<64x512xf32>
  %e2 = tensor.empty() : tensor<64x4xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x4xf32>) -> tensor<64x4xf32>
  %abc = linalg.matmul ins(%ab, %c : tensor<64x512xf32>, tensor<512x4xf32>) outs(%f2 : tensor<64x4xf32>) -> tensor<64x4xf32>
  return %abc, %ab : tensor<64x4xf32>, tensor<64x512xf32>
}

// -----

// The inner accumulator is not zero (A·B + ones): not a pure product.
// REMARK-NOT: remark
// CHECK-LABEL: func.func @nonzero_accumulator
// CHECK: %[[AB:.*]] = linalg.matmul ins(%arg0, %arg1 :
// CHECK: linalg.matmul ins(%[[AB]], %arg2 :
func.func @nonzero_accumulator(%a: tensor<64x512xf32>, %b: tensor<512x512xf32>, %c: tensor<512x4xf32>) -> tensor<64x4xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e1 = tensor.empty() : tensor<64x512xf32>
  %f1 = linalg.fill ins(%one : f32) outs(%e1 : tensor<64x512xf32>) -> tensor<64x512xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<64x512xf32>, tensor<512x512xf32>) outs(%f1 : tensor<64x512xf32>) -> tensor<64x512xf32>
  %e2 = tensor.empty() : tensor<64x4xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x4xf32>) -> tensor<64x4xf32>
  %abc = linalg.matmul ins(%ab, %c : tensor<64x512xf32>, tensor<512x4xf32>) outs(%f2 : tensor<64x4xf32>) -> tensor<64x4xf32>
  return %abc : tensor<64x4xf32>
}
