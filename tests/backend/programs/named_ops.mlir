// Named linalg ops beyond matmul (issue 12 item 5): elementwise linalg.add /
// linalg.exp, matvec, vecmat, dot, max pooling, depthwise conv and a matmul
// with a transposed A (indexing_maps). Entry: @named_ops.
func.func @named_ops(%a: tensor<4x6xf32>, %b: tensor<4x6xf32>, %x: tensor<6xf32>, %y: tensor<4xf32>, %img: tensor<1x8x8x3xf32>, %w: tensor<2x2xf32>, %dwf: tensor<3x3x3xf32>, %at: tensor<6x4xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>, tensor<4xf32>, tensor<6xf32>, tensor<f32>, tensor<1x4x4x3xf32>, tensor<1x6x6x3xf32>, tensor<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x6xf32>
  %s = linalg.add ins(%a, %b : tensor<4x6xf32>, tensor<4x6xf32>) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %r = linalg.exp ins(%s : tensor<4x6xf32>) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %e40 = tensor.empty() : tensor<4xf32>
  %e4 = linalg.fill ins(%zero : f32) outs(%e40 : tensor<4xf32>) -> tensor<4xf32>
  %mv = linalg.matvec ins(%a, %x : tensor<4x6xf32>, tensor<6xf32>) outs(%e4 : tensor<4xf32>) -> tensor<4xf32>
  %e60 = tensor.empty() : tensor<6xf32>
  %e6 = linalg.fill ins(%zero : f32) outs(%e60 : tensor<6xf32>) -> tensor<6xf32>
  %vm = linalg.vecmat ins(%y, %a : tensor<4xf32>, tensor<4x6xf32>) outs(%e6 : tensor<6xf32>) -> tensor<6xf32>
  %e00 = tensor.empty() : tensor<f32>
  %e0 = linalg.fill ins(%zero : f32) outs(%e00 : tensor<f32>) -> tensor<f32>
  %d = linalg.dot ins(%x, %x : tensor<6xf32>, tensor<6xf32>) outs(%e0 : tensor<f32>) -> tensor<f32>
  %ninf = arith.constant -1.0e30 : f32
  %ep0 = tensor.empty() : tensor<1x4x4x3xf32>
  %ep = linalg.fill ins(%ninf : f32) outs(%ep0 : tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
  %p = linalg.pooling_nhwc_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%img, %w : tensor<1x8x8x3xf32>, tensor<2x2xf32>) outs(%ep : tensor<1x4x4x3xf32>) -> tensor<1x4x4x3xf32>
  %edw0 = tensor.empty() : tensor<1x6x6x3xf32>
  %edw = linalg.fill ins(%zero : f32) outs(%edw0 : tensor<1x6x6x3xf32>) -> tensor<1x6x6x3xf32>
  %dw = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%img, %dwf : tensor<1x8x8x3xf32>, tensor<3x3x3xf32>) outs(%edw : tensor<1x6x6x3xf32>) -> tensor<1x6x6x3xf32>
  %e440 = tensor.empty() : tensor<4x4xf32>
  %e44 = linalg.fill ins(%zero : f32) outs(%e440 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %mt = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%at, %at : tensor<6x4xf32>, tensor<6x4xf32>) outs(%e44 : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %s, %r, %mv, %vm, %d, %p, %dw, %mt : tensor<4x6xf32>, tensor<4x6xf32>, tensor<4xf32>, tensor<6xf32>, tensor<f32>, tensor<1x4x4x3xf32>, tensor<1x6x6x3xf32>, tensor<4x4xf32>
}
