// A private loop-matmul helper called twice from the entry through a local
// buffer the entry frees itself: D = (A x B) x C. Entry: @twice(A f32[4,6],
// B f32[6,6], C f32[6,6], D f32[4,6]); D is written.
func.func private @mm(%A: memref<4x6xf32>, %B: memref<6x6xf32>, %C: memref<4x6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c6 step %c1 {
      memref.store %zero, %C[%i, %j] : memref<4x6xf32>
      scf.for %k = %c0 to %c6 step %c1 {
        %a = memref.load %A[%i, %k] : memref<4x6xf32>
        %b = memref.load %B[%k, %j] : memref<6x6xf32>
        %c = memref.load %C[%i, %j] : memref<4x6xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %c, %p : f32
        memref.store %s, %C[%i, %j] : memref<4x6xf32>
      }
    }
  }
  return
}
func.func @twice(%A: memref<4x6xf32>, %B: memref<6x6xf32>, %C: memref<6x6xf32>, %D: memref<4x6xf32>) {
  %T = memref.alloc() : memref<4x6xf32>
  func.call @mm(%A, %B, %T) : (memref<4x6xf32>, memref<6x6xf32>, memref<4x6xf32>) -> ()
  func.call @mm(%T, %C, %D) : (memref<4x6xf32>, memref<6x6xf32>, memref<4x6xf32>) -> ()
  memref.dealloc %T : memref<4x6xf32>
  return
}
