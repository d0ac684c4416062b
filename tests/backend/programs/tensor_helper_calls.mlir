// A tensor entry calling a private i32 tensor matmul twice: (A x B) x B. On
// offload-host the helper's parallel loops were translated for the device outside
// the target region (poison indices): garbage results at every -O level.
// Entry: @t2(A i32[3,4], B i32[4,4]) -> i32[3,4].
func.func private @mmt(%a: tensor<3x4xi32>, %b: tensor<4x4xi32>) -> tensor<3x4xi32> {
  %z = arith.constant 0 : i32
  %e = tensor.empty() : tensor<3x4xi32>
  %f = linalg.fill ins(%z : i32) outs(%e : tensor<3x4xi32>) -> tensor<3x4xi32>
  %m = linalg.matmul ins(%a, %b : tensor<3x4xi32>, tensor<4x4xi32>) outs(%f : tensor<3x4xi32>) -> tensor<3x4xi32>
  return %m : tensor<3x4xi32>
}
func.func @t2(%a: tensor<3x4xi32>, %b: tensor<4x4xi32>) -> tensor<3x4xi32> {
  %x = func.call @mmt(%a, %b) : (tensor<3x4xi32>, tensor<4x4xi32>) -> tensor<3x4xi32>
  %y = func.call @mmt(%x, %b) : (tensor<3x4xi32>, tensor<4x4xi32>) -> tensor<3x4xi32>
  return %y : tensor<3x4xi32>
}
