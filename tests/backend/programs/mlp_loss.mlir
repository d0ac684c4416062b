// Squared-error loss of the two-layer perceptron of mlp.mlir:
// sum((relu(x W1 + b1) W2 + b2 - y)^2), a rank-0 result. Entry: @mlp_loss.
// Inputs: x f32[16,64], W1 f32[64,128], b1 f32[128], W2 f32[128,10], b2 f32[10], y f32[16,10].
#map_bias = affine_map<(i, j) -> (j)>
#map_id = affine_map<(i, j) -> (i, j)>
func.func @mlp_loss(%x: tensor<16x64xf32>, %w1: tensor<64x128xf32>, %b1: tensor<128xf32>,
                    %w2: tensor<128x10xf32>, %b2: tensor<10xf32>,
                    %y: tensor<16x10xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<16x128xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<16x128xf32>) -> tensor<16x128xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x64xf32>, tensor<64x128xf32>)
                     outs(%f1 : tensor<16x128xf32>) -> tensor<16x128xf32>
  %hb = linalg.generic {indexing_maps = [#map_id, #map_bias, #map_id],
                        iterator_types = ["parallel", "parallel"]}
      ins(%h, %b1 : tensor<16x128xf32>, tensor<128xf32>) outs(%e1 : tensor<16x128xf32>) {
    ^bb0(%v: f32, %bias: f32, %out: f32):
      %s = arith.addf %v, %bias : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
  } -> tensor<16x128xf32>
  %e2 = tensor.empty() : tensor<16x10xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<16x10xf32>) -> tensor<16x10xf32>
  %o = linalg.matmul ins(%hb, %w2 : tensor<16x128xf32>, tensor<128x10xf32>)
                     outs(%f2 : tensor<16x10xf32>) -> tensor<16x10xf32>
  // (o + b2 - y)^2, elementwise
  %sq = linalg.generic {indexing_maps = [#map_id, #map_bias, #map_id, #map_id],
                        iterator_types = ["parallel", "parallel"]}
      ins(%o, %b2, %y : tensor<16x10xf32>, tensor<10xf32>, tensor<16x10xf32>)
      outs(%e2 : tensor<16x10xf32>) {
    ^bb0(%v: f32, %bias: f32, %t: f32, %out: f32):
      %p = arith.addf %v, %bias : f32
      %d = arith.subf %p, %t : f32
      %d2 = arith.mulf %d, %d : f32
      linalg.yield %d2 : f32
  } -> tensor<16x10xf32>
  %e0 = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.reduce ins(%sq : tensor<16x10xf32>) outs(%acc : tensor<f32>) dimensions = [0, 1]
    (%in: f32, %a: f32) {
      %s = arith.addf %in, %a : f32
      linalg.yield %s : f32
    }
  return %loss : tensor<f32>
}
