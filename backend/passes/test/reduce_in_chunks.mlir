// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-serialize-unsupported-reductions{chunks=true}))' -o %t
// With chunks=true (the host pipeline), an outermost scf.parallel whose
// reduction convert-scf-to-openmp cannot declare keeps its first dimension
// parallel: up to 64 chunks of it, without a reduction, each folding its
// iterations into a stack slot; then a serial loop folds the chunks into the
// init value. An idempotent combiner (max, min, ...) starts each chunk from
// the init value: a plain loop. An inner such loop is serialized.

// CHECK-LABEL: func.func @maximumf
// CHECK: %[[R:.*]] = memref.alloca_scope -> (f32) {
// CHECK: %[[TRIPS:.*]] = arith.ceildivui
// CHECK: %[[SIZE:.*]] = arith.maxui
// CHECK: %[[CHUNKS:.*]] = arith.ceildivui %[[TRIPS]], %[[SIZE]]
// CHECK-NEXT: %[[SLOT:.*]] = memref.alloca() : memref<64xf32>
// CHECK-NEXT: scf.parallel (%[[C:.*]]) = (%{{.*}}) to (%[[CHUNKS]]) step (%{{.*}}) {
// CHECK: %[[ROW:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%[[A:.*]] = %cst) -> (f32) {
// CHECK-NEXT: scf.for %[[J:.*]] = %c0 to %c64 step %c1 iter_args(%[[A2:.*]] = %[[A]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %arg0[%[[I]], %[[J]]]
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[A2]], %[[X]] : f32
// CHECK-NEXT: scf.yield %[[M]] : f32
// CHECK: memref.store %[[ROW]], %[[SLOT]][%[[C]]]
// CHECK: %[[FOLD:.*]] = scf.for %[[K:.*]] = %{{.*}} to %[[CHUNKS]] step %{{.*}} iter_args(%[[B:.*]] = %cst) -> (f32) {
// CHECK-NEXT: %[[P:.*]] = memref.load %[[SLOT]][%[[K]]]
// CHECK-NEXT: %[[N:.*]] = arith.maximumf %[[B]], %[[P]] : f32
// CHECK-NEXT: scf.yield %[[N]] : f32
// CHECK: memref.alloca_scope.return %[[FOLD]] : f32
// CHECK: return %[[R]]
// REMARK: reduce_in_chunks.mlir:[[@LINE+6]]:8: remark: mlirboot: parallel loop reduces in up to 64 chunks, then folds them serially: convert-scf-to-openmp has no OpenMP reduction for its combiner `arith.maximumf`
func.func @maximumf(%a: memref<64x64xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 64 : index
  %init = arith.constant 0xFF800000 : f32
  %r = scf.parallel (%i, %j) = (%c0, %c0) to (%n, %n) step (%c1, %c1) init (%init) -> f32 {
    %x = memref.load %a[%i, %j] : memref<64x64xf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %rr: f32):
      %m = arith.maximumf %l, %rr : f32
      scf.reduce.return %m : f32
    }
  }
  return %r : f32
}

// Inside a parallel loop (no reduction of its own), the loop is serialized
// as without chunks: the outer loop is what runs on threads.
// CHECK-LABEL: func.func @inner
// CHECK-NOT: memref.alloca_scope
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (i32)
// CHECK: arith.maxsi
// REMARK: reduce_in_chunks.mlir:[[@LINE+8]]:12: remark: mlirboot: parallel loop runs serially
func.func @inner(%a: memref<8x16xi32>, %out: memref<8xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0 : i32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %row = scf.parallel (%j) = (%c0) to (%c16) step (%c1) init (%zero) -> i32 {
      %x = memref.load %a[%i, %j] : memref<8x16xi32>
      scf.reduce(%x : i32) {
      ^bb0(%l: i32, %rr: i32):
        %m = arith.maxsi %l, %rr : i32
        scf.reduce.return %m : i32
      }
    }
    memref.store %row, %out[%i] : memref<8xi32>
  }
  return
}

// Two reductions, one declared (addf) and one not (minimumf), dynamic
// bounds and a step of 3. addf is not idempotent: a chunk starts from the
// first value it sees, a flag slot says whether it saw one, and both values
// are folded per iteration in one scf.if.
// CHECK-LABEL: func.func @two
// CHECK: memref.alloca_scope -> (f32, f32)
// CHECK: %[[SEEN:.*]] = memref.alloca() : memref<64xi1>
// CHECK: scf.parallel
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %arg2 iter_args(%[[S:.*]] = %false, {{.*}}) -> (i1, f32, f32)
// CHECK: %[[V:.*]]:2 = scf.if %[[S]] -> (f32, f32)
// CHECK: arith.addf
// CHECK: arith.minimumf
// CHECK: scf.yield %true, %[[V]]#0, %[[V]]#1 : i1, f32, f32
// CHECK: memref.store %{{.*}}#0, %[[SEEN]]
// CHECK: scf.for
// CHECK: memref.load %[[SEEN]]
// CHECK: scf.if
// CHECK: memref.alloca_scope.return
func.func @two(%a: memref<?xf32>, %n: index, %step: index) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %inf = arith.constant 0x7F800000 : f32
  %r:2 = scf.parallel (%i) = (%c0) to (%n) step (%step) init (%zero, %inf) -> (f32, f32) {
    %x = memref.load %a[%i] : memref<?xf32>
    scf.reduce(%x, %x : f32, f32) {
    ^bb0(%l: f32, %rr: f32):
      %s = arith.addf %l, %rr : f32
      scf.reduce.return %s : f32
    }, {
    ^bb0(%l: f32, %rr: f32):
      %m = arith.minimumf %l, %rr : f32
      scf.reduce.return %m : f32
    }
  }
  return %r#0, %r#1 : f32, f32
}
