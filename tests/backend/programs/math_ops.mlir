// The elementwise math/arith ops of the input set in one linalg.generic over
// x and a transposed y, then a per-column max (linalg.reduce) and a linalg
// .transpose. Inputs are made safe for log/sqrt/powf inside the program.
// Entry: @math_ops(x f32[6,5], y f32[5,6]) -> (f32[6,5], f32[5], f32[5,6]).
#id = affine_map<(i, j) -> (i, j)>
#tr = affine_map<(i, j) -> (j, i)>
func.func @math_ops(%x: tensor<6x5xf32>, %y: tensor<5x6xf32>) -> (tensor<6x5xf32>, tensor<5xf32>, tensor<5x6xf32>) {
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %ninf = arith.constant -1.0e30 : f32
  %e = tensor.empty() : tensor<6x5xf32>
  %r = linalg.generic {indexing_maps = [#id, #tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<6x5xf32>, tensor<5x6xf32>) outs(%e : tensor<6x5xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %ab = math.absf %a : f32
      %pos = arith.addf %ab, %one : f32
      %l = math.log %pos : f32
      %s = math.sqrt %pos : f32
      %rs = math.rsqrt %pos : f32
      %ex = math.exp %b : f32
      %th = math.tanh %a : f32
      %sn = math.sin %a : f32
      %cs = math.cos %b : f32
      %pw = math.powf %pos, %b : f32
      %at = math.atan2 %a, %b : f32
      %fl = math.floor %b : f32
      %cp = math.copysign %half, %a : f32
      %l2 = math.log2 %pos : f32
      %em = math.expm1 %b : f32
      %gt = arith.cmpf ogt, %a, %b : f32
      %sel = arith.select %gt, %th, %sn : f32
      %t0 = arith.addf %l, %s : f32
      %t1 = arith.mulf %t0, %rs : f32
      %t2 = arith.addf %t1, %ex : f32
      %t3 = arith.subf %t2, %cs : f32
      %t4 = arith.addf %t3, %pw : f32
      %t5 = arith.addf %t4, %at : f32
      %t6 = arith.addf %t5, %fl : f32
      %t7 = arith.addf %t6, %cp : f32
      %t8 = arith.addf %t7, %l2 : f32
      %t9 = arith.addf %t8, %em : f32
      %t10 = arith.addf %t9, %sel : f32
      %t11 = arith.negf %t10 : f32
      linalg.yield %t11 : f32
  } -> tensor<6x5xf32>
  %e1 = tensor.empty() : tensor<5xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<5xf32>) -> tensor<5xf32>
  %m = linalg.reduce ins(%r : tensor<6x5xf32>) outs(%m0 : tensor<5xf32>) dimensions = [0]
    (%in: f32, %acc: f32) {
      %mx = arith.maximumf %in, %acc : f32
      linalg.yield %mx : f32
    }
  %et = tensor.empty() : tensor<5x6xf32>
  %t = linalg.transpose ins(%r : tensor<6x5xf32>) outs(%et : tensor<5x6xf32>) permutation = [1, 0]
  return %r, %m, %t : tensor<6x5xf32>, tensor<5xf32>, tensor<5x6xf32>
}
