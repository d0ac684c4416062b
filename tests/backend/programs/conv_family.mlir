// Convolutions and pooling of other ranks/layouts (issue 12 item 5): conv_1d_nwc_wcf,
// conv_2d, conv_3d_ndhwc_dhwcf, strided pooling_nchw_sum, batch_matvec, a matmul with
// a transposed B, a strided depthwise conv. Entry: @conv_family.
func.func @conv_family(%x1: tensor<2x9x3xf32>, %f1: tensor<3x3x4xf32>, %x2: tensor<7x7xf32>, %f2: tensor<3x2xf32>, %x3: tensor<1x5x5x5x2xf32>, %f3: tensor<2x2x2x2x3xf32>, %img: tensor<1x3x8x8xf32>, %w: tensor<3x3xf32>, %bm: tensor<2x3x4xf32>, %bv: tensor<2x4xf32>, %a: tensor<3x5xf32>, %b: tensor<4x5xf32>, %dimg: tensor<1x9x9x2xf32>, %dwf: tensor<3x3x2xf32>) -> (tensor<2x7x4xf32>, tensor<5x6xf32>, tensor<1x4x4x4x3xf32>, tensor<1x3x3x3xf32>, tensor<2x3xf32>, tensor<3x4xf32>, tensor<1x4x4x2xf32>) {
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x7x4xf32>
  %i1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<2x7x4xf32>) -> tensor<2x7x4xf32>
  %c1 = linalg.conv_1d_nwc_wcf {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>} ins(%x1, %f1 : tensor<2x9x3xf32>, tensor<3x3x4xf32>) outs(%i1 : tensor<2x7x4xf32>) -> tensor<2x7x4xf32>
  %e2 = tensor.empty() : tensor<5x6xf32>
  %i2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<5x6xf32>) -> tensor<5x6xf32>
  %c2 = linalg.conv_2d ins(%x2, %f2 : tensor<7x7xf32>, tensor<3x2xf32>) outs(%i2 : tensor<5x6xf32>) -> tensor<5x6xf32>
  %e3 = tensor.empty() : tensor<1x4x4x4x3xf32>
  %i3 = linalg.fill ins(%z : f32) outs(%e3 : tensor<1x4x4x4x3xf32>) -> tensor<1x4x4x4x3xf32>
  %c3 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%x3, %f3 : tensor<1x5x5x5x2xf32>, tensor<2x2x2x2x3xf32>) outs(%i3 : tensor<1x4x4x4x3xf32>) -> tensor<1x4x4x4x3xf32>
  %e4 = tensor.empty() : tensor<1x3x3x3xf32>
  %i4 = linalg.fill ins(%z : f32) outs(%e4 : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %p = linalg.pooling_nchw_sum {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%img, %w : tensor<1x3x8x8xf32>, tensor<3x3xf32>) outs(%i4 : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %e5 = tensor.empty() : tensor<2x3xf32>
  %i5 = linalg.fill ins(%z : f32) outs(%e5 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %v = linalg.batch_matvec ins(%bm, %bv : tensor<2x3x4xf32>, tensor<2x4xf32>) outs(%i5 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %e6 = tensor.empty() : tensor<3x4xf32>
  %i6 = linalg.fill ins(%z : f32) outs(%e6 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %mt = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%a, %b : tensor<3x5xf32>, tensor<4x5xf32>) outs(%i6 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %e7 = tensor.empty() : tensor<1x4x4x2xf32>
  %i7 = linalg.fill ins(%z : f32) outs(%e7 : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  %dw = linalg.depthwise_conv_2d_nhwc_hwc {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%dimg, %dwf : tensor<1x9x9x2xf32>, tensor<3x3x2xf32>) outs(%i7 : tensor<1x4x4x2xf32>) -> tensor<1x4x4x2xf32>
  return %c1, %c2, %c3, %p, %v, %mt, %dw : tensor<2x7x4xf32>, tensor<5x6xf32>, tensor<1x4x4x4x3xf32>, tensor<1x3x3x3xf32>, tensor<2x3xf32>, tensor<3x4xf32>, tensor<1x4x4x2xf32>
}
