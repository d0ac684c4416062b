// One dense layer with bias and relu: relu(x W + b). Entry: @mlp_relu.
// Inputs: x f32[64,128], W f32[128,256], b f32[256]. Output: f32[64,256].
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
func.func @mlp_relu(%x: tensor<64x128xf32>, %w: tensor<128x256xf32>,
                    %b: tensor<256xf32>) -> tensor<64x256xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x256xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %h = linalg.matmul ins(%x, %w : tensor<64x128xf32>, tensor<128x256xf32>)
                     outs(%f : tensor<64x256xf32>) -> tensor<64x256xf32>
  %bb = linalg.broadcast ins(%b : tensor<256xf32>) outs(%e : tensor<64x256xf32>) dimensions = [0]
  %hb = linalg.add ins(%h, %bb : tensor<64x256xf32>, tensor<64x256xf32>)
                   outs(%e : tensor<64x256xf32>) -> tensor<64x256xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%hb : tensor<64x256xf32>) outs(%e : tensor<64x256xf32>) {
    ^bb0(%v: f32, %out: f32):
      %m = arith.maximumf %v, %zero : f32
      linalg.yield %m : f32
  } -> tensor<64x256xf32>
  return %r : tensor<64x256xf32>
}
