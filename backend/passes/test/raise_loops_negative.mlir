// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-raise-loops-to-linalg))' --split-input-file -o %t 2> %t.diag
// RUN: FileCheck %s < %t && FileCheck %s --check-prefix=REMARK --allow-empty < %t.diag
// Near-matmuls that must stay loops: nothing is raised, no remark.
// REMARK-NOT: remark
// CHECK-NOT: linalg.

// Wrong index: A[i, j] instead of A[i, k].
// CHECK-LABEL: func.func @wrong_index
// CHECK: affine.for
func.func @wrong_index(%A: memref<8x8xf32>, %B: memref<8x8xf32>, %C: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 8 {
        %a = affine.load %A[%i, %j] : memref<8x8xf32>
        %b = affine.load %B[%k, %j] : memref<8x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// An extra store (side effect) in the nest.
// CHECK-LABEL: func.func @extra_store
// CHECK: affine.for
func.func @extra_store(%A: memref<8x4xf32>, %B: memref<4x8xf32>, %C: memref<8x8xf32>, %D: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 4 {
        %a = affine.load %A[%i, %k] : memref<8x4xf32>
        %b = affine.load %B[%k, %j] : memref<4x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
        affine.store %p, %D[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// Loop bound (7) differs from the memref extent (8): a partial product.
// CHECK-LABEL: func.func @short_bound
// CHECK: affine.for
func.func @short_bound(%A: memref<8x8xf32>, %B: memref<8x8xf32>, %C: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 7 {
        %a = affine.load %A[%i, %k] : memref<8x8xf32>
        %b = affine.load %B[%k, %j] : memref<8x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// Step 2 on the reduction loop.
// CHECK-LABEL: func.func @step_two
// CHECK: scf.for
func.func @step_two(%A: memref<8x8xf32>, %B: memref<8x8xf32>, %C: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      scf.for %k = %c0 to %c8 step %c2 {
        %a = memref.load %A[%i, %k] : memref<8x8xf32>
        %b = memref.load %B[%k, %j] : memref<8x8xf32>
        %c = memref.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        memref.store %s, %C[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// Subtraction instead of addition.
// CHECK-LABEL: func.func @sub_not_add
// CHECK: affine.for
func.func @sub_not_add(%A: memref<8x4xf32>, %B: memref<4x8xf32>, %C: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 4 {
        %a = affine.load %A[%i, %k] : memref<8x4xf32>
        %b = affine.load %B[%k, %j] : memref<4x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.subf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// Transposed A (C += A^T B): upstream's specializer would wrongly name this a
// plain matmul; the pass must keep the loops.
// CHECK-LABEL: func.func @transposed_a
// CHECK: affine.for
func.func @transposed_a(%A: memref<4x8xf32>, %B: memref<4x8xf32>, %C: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 4 {
        %a = affine.load %A[%k, %i] : memref<4x8xf32>
        %b = affine.load %B[%k, %j] : memref<4x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// In place: the output is also an input.
// CHECK-LABEL: func.func @in_place
// CHECK: affine.for
func.func @in_place(%A: memref<8x8xf32>, %B: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 8 {
        %a = affine.load %A[%i, %k] : memref<8x8xf32>
        %b = affine.load %B[%k, %j] : memref<8x8xf32>
        %c = affine.load %A[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %A[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// A call (unknown side effects) in the nest.
// CHECK-LABEL: func.func @call_in_nest
// CHECK: scf.for
func.func private @observe(f32)
func.func @call_in_nest(%A: memref<8x4xf32>, %B: memref<4x8xf32>, %C: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
        %a = memref.load %A[%i, %k] : memref<8x4xf32>
        %b = memref.load %B[%k, %j] : memref<4x8xf32>
        %p = arith.mulf %a, %b : f32
        func.call @observe(%p) : (f32) -> ()
        %s = arith.addf %acc, %p : f32
        scf.yield %s : f32
      }
      memref.store %sum, %C[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// -----

// The accumulator is stored with an extra scaling: not a plain product.
// CHECK-LABEL: func.func @scaled_result
// CHECK: scf.for
func.func @scaled_result(%A: memref<8x4xf32>, %B: memref<4x8xf32>, %C: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
        %a = memref.load %A[%i, %k] : memref<8x4xf32>
        %b = memref.load %B[%k, %j] : memref<4x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %acc, %p : f32
        scf.yield %s : f32
      }
      %r = arith.mulf %sum, %two : f32
      memref.store %r, %C[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// -----

// In place through a view: A is a subview of C.
// CHECK-LABEL: func.func @in_place_view
// CHECK: affine.for
func.func @in_place_view(%C: memref<8x8xf32>, %B: memref<8x8xf32>) {
  %A = memref.subview %C[0, 0] [8, 8] [1, 1] : memref<8x8xf32> to memref<8x8xf32, strided<[8, 1]>>
  %zero = arith.constant 0.0 : f32
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      %sum = affine.for %k = 0 to 8 iter_args(%acc = %zero) -> (f32) {
        %a = affine.load %A[%i, %k] : memref<8x8xf32, strided<[8, 1]>>
        %b = affine.load %B[%k, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %acc, %p : f32
        affine.yield %s : f32
      }
      affine.store %sum, %C[%i, %j] : memref<8x8xf32>
    }
  }
  return
}

// -----

// Two accumulating loops in one body (not a single chain of loops).
// CHECK-LABEL: func.func @two_inner_loops
// CHECK: affine.for
func.func @two_inner_loops(%A: memref<8x4xf32>, %B: memref<4x8xf32>, %C: memref<8x8xf32>) {
  affine.for %i = 0 to 8 {
    affine.for %j = 0 to 8 {
      affine.for %k = 0 to 4 {
        %a = affine.load %A[%i, %k] : memref<8x4xf32>
        %b = affine.load %B[%k, %j] : memref<4x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
      }
      affine.for %k = 0 to 4 {
        %a = affine.load %A[%i, %k] : memref<8x4xf32>
        %b = affine.load %B[%k, %j] : memref<4x8xf32>
        %c = affine.load %C[%i, %j] : memref<8x8xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<8x8xf32>
      }
    }
  }
  return
}

// -----

// Dynamic shapes: bounds cannot be proven equal to the extents statically.
// CHECK-LABEL: func.func @dynamic_shapes
// CHECK: scf.for
func.func @dynamic_shapes(%A: memref<?x?xf32>, %B: memref<?x?xf32>, %C: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = memref.dim %A, %c0 : memref<?x?xf32>
  %k = memref.dim %A, %c1 : memref<?x?xf32>
  %n = memref.dim %B, %c1 : memref<?x?xf32>
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      scf.for %p = %c0 to %k step %c1 {
        %a = memref.load %A[%i, %p] : memref<?x?xf32>
        %b = memref.load %B[%p, %j] : memref<?x?xf32>
        %c = memref.load %C[%i, %j] : memref<?x?xf32>
        %x = arith.mulf %a, %b : f32
        %s = arith.addf %c, %x : f32
        memref.store %s, %C[%i, %j] : memref<?x?xf32>
      }
    }
  }
  return
}
