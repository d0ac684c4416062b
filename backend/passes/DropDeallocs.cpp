//===- DropDeallocs.cpp - let the deallocation pipeline free buffers -------===//
//
// mlirboot-drop-deallocs: erases every memref.dealloc the program wrote.
// Upstream's buffer-deallocation-pipeline (ownership-based deallocation)
// refuses any op that frees memory ("memory free side-effect on MemRef value
// not supported!"), so a program that frees its own memref.alloc could not be
// compiled at all. Dropping a dealloc never changes a result (any use after
// it was undefined); the pipeline that runs next frees each buffer after its
// last use instead. A buffer it does not own (a function argument freed by
// the callee) is then not freed at all: a leak, never a double free.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_drop_deallocs {

struct DropDeallocsPass
    : public PassWrapper<DropDeallocsPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DropDeallocsPass)

  StringRef getArgument() const final { return "mlirboot-drop-deallocs"; }
  StringRef getDescription() const final {
    return "Erase memref.dealloc ops, so that buffer-deallocation-pipeline "
           "(which refuses them) frees the buffers itself";
  }

  void runOnOperation() override {
    SmallVector<memref::DeallocOp> deallocs;
    getOperation()->walk([&](memref::DeallocOp op) { deallocs.push_back(op); });
    for (memref::DeallocOp op : deallocs)
      op.erase();
  }
};

} // namespace mlirboot_drop_deallocs

void mlirboot::registerDropDeallocsPass() {
  PassRegistration<mlirboot_drop_deallocs::DropDeallocsPass>();
}
