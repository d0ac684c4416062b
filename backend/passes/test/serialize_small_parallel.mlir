// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-serialize-small-parallel{min-work=5000}))' -o %t
// Outermost scf.parallel loops whose estimated work (static trip counts x the
// body's ops, a vector op counting its 64-byte pieces) is below min-work
// become scf.for nests, the scf.parallel loops inside them too; reductions
// become iter_args. Dynamic bounds, calls and large loops stay parallel.

// 2-D copy with a nested parallel loop: 4 x 8 x (1 + 2 x (1 + 3)) = 288 ops,
// serialized
// whole (outer dims first, the inner parallel loop as an scf.for too).
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.parallel
// CHECK: scf.for %[[I:.*]] = %c0 to %c4 step %c1 {
// CHECK-NEXT: scf.for %[[J:.*]] = %c0 to %c8 step %c1 {
// CHECK-NEXT: scf.for %[[K:.*]] = %c0 to %c2 step %c1 {
// CHECK-NEXT: memref.load %arg0[%[[I]], %[[J]], %[[K]]]
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: memref.store {{.*}}, %arg1[%[[I]], %[[J]], %[[K]]]
// CHECK-NOT: scf.parallel
// CHECK: return
// REMARK: serialize_small_parallel.mlir:[[@LINE+7]]:3: remark: mlirboot: small parallel loop runs serially (work 288 ops < min-work=5000)
func.func @small(%a: memref<4x8x2xf32>, %b: memref<4x8x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    scf.parallel (%k) = (%c0) to (%c2) step (%c1) {
      %x = memref.load %a[%i, %j, %k] : memref<4x8x2xf32>
      %y = arith.mulf %x, %x : f32
      memref.store %y, %b[%i, %j, %k] : memref<4x8x2xf32>
    }
  }
  return
}

// A sum and a max: each reduction an iter_arg (from the loop's init value),
// combined by its reduce region in the innermost loop.
// CHECK-LABEL: func.func @reductions
// CHECK-NOT: scf.parallel
// CHECK: %[[R:.*]]:2 = scf.for %[[I:.*]] = %c0 to %c16 step %c1 iter_args(%[[S:.*]] = %arg1, %[[M:.*]] = %arg2) -> (f32, f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %arg0[%[[I]]]
// CHECK-NEXT: %[[S2:.*]] = arith.addf %[[S]], %[[X]] : f32
// CHECK-NEXT: %[[M2:.*]] = arith.maximumf %[[M]], %[[X]] : f32
// CHECK-NEXT: scf.yield %[[S2]], %[[M2]] : f32, f32
// CHECK: return %[[R]]#0, %[[R]]#1
// REMARK: serialize_small_parallel.mlir:[[@LINE+5]]:10: remark: mlirboot: small parallel loop runs serially (work 64 ops < min-work=5000)
func.func @reductions(%a: memref<16xf32>, %init: f32, %low: f32) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %r:2 = scf.parallel (%i) = (%c0) to (%c16) step (%c1) init (%init, %low) -> (f32, f32) {
    %x = memref.load %a[%i] : memref<16xf32>
    scf.reduce(%x, %x : f32, f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }, {
    ^bb0(%l: f32, %r: f32):
      %m = arith.maximumf %l, %r : f32
      scf.reduce.return %m : f32
    }
  }
  return %r#0, %r#1 : f32, f32
}

// Over min-work: 1024 x (1 + 3 x 2) = 7168 ops (a vector<32xf32> op counts its
// two 64-byte pieces, not its 32 elements).
// CHECK-LABEL: func.func @large_vectors
// CHECK: scf.parallel
func.func @large_vectors(%a: memref<1024x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c1024) step (%c1) {
    %v = vector.transfer_read %a[%i, %c0], %z {in_bounds = [true]} : memref<1024x32xf32>, vector<32xf32>
    %w = arith.addf %v, %v : vector<32xf32>
    vector.transfer_write %w, %a[%i, %c0] {in_bounds = [true]} : vector<32xf32>, memref<1024x32xf32>
  }
  return
}

// Under min-work: 64 x (1 + 3 x 2) = 448 ops, serialized (by elements it would
// be 64 x (1 + 3 x 32) = 6208, over).
// CHECK-LABEL: func.func @vectors_by_pieces
// CHECK-NOT: scf.parallel
// CHECK: return
// REMARK: serialize_small_parallel.mlir:[[@LINE+6]]:3: remark: mlirboot: small parallel loop runs serially (work 448 ops < min-work=5000)
func.func @vectors_by_pieces(%a: memref<64x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    %v = vector.transfer_read %a[%i, %c0], %z {in_bounds = [true]} : memref<64x32xf32>, vector<32xf32>
    %w = arith.addf %v, %v : vector<32xf32>
    vector.transfer_write %w, %a[%i, %c0] {in_bounds = [true]} : vector<32xf32>, memref<64x32xf32>
  }
  return
}

// A dynamic bound, a call in the body (unknown cost): parallel.
// CHECK-LABEL: func.func @unknown
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: func.call @f
func.func private @f(index)
func.func @unknown(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    func.call @f(%i) : (index) -> ()
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    func.call @f(%i) : (index) -> ()
  }
  return
}

// A small parallel loop inside a serial loop with a dynamic bound: the
// parallel loop is outermost (its own work is small), so it is serialized.
// CHECK-LABEL: func.func @inside_for
// CHECK: scf.for
// CHECK-NEXT: scf.for
// CHECK-NOT: scf.parallel
// CHECK: return
// REMARK: serialize_small_parallel.mlir:[[@LINE+6]]:5: remark: mlirboot: small parallel loop runs serially (work 24 ops < min-work=5000)
func.func @inside_for(%a: memref<8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %t = %c0 to %n step %c1 {
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %x = memref.load %a[%i] : memref<8xf32>
      memref.store %x, %a[%i] : memref<8xf32>
    }
  }
  return
}
