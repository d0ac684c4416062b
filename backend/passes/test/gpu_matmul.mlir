// RUN: mlir-opt %s --pass-pipeline='builtin.module(mlirboot-gpu-matmul{block-m=32 block-n=32 block-k=8 thread-m=4 thread-n=4})' -o %t
// Static matmuls whose sizes are multiples of the block tile become one
// scf.parallel over (team tile, thread) pairs: 64x8x96 with 32x32 tiles of 64
// threads (4x4 each) -> 2 x 3 tiles x 64 = 384 iterations. k goes by 8
// through two team-shared tiles (A transposed and padded by 4), staged by
// 16-byte loads, between two team barriers; each thread keeps 4 row vectors
// of C in registers.

// CHECK-DAG: memref.global "private" @__mlirboot_team_tile_a_f32 : memref<8x36xf32, 3> = uninitialized {alignment = 16 : i64, mlirboot.team_threads = 64 : i64}
// CHECK-DAG: memref.global "private" @__mlirboot_team_tile_b_f32 : memref<8x32xf32, 3> = uninitialized {alignment = 16 : i64, mlirboot.team_threads = 64 : i64}
// CHECK-DAG: memref.global "private" @__mlirboot_team_tile_a_f64 : memref<4x36xf64, 3>
// CHECK-LABEL: func.func @tiled
// CHECK-NOT: linalg.matmul
// CHECK: scf.parallel (%[[IV:.*]]) = (%{{.*}}) to (%c384) step
// CHECK: %[[N:.*]] = func.call @omp_get_num_threads() : () -> i32
// CHECK: arith.cmpi ne, %[[N]], %c64_i32
// CHECK-NEXT: scf.if
// CHECK-NEXT: llvm.intr.trap
// CHECK-COUNT-4: vector.load %arg2[{{.*}}] {alignment = 16 : i64} : memref<64x96xf32>, vector<4xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %c8{{.*}} step %c8{{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: %[[TA:.*]] = memref.get_global @__mlirboot_team_tile_a_f32
// CHECK: %[[TB:.*]] = memref.get_global @__mlirboot_team_tile_b_f32
// CHECK: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<64x8xf32>, vector<4xf32>
// CHECK-COUNT-4: memref.store %{{.*}}, %[[TA]]
// CHECK: %[[BV:.*]] = vector.load %arg1[{{.*}}] {alignment = 16 : i64} : memref<8x96xf32>, vector<4xf32>
// CHECK-NEXT: vector.store %[[BV]], %[[TB]]
// CHECK: func.call @__kmpc_barrier
// CHECK-COUNT-32: vector.fma
// CHECK: func.call @__kmpc_barrier
// CHECK: scf.yield
// CHECK-COUNT-4: vector.store %{{.*}}, %arg2[{{.*}}] {alignment = 16 : i64} : memref<64x96xf32>, vector<4xf32>
// REMARK: gpu_matmul.mlir:[[@LINE+2]]:3: remark: mlirboot: matmul 64x8x96 -> 6 team tiles of 32x32 (64 threads, 4x4 per thread, k by 8 in team-shared memory)
func.func @tiled(%a: memref<64x8xf32>, %b: memref<8x96xf32>, %c: memref<64x96xf32>) {
  linalg.matmul ins(%a, %b : memref<64x8xf32>, memref<8x96xf32>) outs(%c : memref<64x96xf32>)
  return
}

// f64 gets tiles of its own element type, staging half the k (the same
// bytes of team memory as f32), two elements per 16-byte load.
// CHECK-LABEL: func.func @tiled_f64
// CHECK-NOT: linalg.matmul
// CHECK: memref.get_global @__mlirboot_team_tile_a_f64
// CHECK: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<32x4xf64>, vector<2xf64>
// CHECK: vector.fma {{.*}} : vector<4xf64>
func.func @tiled_f64(%a: memref<32x4xf64>, %b: memref<4x32xf64>, %c: memref<32x32xf64>) {
  linalg.matmul ins(%a, %b : memref<32x4xf64>, memref<4x32xf64>) outs(%c : memref<32x32xf64>)
  return
}

// Sizes off the block tile: partial tiles at the edges, each global row read
// only below the row count (else zeros) and through a bounds-checked
// transfer (zeros past the last column), each C row written likewise; k runs
// to the next multiple of block-k.
// CHECK-LABEL: func.func @odd
// CHECK-NOT: linalg.matmul
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c384) step
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c60 : index
// CHECK-NEXT: scf.if %[[IN]] -> (vector<4xf32>) {
// CHECK-NEXT: vector.transfer_read %arg2[{{.*}}], %{{.*}} : memref<60x96xf32>, vector<4xf32>
// CHECK: } else {
// CHECK-NEXT: arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK: vector.transfer_read %arg0[{{.*}}], %{{.*}} : memref<60x8xf32>, vector<4xf32>
// CHECK: vector.transfer_read %arg1[{{.*}}], %{{.*}} : memref<8x96xf32>, vector<4xf32>
// CHECK: scf.if
// CHECK-NEXT: vector.transfer_write %{{.*}}, %arg2[{{.*}}] : vector<4xf32>, memref<60x96xf32>
// REMARK: gpu_matmul.mlir:[[@LINE+10]]:3: remark: mlirboot: matmul 60x8x96 -> 6 team tiles of 32x32 (64 threads, 4x4 per thread, k by 8 in team-shared memory; edge tiles guarded)

// A matmul inside a loop and a transposed operand stay as they are (the
// plain parallel loops take them).
// CHECK-LABEL: func.func @in_loop
// CHECK: scf.for
// CHECK: linalg.matmul
// CHECK-LABEL: func.func @transposed
// CHECK: linalg.matmul
func.func @odd(%a: memref<60x8xf32>, %b: memref<8x96xf32>, %c: memref<60x96xf32>) {
  linalg.matmul ins(%a, %b : memref<60x8xf32>, memref<8x96xf32>) outs(%c : memref<60x96xf32>)
  return
}
func.func @in_loop(%a: memref<32x4xf32>, %b: memref<4x32xf32>, %c: memref<32x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    linalg.matmul ins(%a, %b : memref<32x4xf32>, memref<4x32xf32>) outs(%c : memref<32x32xf32>)
  }
  return
}
func.func @transposed(%a: memref<4x32xf32>, %b: memref<4x32xf32>, %c: memref<32x32xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>]
    ins(%a, %b : memref<4x32xf32>, memref<4x32xf32>) outs(%c : memref<32x32xf32>)
  return
}

// batch_matmul: the batches' tiles one after the other (2 x 2 x 3 = 12 team
// tiles), every index led by the batch.
// CHECK-LABEL: func.func @batched
// CHECK-NOT: linalg.batch_matmul
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c768) step
// CHECK: %[[B:.*]] = arith.divui %{{.*}}, %c6 : index
// CHECK: vector.load %arg2[%[[B]], {{.*}}] {alignment = 16 : i64} : memref<2x64x96xf32>, vector<4xf32>
// CHECK: vector.load %arg0[%[[B]], {{.*}}] {alignment = 16 : i64} : memref<2x64x8xf32>, vector<4xf32>
// CHECK: vector.load %arg1[%[[B]], {{.*}}] {alignment = 16 : i64} : memref<2x8x96xf32>, vector<4xf32>
// REMARK: gpu_matmul.mlir:[[@LINE+2]]:3: remark: mlirboot: batch matmul 2x64x8x96 -> 12 team tiles of 32x32 (64 threads, 4x4 per thread, k by 8 in team-shared memory)
func.func @batched(%a: memref<2x64x8xf32>, %b: memref<2x8x96xf32>, %c: memref<2x64x96xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<2x64x8xf32>, memref<2x8x96xf32>) outs(%c : memref<2x64x96xf32>)
  return
}

// conv_2d_nhwc_hwcf as the matmul out[(n,oh,ow)][f] += in[...] * w[(kh,kw,c)][f]:
// filter and output seen as matrices (collapse_shape), A gathered from the
// input as it is staged, 4 channels at a time (stride 2 rows and columns).
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg.conv_2d_nhwc_hwcf
// CHECK-DAG: memref.collapse_shape %arg1 {{\[\[}}0, 1, 2], [3]] : memref<3x3x4x8xf32> into memref<36x8xf32>
// CHECK-DAG: memref.collapse_shape %arg2 {{\[\[}}0, 1, 2], [3]] : memref<1x2x2x8xf32> into memref<4x8xf32>
// CHECK: %[[INSIDE:.*]] = arith.andi
// CHECK-NEXT: scf.if %[[INSIDE]] -> (vector<4xf32>) {
// CHECK-NEXT: vector.load %arg0[{{.*}}] {alignment = 16 : i64} : memref<1x7x7x4xf32>, vector<4xf32>
// REMARK: gpu_matmul.mlir:[[@LINE+2]]:3: remark: mlirboot: conv_2d_nhwc_hwcf as matmul 4x36x8 -> 1 team tiles of 32x32 (64 threads, 4x4 per thread, k by 8 in team-shared memory; edge tiles guarded)
func.func @conv(%x: memref<1x7x7x4xf32>, %f: memref<3x3x4x8xf32>, %o: memref<1x2x2x8xf32>) {
  linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%x, %f : memref<1x7x7x4xf32>, memref<3x3x4x8xf32>) outs(%o : memref<1x2x2x8xf32>)
  return
}
