//===- FpContract.cpp - allow a*b+c to become one fused multiply-add -------===//
//
// mlirboot-fp-contract: adds the `contract` fast-math flag to every floating
// point arith op (mulf, addf, subf, ...). MLIR emits them without flags, and
// clang ignores -ffp-contract=fast for LLVM IR input (it is a language
// option), so the matmul kernel's mulf+addf pairs reached the x86 backend
// unfused: half the FMA units' throughput. With the flag on both ops the
// backend fuses them, which is what -ffp-contract=fast (the CUDA/HIP default)
// allows: each fused a*b+c is rounded once instead of twice.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_fp_contract {

struct FpContractPass : public PassWrapper<FpContractPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FpContractPass)

  StringRef getArgument() const final { return "mlirboot-fp-contract"; }
  StringRef getDescription() const final {
    return "Add the `contract` fast-math flag to floating point arith ops, so "
           "that a*b+c may become one fused multiply-add";
  }

  void runOnOperation() override {
    getOperation()->walk([](arith::ArithFastMathInterface op) {
      arith::FastMathFlags flags = op.getFastMathFlagsAttr()
                                       ? op.getFastMathFlagsAttr().getValue()
                                       : arith::FastMathFlags::none;
      op->setAttr(op.getFastMathAttrName(),
                  arith::FastMathFlagsAttr::get(
                      op->getContext(), flags | arith::FastMathFlags::contract));
    });
  }
};

} // namespace mlirboot_fp_contract

void mlirboot::registerFpContractPass() {
  PassRegistration<mlirboot_fp_contract::FpContractPass>();
}
