// Layer normalization of each row: (x - mean) * rsqrt(var + eps) * g, with
// linalg.reduce (sum), a generic sum-of-squares reduction, linalg.broadcast
// and math.rsqrt. Entry: @layer_norm(x f32[8,16], g f32[16]) -> f32[8,16].
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>
func.func @layer_norm(%x: tensor<8x16xf32>, %g: tensor<16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 16.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %sum = linalg.reduce ins(%x : tensor<8x16xf32>) outs(%z1 : tensor<8xf32>) dimensions = [1]
    (%in: f32, %a: f32) {
      %s = arith.addf %in, %a : f32
      linalg.yield %s : f32
    }
  %e2 = tensor.empty() : tensor<8x16xf32>
  %sumb = linalg.broadcast ins(%sum : tensor<8xf32>) outs(%e2 : tensor<8x16xf32>) dimensions = [1]
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sumb : tensor<8x16xf32>, tensor<8x16xf32>) outs(%e2 : tensor<8x16xf32>) {
    ^bb0(%v: f32, %s: f32, %o: f32):
      %m = arith.divf %s, %n : f32
      %r = arith.subf %v, %m : f32
      linalg.yield %r : f32
  } -> tensor<8x16xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%d : tensor<8x16xf32>) outs(%z1 : tensor<8xf32>) {
    ^bb0(%v: f32, %a: f32):
      %q = arith.mulf %v, %v : f32
      %s = arith.addf %a, %q : f32
      linalg.yield %s : f32
  } -> tensor<8xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d, %ss, %g : tensor<8x16xf32>, tensor<8xf32>, tensor<16xf32>) outs(%e2 : tensor<8x16xf32>) {
    ^bb0(%v: f32, %q: f32, %w: f32, %o: f32):
      %var = arith.divf %q, %n : f32
      %ve = arith.addf %var, %eps : f32
      %inv = math.rsqrt %ve : f32
      %t = arith.mulf %v, %inv : f32
      %r = arith.mulf %t, %w : f32
      linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}
