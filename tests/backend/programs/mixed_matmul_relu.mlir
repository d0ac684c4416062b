// A loop-written matmul sharing its function with other loop nests: a zero
// fill before it and a relu after it (issue 10: the schedule once dropped the
// raised matmul here, returning zeros). Entry: @mixed_matmul_relu(A f32[13,7],
// B f32[7,10], C f32[13,10]); C is written: C = relu(A x B).
func.func @mixed_matmul_relu(%A: memref<13x7xf32>, %B: memref<7x10xf32>, %C: memref<13x10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant 13 : index
  %n = arith.constant 10 : index
  %k = arith.constant 7 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      memref.store %zero, %C[%i, %j] : memref<13x10xf32>
    }
  }
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      scf.for %p = %c0 to %k step %c1 {
        %x = memref.load %A[%i, %p] : memref<13x7xf32>
        %y = memref.load %B[%p, %j] : memref<7x10xf32>
        %c = memref.load %C[%i, %j] : memref<13x10xf32>
        %xy = arith.mulf %x, %y : f32
        %s = arith.addf %c, %xy : f32
        memref.store %s, %C[%i, %j] : memref<13x10xf32>
      }
    }
  }
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %c = memref.load %C[%i, %j] : memref<13x10xf32>
      %r = arith.maximumf %c, %zero : f32
      memref.store %r, %C[%i, %j] : memref<13x10xf32>
    }
  }
  return
}
