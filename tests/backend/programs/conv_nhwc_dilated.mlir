// A dilated NHWC/HWCF convolution on tensors accumulating into its third
// argument (linalg convs add into their init). Entry: @conv_nhwc_dilated(
// X f32[1,9,9,2], F f32[2,2,2,3], A f32[1,7,7,3]) -> A + conv(X, F, dilation 2).
func.func @conv_nhwc_dilated(%x: tensor<1x9x9x2xf32>, %f: tensor<2x2x2x3xf32>, %acc: tensor<1x7x7x3xf32>) -> tensor<1x7x7x3xf32> {
  %r = linalg.conv_2d_nhwc_hwcf {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %f : tensor<1x9x9x2xf32>, tensor<2x2x2x3xf32>) outs(%acc : tensor<1x7x7x3xf32>) -> tensor<1x7x7x3xf32>
  return %r : tensor<1x7x7x3xf32>
}
