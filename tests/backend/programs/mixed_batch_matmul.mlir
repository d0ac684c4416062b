// A loop-written batch matmul (affine loops) after a zero-fill nest in the same
// function (issue 10). Entry: @mixed_batch_matmul(A f64[3,5,4], B f64[3,4,6],
// C f64[3,5,6]); C is written: C = A x B per batch.
func.func @mixed_batch_matmul(%A: memref<3x5x4xf64>, %B: memref<3x4x6xf64>, %C: memref<3x5x6xf64>) {
  %zero = arith.constant 0.0 : f64
  affine.for %b = 0 to 3 {
    affine.for %i = 0 to 5 {
      affine.for %j = 0 to 6 {
        affine.store %zero, %C[%b, %i, %j] : memref<3x5x6xf64>
      }
    }
  }
  affine.for %b = 0 to 3 {
    affine.for %i = 0 to 5 {
      affine.for %j = 0 to 6 {
        affine.for %p = 0 to 4 {
          %x = affine.load %A[%b, %i, %p] : memref<3x5x4xf64>
          %y = affine.load %B[%b, %p, %j] : memref<3x4x6xf64>
          %c = affine.load %C[%b, %i, %j] : memref<3x5x6xf64>
          %xy = arith.mulf %x, %y : f64
          %s = arith.addf %c, %xy : f64
          affine.store %s, %C[%b, %i, %j] : memref<3x5x6xf64>
        }
      }
    }
  }
  return
}
