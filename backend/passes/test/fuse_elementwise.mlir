// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-fuse-elementwise-into-matmul{tile-sizes=8,32},canonicalize,cse))' --split-input-file -o %t 2> %t.diag
// RUN: FileCheck %s < %t && FileCheck %s --check-prefix=REMARK --allow-empty < %t.diag

// matmul + bias + relu (the first layer of mlp.mlir): one tile loop nest that
// fills, multiplies and applies the epilogue per 8x32 tile.
// REMARK: remark: mlirboot: fused elementwise consumer into linalg.matmul (tiles 8x32)
// CHECK-LABEL: func.func @dense_relu
// CHECK: scf.for
// CHECK: scf.for
// CHECK: linalg.fill {{.*}} -> tensor<8x32xf32>
// CHECK-NEXT: %[[MM:.*]] = linalg.matmul {{.*}} -> tensor<8x32xf32>
// CHECK: linalg.generic {{.*}} ins(%[[MM]],
// CHECK: arith.maximumf
// CHECK: tensor.insert_slice
// CHECK-NOT: linalg.matmul
#map_bias = affine_map<(i, j) -> (j)>
#map_id = affine_map<(i, j) -> (i, j)>
func.func @dense_relu(%x: tensor<16x64xf32>, %w: tensor<64x128xf32>, %b: tensor<128xf32>) -> tensor<16x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x128xf32>) -> tensor<16x128xf32>
  %h = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x128xf32>)
                     outs(%f : tensor<16x128xf32>) -> tensor<16x128xf32>
  %r = linalg.generic {indexing_maps = [#map_id, #map_bias, #map_id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%h, %b : tensor<16x128xf32>, tensor<128xf32>) outs(%e : tensor<16x128xf32>) {
    ^bb0(%v: f32, %bias: f32, %out: f32):
      %s = arith.addf %v, %bias : f32
      %m = arith.maximumf %s, %zero : f32
      linalg.yield %m : f32
  } -> tensor<16x128xf32>
  return %r : tensor<16x128xf32>
}

// -----

// The matmul result is also returned: fusing would recompute it, so nothing
// happens.
// REMARK-NOT: remark
// CHECK-LABEL: func.func @matmul_has_two_uses
// CHECK-NOT: scf.for
// CHECK: linalg.matmul
// CHECK: linalg.generic
#map_id2 = affine_map<(i, j) -> (i, j)>
func.func @matmul_has_two_uses(%x: tensor<16x64xf32>, %w: tensor<64x128xf32>) -> (tensor<16x128xf32>, tensor<16x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x128xf32>) -> tensor<16x128xf32>
  %h = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x128xf32>)
                     outs(%f : tensor<16x128xf32>) -> tensor<16x128xf32>
  %r = linalg.generic {indexing_maps = [#map_id2, #map_id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x128xf32>) outs(%e : tensor<16x128xf32>) {
    ^bb0(%v: f32, %out: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<16x128xf32>
  return %r, %h : tensor<16x128xf32>, tensor<16x128xf32>
}

// -----

// A transposing consumer is not elementwise in the producer's index space.
// REMARK-NOT: remark
// CHECK-LABEL: func.func @transposing_consumer
// CHECK-NOT: scf.for
#map_t = affine_map<(i, j) -> (j, i)>
#map_id3 = affine_map<(i, j) -> (i, j)>
func.func @transposing_consumer(%x: tensor<16x64xf32>, %w: tensor<64x128xf32>) -> tensor<128x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x128xf32>) -> tensor<16x128xf32>
  %h = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x128xf32>)
                     outs(%f : tensor<16x128xf32>) -> tensor<16x128xf32>
  %et = tensor.empty() : tensor<128x16xf32>
  %r = linalg.generic {indexing_maps = [#map_t, #map_id3],
                       iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x128xf32>) outs(%et : tensor<128x16xf32>) {
    ^bb0(%v: f32, %out: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<128x16xf32>
  return %r : tensor<128x16xf32>
}

// -----

// Extents the tiles do not divide: 8x32 becomes 8x11 for 33 columns (a last
// tile of 1 would give its temporaries a dynamic shape), and 37 columns (no
// divisor from 4 to 32) stay untiled. Every tile shape is static.
// REMARK: remark: mlirboot: fused elementwise consumer into linalg.matmul (tiles 8x11)
// REMARK: remark: mlirboot: fused elementwise consumer into linalg.matmul (tiles 8x0)
// CHECK-LABEL: func.func @uneven
// CHECK: scf.for {{.*}} = %c0 to %c33 step %c11
// CHECK: linalg.matmul {{.*}} -> tensor<8x11xf32>
// CHECK-LABEL: func.func @prime
// CHECK-NOT: tensor<8x?xf32>
// CHECK: linalg.matmul {{.*}} -> tensor<8x37xf32>
func.func @uneven(%x: tensor<16x8xf32>, %w: tensor<8x33xf32>) -> tensor<16x33xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x33xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x33xf32>) -> tensor<16x33xf32>
  %h = linalg.matmul ins(%x, %w : tensor<16x8xf32>, tensor<8x33xf32>)
                     outs(%f : tensor<16x33xf32>) -> tensor<16x33xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x33xf32>) outs(%e : tensor<16x33xf32>) {
    ^bb0(%v: f32, %out: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<16x33xf32>
  return %r : tensor<16x33xf32>
}
func.func @prime(%x: tensor<16x8xf32>, %w: tensor<8x37xf32>) -> tensor<16x37xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x37xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<16x37xf32>) -> tensor<16x37xf32>
  %h = linalg.matmul ins(%x, %w : tensor<16x8xf32>, tensor<8x37xf32>)
                     outs(%f : tensor<16x37xf32>) -> tensor<16x37xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<16x37xf32>) outs(%e : tensor<16x37xf32>) {
    ^bb0(%v: f32, %out: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<16x37xf32>
  return %r : tensor<16x37xf32>
}
