// A 2-D NHWC/HWCF convolution as an affine loop nest with a fresh accumulator (iter_args).
// Entry: @conv2d(I f32[2,10,10,3], F f32[3,3,3,4], O f32[2,8,8,4]); O is written.
func.func @conv2d(%I: memref<2x10x10x3xf32>, %F: memref<3x3x3x4xf32>, %O: memref<2x8x8x4xf32>) {
  %zero = arith.constant 0.0 : f32
  affine.for %n = 0 to 2 {
    affine.for %h = 0 to 8 {
      affine.for %w = 0 to 8 {
        affine.for %f = 0 to 4 {
          %s = affine.for %kh = 0 to 3 iter_args(%a0 = %zero) -> (f32) {
            %s1 = affine.for %kw = 0 to 3 iter_args(%a1 = %a0) -> (f32) {
              %s2 = affine.for %c = 0 to 3 iter_args(%a2 = %a1) -> (f32) {
                %x = affine.load %I[%n, %h + %kh, %w + %kw, %c] : memref<2x10x10x3xf32>
                %k = affine.load %F[%kh, %kw, %c, %f] : memref<3x3x3x4xf32>
                %m = arith.mulf %x, %k : f32
                %a3 = arith.addf %a2, %m : f32
                affine.yield %a3 : f32
              }
              affine.yield %s2 : f32
            }
            affine.yield %s1 : f32
          }
          affine.store %s, %O[%n, %h, %w, %f] : memref<2x8x8x4xf32>
        }
      }
    }
  }
  return
}
