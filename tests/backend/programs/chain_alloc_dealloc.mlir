// Two loop matmuls chained through a local memref.alloc that the program frees
// itself (memref.dealloc): D = (A x B) x C. Upstream ownership-based deallocation
// refused the dealloc at every -O level ("memory free side-effect ... not
// supported"). Entry: @chain2(A f32[7,3], B f32[3,11], C f32[11,2], D f32[7,2]); D is written.
func.func @chain2(%A: memref<7x3xf32>, %B: memref<3x11xf32>, %C: memref<11x2xf32>, %D: memref<7x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %c11 = arith.constant 11 : index
  %zero = arith.constant 0.0 : f32
  %T = memref.alloc() : memref<7x11xf32>
  linalg.fill ins(%zero : f32) outs(%T : memref<7x11xf32>)
  scf.for %i = %c0 to %c7 step %c1 {
    scf.for %j = %c0 to %c11 step %c1 {
      scf.for %k = %c0 to %c3 step %c1 {
        %a = memref.load %A[%i, %k] : memref<7x3xf32>
        %b = memref.load %B[%k, %j] : memref<3x11xf32>
        %t = memref.load %T[%i, %j] : memref<7x11xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %t, %p : f32
        memref.store %s, %T[%i, %j] : memref<7x11xf32>
      }
    }
  }
  linalg.fill ins(%zero : f32) outs(%D : memref<7x2xf32>)
  scf.for %i = %c0 to %c7 step %c1 {
    scf.for %j = %c0 to %c2 step %c1 {
      scf.for %k = %c0 to %c11 step %c1 {
        %a = memref.load %T[%i, %k] : memref<7x11xf32>
        %b = memref.load %C[%k, %j] : memref<11x2xf32>
        %d = memref.load %D[%i, %j] : memref<7x2xf32>
        %p = arith.mulf %a, %b : f32
        %s = arith.addf %d, %p : f32
        memref.store %s, %D[%i, %j] : memref<7x2xf32>
      }
    }
  }
  memref.dealloc %T : memref<7x11xf32>
  return
}
