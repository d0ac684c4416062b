// RUN: mlir-opt %s --pass-pipeline='builtin.module(func.func(mlirboot-math-approximation{check-target=nvidia}))' -o %t
// f32 exp / tanh / sin become polynomials (no libm call left); rsqrt and fma
// are native on every GPU and stay.

// CHECK-LABEL: func.func @f
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.sin
// CHECK: math.rsqrt
// CHECK: return
func.func @f(%x: f32) -> (f32, f32, f32, f32) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %s = math.sin %x : f32
  %r = math.rsqrt %x : f32
  return %e, %t, %s, %r : f32, f32, f32, f32
}
