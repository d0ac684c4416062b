// Elementwise loop nests next to a raised matmul (issue 12 item 5): a zero
// fill, the matmul, then C[i,j] = max(C[i,j] + b[j], 0) and D[j,i] = C[i,j]
// (a transposing copy). Entry: @loop_bias_relu(A f32[6,5], B f32[5,4],
// b f32[4], C f32[6,4], D f32[4,6]); C and D are written.
func.func @loop_bias_relu(%A: memref<6x5xf32>, %B: memref<5x4xf32>, %b: memref<4xf32>,
                          %C: memref<6x4xf32>, %D: memref<4x6xf32>) {
  %zero = arith.constant 0.0 : f32
  affine.for %i = 0 to 6 {
    affine.for %j = 0 to 4 {
      affine.store %zero, %C[%i, %j] : memref<6x4xf32>
    }
  }
  affine.for %i = 0 to 6 {
    affine.for %j = 0 to 4 {
      affine.for %k = 0 to 5 {
        %x = affine.load %A[%i, %k] : memref<6x5xf32>
        %y = affine.load %B[%k, %j] : memref<5x4xf32>
        %c = affine.load %C[%i, %j] : memref<6x4xf32>
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %c, %p : f32
        affine.store %s, %C[%i, %j] : memref<6x4xf32>
      }
    }
  }
  affine.for %i = 0 to 6 {
    affine.for %j = 0 to 4 {
      %c = affine.load %C[%i, %j] : memref<6x4xf32>
      %v = affine.load %b[%j] : memref<4xf32>
      %s = arith.addf %c, %v : f32
      %r = arith.maximumf %s, %zero : f32
      affine.store %r, %C[%i, %j] : memref<6x4xf32>
    }
  }
  affine.for %j = 0 to 4 {
    affine.for %i = 0 to 6 {
      %c = affine.load %C[%i, %j] : memref<6x4xf32>
      affine.store %c, %D[%j, %i] : memref<4x6xf32>
    }
  }
  return
}
