// Layer norm over rows: y = (x - mean) * rsqrt(var + 1e-5) * gamma + beta.
// Entry: @layernorm. Inputs: x f32[64,256], gamma f32[256], beta f32[256]. Output: f32[64,256].
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>
#vec = affine_map<(i) -> (i)>
func.func @layernorm(%x: tensor<64x256xf32>, %gamma: tensor<256xf32>,
                     %beta: tensor<256xf32>) -> tensor<64x256xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %er = tensor.empty() : tensor<64xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%er : tensor<64xf32>) -> tensor<64xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<64x256xf32>) outs(%s0 : tensor<64xf32>) {
    ^bb0(%v: f32, %acc: f32):
      %r = arith.addf %v, %acc : f32
      linalg.yield %r : f32
  } -> tensor<64xf32>
  %mean = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%sum : tensor<64xf32>) outs(%er : tensor<64xf32>) {
    ^bb0(%v: f32, %out: f32):
      %r = arith.divf %v, %n : f32
      linalg.yield %r : f32
  } -> tensor<64xf32>
  %q0 = linalg.fill ins(%zero : f32) outs(%er : tensor<64xf32>) -> tensor<64xf32>
  %sq = linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : tensor<64x256xf32>, tensor<64xf32>) outs(%q0 : tensor<64xf32>) {
    ^bb0(%v: f32, %mu: f32, %acc: f32):
      %d = arith.subf %v, %mu : f32
      %d2 = arith.mulf %d, %d : f32
      %r = arith.addf %d2, %acc : f32
      linalg.yield %r : f32
  } -> tensor<64xf32>
  %inv = linalg.generic {indexing_maps = [#vec, #vec], iterator_types = ["parallel"]}
      ins(%sq : tensor<64xf32>) outs(%er : tensor<64xf32>) {
    ^bb0(%v: f32, %out: f32):
      %var = arith.divf %v, %n : f32
      %ve = arith.addf %var, %eps : f32
      %r = math.rsqrt %ve : f32
      linalg.yield %r : f32
  } -> tensor<64xf32>
  %e = tensor.empty() : tensor<64x256xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #row, #col, #col, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean, %inv, %gamma, %beta : tensor<64x256xf32>, tensor<64xf32>, tensor<64xf32>,
          tensor<256xf32>, tensor<256xf32>) outs(%e : tensor<64x256xf32>) {
    ^bb0(%v: f32, %mu: f32, %is: f32, %g: f32, %b: f32, %out: f32):
      %d = arith.subf %v, %mu : f32
      %nrm = arith.mulf %d, %is : f32
      %sc = arith.mulf %nrm, %g : f32
      %r = arith.addf %sc, %b : f32
      linalg.yield %r : f32
  } -> tensor<64x256xf32>
  return %y : tensor<64x256xf32>
}
