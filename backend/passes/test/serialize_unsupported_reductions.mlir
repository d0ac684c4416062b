// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-serialize-unsupported-reductions))' -o %t
// scf.parallel loops with a reduction that convert-scf-to-openmp (LLVM 22)
// cannot declare become scf.for nests (the reduction an iter_arg); loops
// whose reductions it declares, and loops without reductions, stay parallel.

// arith.maximumf: no OpenMP form, so serial, from the loop's init value.
// CHECK-LABEL: func.func @maximumf
// CHECK-NOT: scf.parallel
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %c0 to %c64 step %c1 iter_args(%[[A:.*]] = %cst) -> (f32) {
// CHECK-NEXT: scf.for %[[J:.*]] = %c0 to %c64 step %c1 iter_args(%[[B:.*]] = %[[A]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %arg0[%[[I]], %[[J]]]
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[B]], %[[X]] : f32
// CHECK-NEXT: scf.yield %[[M]] : f32
// CHECK: return %[[R]]
// REMARK: serialize_unsupported_reductions.mlir:[[@LINE+6]]:8: remark: mlirboot: parallel loop runs serially: convert-scf-to-openmp has no OpenMP reduction for its combiner `arith.maximumf`
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

// The forms the conversion declares stay parallel: addf, and a cmpf ogt +
// select max (operands swapped in the select), side by side in one loop.
// CHECK-LABEL: func.func @declared
// CHECK: scf.parallel
// CHECK: arith.addf
// CHECK: arith.cmpf ogt
// CHECK-NOT: scf.for
// CHECK: return
func.func @declared(%a: memref<64xf32>) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %r:2 = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero, %zero) -> (f32, f32) {
    %x = memref.load %a[%i] : memref<64xf32>
    scf.reduce(%x, %x : f32, f32) {
    ^bb0(%l: f32, %rr: f32):
      %s = arith.addf %l, %rr : f32
      scf.reduce.return %s : f32
    }, {
    ^bb0(%l: f32, %rr: f32):
      %c = arith.cmpf ogt, %l, %rr : f32
      %m = arith.select %c, %rr, %l : f32
      scf.reduce.return %m : f32
    }
  }
  return %r#0, %r#1 : f32, f32
}

// Only the loop with the reduction is serialized: the outer loop (no
// reduction) stays parallel around the inner maxsi one; a two-op combiner
// is not declared either.
// CHECK-LABEL: func.func @nested
// CHECK: scf.parallel (%[[I:.*]]) =
// CHECK-NEXT: %[[ROW:.*]] = scf.for {{.*}} iter_args(%[[A:.*]] = %c0_i32) -> (i32) {
// CHECK: arith.maxsi %[[A]]
// CHECK: scf.for {{.*}} -> (i32) {
// CHECK: arith.subi
// CHECK: arith.muli
// CHECK: return
// REMARK: serialize_unsupported_reductions.mlir:[[@LINE+9]]:12: remark: mlirboot: parallel loop runs serially: convert-scf-to-openmp has no OpenMP reduction for its combiner `arith.maxsi`
// REMARK: serialize_unsupported_reductions.mlir:[[@LINE+17]]:12: remark: mlirboot: parallel loop runs serially: convert-scf-to-openmp has no OpenMP reduction for its combiner `arith.subi`
func.func @nested(%a: memref<8x16xi32>, %out: memref<8xi32>, %out2: memref<8xi32>) {
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
    %odd = scf.parallel (%j) = (%c0) to (%c16) step (%c1) init (%zero) -> i32 {
      %x = memref.load %a[%i, %j] : memref<8x16xi32>
      scf.reduce(%x : i32) {
      ^bb0(%l: i32, %rr: i32):
        %d = arith.subi %l, %rr : i32
        %m = arith.muli %d, %d : i32
        scf.reduce.return %m : i32
      }
    }
    memref.store %odd, %out2[%i] : memref<8xi32>
  }
  return
}
