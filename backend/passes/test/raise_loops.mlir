// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-raise-loops-to-linalg))' --split-input-file -o %t 2> %t.diag
// RUN: FileCheck %s < %t && FileCheck %s --check-prefix=REMARK --allow-empty < %t.diag

// The iter_args form with a fresh 0.0 accumulator (as front ends emit it).
// REMARK: remark: mlirboot: raised loop nest to linalg.matmul (96x48x80 f32) with linalg.fill of the fresh accumulator
// CHECK-LABEL: func.func @scf_iter_args_f32
// CHECK-NOT: scf.for
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2 : memref<96x48xf32>)
// CHECK-NEXT: linalg.matmul ins(%arg0, %arg1 : memref<96x80xf32>, memref<80x48xf32>) outs(%arg2 : memref<96x48xf32>)
func.func @scf_iter_args_f32(%A: memref<96x80xf32>, %B: memref<80x48xf32>, %C: memref<96x48xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant 96 : index
  %n = arith.constant 48 : index
  %k = arith.constant 80 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %sum = scf.for %p = %c0 to %k step %c1 iter_args(%acc = %zero) -> (f32) {
        %x = memref.load %A[%i, %p] : memref<96x80xf32>
        %y = memref.load %B[%p, %j] : memref<80x48xf32>
        %xy = arith.mulf %x, %y : f32
        %acc2 = arith.addf %acc, %xy : f32
        scf.yield %acc2 : f32
      }
      memref.store %sum, %C[%i, %j] : memref<96x48xf32>
    }
  }
  return
}

// -----

// The update form C[i,j] = C[i,j] + A[i,k]*B[k,j] on affine loops, with the
// product operands in B*A order: accumulates into C, so no fill.
// REMARK: remark: mlirboot: raised loop nest to linalg.matmul (8x16x4 f32)
// CHECK-LABEL: func.func @affine_update_f32
// CHECK-NOT: affine.for
// CHECK-NOT: linalg.fill
// CHECK: linalg.matmul ins(%arg0, %arg1 : memref<8x4xf32>, memref<4x16xf32>) outs(%arg2 : memref<8x16xf32>)
func.func @affine_update_f32(%A: memref<8x4xf32>, %B: memref<4x16xf32>, %C: memref<8x16xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 16 {
      affine.for %k = 0 to 4 {
        %a = affine.load %A[%i, %k] : memref<8x4xf32>
        %b = affine.load %B[%k, %j] : memref<4x16xf32>
        %c = affine.load %C[%i, %j] : memref<8x16xf32>
        %p = arith.mulf %b, %a : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x16xf32>
      }
    }
  }
  return
}

// -----

// f64, iter_args form whose accumulator starts from C[i,j] (C += A*B).
// REMARK: remark: mlirboot: raised loop nest to linalg.matmul (5x7x3 f64)
// CHECK-LABEL: func.func @scf_accumulate_f64
// CHECK-NOT: scf.for
// CHECK-NOT: linalg.fill
// CHECK: linalg.matmul ins(%arg0, %arg1 : memref<5x3xf64>, memref<3x7xf64>) outs(%arg2 : memref<5x7xf64>)
func.func @scf_accumulate_f64(%A: memref<5x3xf64>, %B: memref<3x7xf64>, %C: memref<5x7xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c7 = arith.constant 7 : index
  scf.for %i = %c0 to %c5 step %c1 {
    scf.for %j = %c0 to %c7 step %c1 {
      %init = memref.load %C[%i, %j] : memref<5x7xf64>
      %sum = scf.for %k = %c0 to %c3 step %c1 iter_args(%acc = %init) -> (f64) {
        %a = memref.load %A[%i, %k] : memref<5x3xf64>
        %b = memref.load %B[%k, %j] : memref<3x7xf64>
        %p = arith.mulf %a, %b : f64
        %s = arith.addf %p, %acc : f64
        scf.yield %s : f64
      }
      memref.store %sum, %C[%i, %j] : memref<5x7xf64>
    }
  }
  return
}

// -----

// i32 matmul, update form on scf loops.
// REMARK: remark: mlirboot: raised loop nest to linalg.matmul (4x6x5 i32)
// CHECK-LABEL: func.func @scf_update_i32
// CHECK: linalg.matmul ins(%arg0, %arg1 : memref<4x5xi32>, memref<5x6xi32>) outs(%arg2 : memref<4x6xi32>)
func.func @scf_update_i32(%A: memref<4x5xi32>, %B: memref<5x6xi32>, %C: memref<4x6xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c6 step %c1 {
      scf.for %k = %c0 to %c5 step %c1 {
        %a = memref.load %A[%i, %k] : memref<4x5xi32>
        %b = memref.load %B[%k, %j] : memref<5x6xi32>
        %c = memref.load %C[%i, %j] : memref<4x6xi32>
        %p = arith.muli %a, %b : i32
        %s = arith.addi %c, %p : i32
        memref.store %s, %C[%i, %j] : memref<4x6xi32>
      }
    }
  }
  return
}

// -----

// Batch matmul on affine loops, iter_args form with a fresh accumulator.
// REMARK: remark: mlirboot: raised loop nest to linalg.batch_matmul (3x4x5x6 f32) with linalg.fill
// CHECK-LABEL: func.func @affine_batch_matmul
// CHECK-NOT: affine.for
// CHECK: linalg.fill
// CHECK-NEXT: linalg.batch_matmul ins(%arg0, %arg1 : memref<3x4x6xf32>, memref<3x6x5xf32>) outs(%arg2 : memref<3x4x5xf32>)
func.func @affine_batch_matmul(%A: memref<3x4x6xf32>, %B: memref<3x6x5xf32>, %C: memref<3x4x5xf32>) {
  %zero = arith.constant 0.0 : f32
  affine.for %b = 0 to 3 {
    affine.for %i = 0 to 4 {
      affine.for %j = 0 to 5 {
        %sum = affine.for %k = 0 to 6 iter_args(%acc = %zero) -> (f32) {
          %x = affine.load %A[%b, %i, %k] : memref<3x4x6xf32>
          %y = affine.load %B[%b, %k, %j] : memref<3x6x5xf32>
          %p = arith.mulf %x, %y : f32
          %s = arith.addf %acc, %p : f32
          affine.yield %s : f32
        }
        affine.store %sum, %C[%b, %i, %j] : memref<3x4x5xf32>
      }
    }
  }
  return
}

// -----

// 2-D convolution (no batch/channels): O[i,j] += I[i+p, j+q] * F[p,q], with
// the window index computed by arith.addi.
// REMARK: remark: mlirboot: raised loop nest to linalg.conv_2d (6x5x3x2 f32)
// CHECK-LABEL: func.func @scf_conv2d
// CHECK-NOT: scf.for
// CHECK: linalg.conv_2d ins(%arg0, %arg1 : memref<8x6xf32>, memref<3x2xf32>) outs(%arg2 : memref<6x5xf32>)
func.func @scf_conv2d(%I: memref<8x6xf32>, %F: memref<3x2xf32>, %O: memref<6x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  scf.for %i = %c0 to %c6 step %c1 {
    scf.for %j = %c0 to %c5 step %c1 {
      scf.for %p = %c0 to %c3 step %c1 {
        scf.for %q = %c0 to %c2 step %c1 {
          %r = arith.addi %i, %p : index
          %s = arith.addi %j, %q : index
          %x = memref.load %I[%r, %s] : memref<8x6xf32>
          %w = memref.load %F[%p, %q] : memref<3x2xf32>
          %o = memref.load %O[%i, %j] : memref<6x5xf32>
          %m = arith.mulf %x, %w : f32
          %a = arith.addf %o, %m : f32
          memref.store %a, %O[%i, %j] : memref<6x5xf32>
        }
      }
    }
  }
  return
}

// -----

// NHWC/HWCF convolution on affine loops, iter_args over (kh, kw, c).
// REMARK: remark: mlirboot: raised loop nest to linalg.conv_2d_nhwc_hwcf (2x4x4x3x3x3x2 f32) with linalg.fill
// CHECK-LABEL: func.func @affine_conv2d_nhwc
// CHECK-NOT: affine.for
// CHECK: linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%arg0, %arg1 : memref<2x6x6x2xf32>, memref<3x3x2x3xf32>) outs(%arg2 : memref<2x4x4x3xf32>)
func.func @affine_conv2d_nhwc(%I: memref<2x6x6x2xf32>, %F: memref<3x3x2x3xf32>, %O: memref<2x4x4x3xf32>) {
  %zero = arith.constant 0.0 : f32
  affine.for %n = 0 to 2 {
    affine.for %h = 0 to 4 {
      affine.for %w = 0 to 4 {
        affine.for %f = 0 to 3 {
          %s0 = affine.for %kh = 0 to 3 iter_args(%a0 = %zero) -> (f32) {
            %s1 = affine.for %kw = 0 to 3 iter_args(%a1 = %a0) -> (f32) {
              %s2 = affine.for %c = 0 to 2 iter_args(%a2 = %a1) -> (f32) {
                %x = affine.load %I[%n, %h + %kh, %w + %kw, %c] : memref<2x6x6x2xf32>
                %y = affine.load %F[%kh, %kw, %c, %f] : memref<3x3x2x3xf32>
                %p = arith.mulf %x, %y : f32
                %s = arith.addf %a2, %p : f32
                affine.yield %s : f32
              }
              affine.yield %s2 : f32
            }
            affine.yield %s1 : f32
          }
          affine.store %s0, %O[%n, %h, %w, %f] : memref<2x4x4x3xf32>
        }
      }
    }
  }
  return
}
