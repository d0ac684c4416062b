// RUN: mlir-opt %s --transform-interpreter --canonicalize --cse -o %t 2> %t.diag
// RUN: FileCheck %s < %t
// The upstream-only way to fuse a bias+relu epilogue into its matmul: a
// transform-dialect script (transform.structured.fuse = tile the consumer,
// fuse producers greedily). It needs a script per program: `match` selects
// every linalg.generic, one tile_sizes list serves all of them, and greedy
// producer fusion would also pull in (and recompute per tile) producers of
// the matmul's operands. mlirboot-fuse-elementwise-into-matmul makes the same
// rewrite with the op selection and fusion limits built in.
// Equivalent: mlir-opt in.mlir --transform-preload-library=transform-library-paths=script.mlir
//             --transform-interpreter --canonicalize --cse

// CHECK-LABEL: func.func @dense_relu
// CHECK: scf.for
// CHECK: scf.for
// CHECK: linalg.fill {{.*}} -> tensor<8x32xf32>
// CHECK-NEXT: %[[MM:.*]] = linalg.matmul {{.*}} -> tensor<8x32xf32>
// CHECK: linalg.generic {{.*}} ins(%[[MM]],
// CHECK: arith.maximumf
// CHECK-NOT: linalg.matmul
#map_bias = affine_map<(i, j) -> (j)>
#map_id = affine_map<(i, j) -> (i, j)>
module attributes {transform.with_named_sequence} {
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

  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %g = transform.structured.match ops{["linalg.generic"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:2 = transform.structured.fuse %g tile_sizes [8, 32]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
