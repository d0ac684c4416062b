// A batch matmul written as linalg.generic (what a front end emits for einsum "bij,bjk->bik").
// Entry: @batch_generic. Inputs: A f32[4,24,32], B f32[4,32,20]. Output: f32[4,24,20].
#a = affine_map<(b, i, j, k) -> (b, i, k)>
#b = affine_map<(b, i, j, k) -> (b, k, j)>
#c = affine_map<(b, i, j, k) -> (b, i, j)>
func.func @batch_generic(%A: tensor<4x24x32xf32>, %B: tensor<4x32x20xf32>) -> tensor<4x24x20xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x24x20xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x24x20xf32>) -> tensor<4x24x20xf32>
  %r = linalg.generic {indexing_maps = [#a, #b, #c],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%A, %B : tensor<4x24x32xf32>, tensor<4x32x20xf32>) outs(%f : tensor<4x24x20xf32>) {
    ^bb0(%x: f32, %y: f32, %acc: f32):
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
  } -> tensor<4x24x20xf32>
  return %r : tensor<4x24x20xf32>
}
