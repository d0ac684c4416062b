// A matmul chain in its expensive order: (A x B) x v with A, B 256x256 and v 256x2.
// Written order: 256*256*256 + 256*256*2 multiplies; A x (B x v): 2 * 256*256*2.
// Entry: @chain. Inputs: A f32[256,256], B f32[256,256], v f32[256,2]. Output: f32[256,2].
func.func @chain(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>, %v: tensor<256x2xf32>) -> tensor<256x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<256x256xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<256x256xf32>) -> tensor<256x256xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<256x256xf32>, tensor<256x256xf32>) outs(%f1 : tensor<256x256xf32>) -> tensor<256x256xf32>
  %e2 = tensor.empty() : tensor<256x2xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<256x2xf32>) -> tensor<256x2xf32>
  %abv = linalg.matmul ins(%ab, %v : tensor<256x256xf32>, tensor<256x2xf32>) outs(%f2 : tensor<256x2xf32>) -> tensor<256x2xf32>
  return %abv : tensor<256x2xf32>
}
