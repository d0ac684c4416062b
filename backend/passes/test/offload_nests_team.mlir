// RUN: mlir-opt %s --mlir-print-local-scope --pass-pipeline='builtin.module(convert-scf-to-openmp,mlirboot-offload-nests{entry=f maps=to,from kernel-file=k.mlir})' -o %t
// A nest that reads a team-shared buffer laid out for a team size
// (`mlirboot.team_threads`, as mlirboot-gpu-matmul makes them) gets teams of
// exactly that size: thread_limit, through host_eval like the bounds. A nest
// without one keeps the runtime's choice.

// CHECK-LABEL: func.func @f
// CHECK: omp.target host_eval(%{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %[[LIMIT:.*]] : index, index, index, i32)
// CHECK-NEXT: omp.teams thread_limit(%[[LIMIT]] : i32) {
// CHECK: memref.get_global @team_tile
// CHECK: omp.target host_eval(%{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}}, %{{.*}} -> %{{.*}} : index, index, index)
// CHECK-NEXT: omp.teams {
memref.global "private" @team_tile : memref<64xf32, 3> = uninitialized {mlirboot.team_threads = 64 : i64}
func.func @f(%x: memref<256xf32>, %y: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
    %t = memref.get_global @team_tile : memref<64xf32, 3>
    %j = arith.remui %i, %c64 : index
    %v = memref.load %x[%i] : memref<256xf32>
    memref.store %v, %t[%j] : memref<64xf32, 3>
    %w = memref.load %t[%j] : memref<64xf32, 3>
    memref.store %w, %y[%i] : memref<256xf32>
  }
  scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
    %v = memref.load %y[%i] : memref<256xf32>
    %d = arith.addf %v, %v : f32
    memref.store %d, %y[%i] : memref<256xf32>
  }
  return
}
