//===- SpecializeGenericOps.cpp - upstream naming, checked -----------------===//
//
// mlirboot-specialize-generic-ops: upstream's linalg::specializeGenericOp
// (what linalg-specialize-generic-ops runs) names a linalg.generic that is a
// matmul / batch matmul / conv / elementwise op / copy / fill. In LLVM 22 it
// names C += A^T*B or C += A*B^T a plain linalg.matmul, dropping the
// transpose: a silent wrong answer for the user's generic. This pass runs the
// same specialization on a clone of each generic and keeps the named op only
// when it computes exactly what the generic did (same operands in the same
// order, same indexing maps, same iterator types); otherwise the generic
// stays as written.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_specialize {

static bool sameComputation(linalg::GenericOp generic, linalg::LinalgOp named) {
  if (isa<linalg::GenericOp>(named.getOperation()))
    return false;
  if (named->getOperands() != generic->getOperands() ||
      named->getResultTypes() != generic->getResultTypes())
    return false;
  return named.getIndexingMapsArray() == generic.getIndexingMapsArray() &&
         named.getIteratorTypesArray() == generic.getIteratorTypesArray();
}

struct SpecializeGenericOpsPass
    : public PassWrapper<SpecializeGenericOpsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SpecializeGenericOpsPass)

  StringRef getArgument() const final {
    return "mlirboot-specialize-generic-ops";
  }
  StringRef getDescription() const final {
    return "Name linalg.generic ops as upstream does, keeping a named op only "
           "when its indexing maps, iterators and operands equal the generic's";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect>();
  }

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation()->walk([&](linalg::GenericOp g) { generics.push_back(g); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp generic : generics) {
      rewriter.setInsertionPoint(generic);
      auto clone = cast<linalg::GenericOp>(rewriter.clone(*generic));
      FailureOr<linalg::LinalgOp> named =
          linalg::specializeGenericOp(rewriter, clone);
      if (failed(named)) {
        rewriter.eraseOp(clone);
        continue;
      }
      if (!sameComputation(generic, *named)) {
        if (named->getOperation() != generic.getOperation())
          rewriter.eraseOp(*named);
        continue;
      }
      rewriter.replaceOp(generic, named->getOperation()->getResults());
    }
  }
};

} // namespace mlirboot_specialize

void mlirboot::registerSpecializeGenericOpsPass() {
  PassRegistration<mlirboot_specialize::SpecializeGenericOpsPass>();
}
