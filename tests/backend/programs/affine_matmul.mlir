// A matmul as an affine loop nest on memrefs accumulating into C (C += A x B).
// Entry: @affine_matmul(A f32[40,24], B f32[24,36], C f32[40,36]); C is read and written.
func.func @affine_matmul(%A: memref<40x24xf32>, %B: memref<24x36xf32>, %C: memref<40x36xf32>) {
  affine.for %i = 0 to 40 {
    affine.for %j = 0 to 36 {
      affine.for %k = 0 to 24 {
        %a = affine.load %A[%i, %k] : memref<40x24xf32>
        %b = affine.load %B[%k, %j] : memref<24x36xf32>
        %c = affine.load %C[%i, %j] : memref<40x36xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<40x36xf32>
      }
    }
  }
  return
}
