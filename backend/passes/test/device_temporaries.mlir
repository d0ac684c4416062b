// RUN: mlir-opt %s --pass-pipeline='builtin.module(mlirboot-device-temporaries{memory-space=1 target=amd})' -o %t
// A 64 KiB heap temporary of device code becomes an uninitialized module-level
// buffer in address space 1, cast back to the alloc's type; its free goes.

// CHECK: memref.global "private" @__mlirboot_tmp_f_0 : memref<64x256xf32, 1> = uninitialized {alignment = 64 : i64}
// CHECK-LABEL: func.func @f
// CHECK: %[[G:.*]] = memref.get_global @__mlirboot_tmp_f_0 : memref<64x256xf32, 1>
// CHECK: %[[C:.*]] = memref.memory_space_cast %[[G]] : memref<64x256xf32, 1> to memref<64x256xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[C]] : memref<64x256xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
func.func @f(%out: memref<64x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() {alignment = 64 : i64} : memref<64x256xf32>
  linalg.fill ins(%zero : f32) outs(%t : memref<64x256xf32>)
  memref.copy %t, %out : memref<64x256xf32> to memref<64x256xf32>
  memref.dealloc %t : memref<64x256xf32>
  return
}
