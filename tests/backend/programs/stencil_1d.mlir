// A 1-D three-point average as a loop nest on memrefs: B[i] = (A[i] + A[i+1]
// + A[i+2]) / 3. The shifted loads are no elementwise index, and no
// contraction: recognition leaves the nest, and tpu refuses it (named).
// Entry: @stencil_1d(A f32[10], B f32[8]); B is written.
func.func @stencil_1d(%A: memref<10xf32>, %B: memref<8xf32>) {
  %third = arith.constant 0.333333343 : f32
  affine.for %i = 0 to 8 {
    %a0 = affine.load %A[%i] : memref<10xf32>
    %a1 = affine.load %A[%i + 1] : memref<10xf32>
    %a2 = affine.load %A[%i + 2] : memref<10xf32>
    %s0 = arith.addf %a0, %a1 : f32
    %s1 = arith.addf %s0, %a2 : f32
    %m = arith.mulf %s1, %third : f32
    affine.store %m, %B[%i] : memref<8xf32>
  }
  return
}
