// RUN: mlir-opt %s --pass-pipeline='builtin.module(mlirboot-math-approximation{libm=true check-target=nvidia})' -o %t
// With libm (nvidia, amd: GPU libc's libm.bc is linked): f32/f64 math whose
// function that libm defines becomes a call (expf, exp, tanhf, powf); what it
// lacks (f32 erfc, f16 exp) is approximated; rsqrt stays native.

// CHECK-DAG: func.func private @expf(f32) -> f32
// CHECK-DAG: func.func private @exp(f64) -> f64
// CHECK-DAG: func.func private @tanhf(f32) -> f32
// CHECK-DAG: func.func private @powf(f32, f32) -> f32
// CHECK-LABEL: func.func @f
// CHECK: call @expf(
// CHECK: call @exp(
// CHECK: call @tanhf(
// CHECK: call @powf(
// CHECK-NOT: math.erfc
// CHECK-NOT: math.exp
// CHECK: math.rsqrt
// CHECK-NOT: call @erfcf
// CHECK: return
func.func @f(%x: f32, %d: f64, %h: f16) -> (f32, f64, f32, f32, f32, f16, f32) {
  %e = math.exp %x : f32
  %ed = math.exp %d : f64
  %t = math.tanh %x : f32
  %p = math.powf %x, %x : f32
  %c = math.erfc %x : f32
  %eh = math.exp %h : f16
  %r = math.rsqrt %x : f32
  return %e, %ed, %t, %p, %c, %eh, %r : f32, f64, f32, f32, f32, f16, f32
}
