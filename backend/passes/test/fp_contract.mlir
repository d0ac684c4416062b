// RUN: mlir-opt %s --pass-pipeline='builtin.module(mlirboot-fp-contract)' -o %t
// Every float arith op gets `contract` (kept with the flags it had); integer
// ops have no fast-math flags and are left alone; vectors too.

// CHECK-LABEL: func.func @f
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<nnan,contract> : f32
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : vector<8xf64>
// CHECK: arith.subf %{{.*}}, %{{.*}} fastmath<contract> : vector<8xf64>
func.func @f(%a: f32, %b: f32, %c: f32, %i: i32, %v: vector<8xf64>) -> (f32, i32, vector<8xf64>) {
  %m = arith.mulf %a, %b : f32
  %s = arith.addf %m, %c fastmath<nnan> : f32
  %k = arith.muli %i, %i : i32
  %vm = arith.mulf %v, %v : vector<8xf64>
  %vs = arith.subf %vm, %v : vector<8xf64>
  return %s, %k, %vs : f32, i32, vector<8xf64>
}
