// An f64 matmul loop nest (scf) with a remainder-sized shape (not a multiple of any tile).
// Entry: @loop_matmul_f64(A f64[37,29], B f64[29,45], C f64[37,45]); C is written (C = A x B).
func.func @loop_matmul_f64(%A: memref<37x29xf64>, %B: memref<29x45xf64>, %C: memref<37x45xf64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = arith.constant 37 : index
  %n = arith.constant 45 : index
  %k = arith.constant 29 : index
  %zero = arith.constant 0.0 : f64
  scf.for %i = %c0 to %m step %c1 {
    scf.for %j = %c0 to %n step %c1 {
      %sum = scf.for %p = %c0 to %k step %c1 iter_args(%acc = %zero) -> (f64) {
        %x = memref.load %A[%i, %p] : memref<37x29xf64>
        %y = memref.load %B[%p, %j] : memref<29x45xf64>
        %xy = arith.mulf %x, %y : f64
        %acc2 = arith.addf %acc, %xy : f64
        scf.yield %acc2 : f64
      }
      memref.store %sum, %C[%i, %j] : memref<37x45xf64>
    }
  }
  return
}
