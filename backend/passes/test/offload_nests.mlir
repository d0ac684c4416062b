// RUN: mlir-opt %s --mlir-print-debuginfo --mlir-print-local-scope --pass-pipeline='builtin.module(mlirboot-offload-nests{entry=f maps=to,from kernel-file=k.mlir})' -o %t
// Two parallel nests (scale into a temporary, then relu out of it) around a
// serial loop: each nest its own composite kernel with its bounds through
// host_eval, the serial loop a plain kernel, the buffers mapped once.

// CHECK-LABEL: func.func @f
// CHECK: %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x4xf32>
// CHECK: omp.map.info {{.*}} map_clauses(to) capture(ByRef) -> !llvm.ptr {name = "arg0"}
// CHECK: omp.map.info {{.*}} map_clauses(from) capture(ByRef) -> !llvm.ptr {name = "arg1"}
// CHECK: omp.map.info {{.*}} map_clauses(storage) capture(ByRef) -> !llvm.ptr {name = "tmp0"}
// CHECK: omp.target_data map_entries(
// CHECK: omp.target host_eval(%{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}} : index, index, index, index, index, index) map_entries(
// CHECK-NEXT: omp.teams {
// CHECK-NEXT: omp.parallel {
// CHECK-NEXT: omp.distribute {
// CHECK-NEXT: omp.wsloop {
// CHECK-NEXT: omp.loop_nest
// CHECK: builtin.unrealized_conversion_cast {{.*}} to memref<8x4xf32>
// CHECK: arith.mulf
// CHECK: } {omp.composite}
// CHECK-NEXT: } {omp.composite}
// CHECK: } {omp.composite}
// CHECK: } loc("k.mlir":1:1)
// CHECK: omp.target map_entries(
// CHECK-NOT: omp.teams
// CHECK: scf.for
// CHECK: } loc("k.mlir":2:1)
// CHECK: omp.target host_eval(
// CHECK: arith.maximumf
// CHECK: } loc("k.mlir":3:1)
// CHECK: memref.dealloc %[[T]]
// CHECK-NEXT: return
func.func @f(%a: memref<8x4xf32>, %out: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %two = arith.constant 2.0 : f32
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() {alignment = 64 : i64} : memref<8x4xf32>
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i, %j) : index = (%c0, %c0) to (%c8, %c4) step (%c1, %c1) collapse(2) {
        %v = memref.load %a[%i, %j] : memref<8x4xf32>
        %s = arith.mulf %v, %two : f32
        memref.store %s, %t[%i, %j] : memref<8x4xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  scf.for %j = %c0 to %c4 step %c1 {
    %v = memref.load %t[%c0, %j] : memref<8x4xf32>
    %s = arith.addf %v, %two : f32
    memref.store %s, %t[%c0, %j] : memref<8x4xf32>
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i, %j) : index = (%c0, %c0) to (%c8, %c4) step (%c1, %c1) collapse(2) {
        %v = memref.load %t[%i, %j] : memref<8x4xf32>
        %r = arith.maximumf %v, %zero : f32
        memref.store %r, %out[%i, %j] : memref<8x4xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  memref.dealloc %t : memref<8x4xf32>
  return
}
