//===- DeviceTemporaries.cpp - no heap in device code ---------------------===//
//
// mlirboot-device-temporaries{memory-space=N target=NAME}: no heap in GPU
// device code (the DeviceRTL's allocator is for its own state). After
// promote-buffers-to-stack has moved the small
// temporaries to the stack, this pass places every remaining memref.alloc
// with a static shape that sits directly in a function body (runs once per
// call) in a private, uninitialized memref.global in device global memory
// (address space `memory-space`), accessed through memref.get_global +
// memref.memory_space_cast back to the alloc's own type. Only allocs outside
// every loop qualify, so the buffer stands for one allocation: the parallel
// kernels that use it (one per loop nest, run one after the other) share it,
// each thread writing its own part. It is zero cost at run time and takes no space in the
// image (uninitialized). Any other alloc (dynamic shape, or inside a loop
// where iterations could overlap lifetimes) is an error naming its size.
// Run it before the deallocation pipeline: get_global owns nothing, so no
// free is inserted for it.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace mlirboot_temporaries {

struct DeviceTemporariesPass
    : public PassWrapper<DeviceTemporariesPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DeviceTemporariesPass)

  DeviceTemporariesPass() = default;
  DeviceTemporariesPass(const DeviceTemporariesPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "mlirboot-device-temporaries"; }
  StringRef getDescription() const final {
    return "Place heap temporaries (memref.alloc) of device code in module-level "
           "buffers in device global memory; reject those that cannot be";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<memref::MemRefDialect>();
  }

  Option<unsigned> memorySpace{
      *this, "memory-space",
      llvm::cl::desc("address space of device global memory (NVPTX/AMDGPU/SPIR-V: 1)"),
      llvm::cl::init(1)};
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("device target name (for messages)"),
                             llvm::cl::init("GPU")};

  static uint64_t staticBytes(MemRefType type) {
    unsigned bits = type.getElementTypeBitWidth();
    return type.getNumElements() * ((bits + 7) / 8);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    MLIRContext *ctx = &getContext();
    Attribute space = IntegerAttr::get(IntegerType::get(ctx, 64), memorySpace);
    bool bad = false;
    unsigned counter = 0;
    SmallVector<memref::AllocOp> allocs;
    module.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    for (memref::AllocOp alloc : allocs) {
      MemRefType type = alloc.getType();
      auto func = dyn_cast<func::FuncOp>(alloc->getParentOp());
      if (!type.hasStaticShape() || !func || type.getMemorySpace() ||
          !type.getLayout().isIdentity()) {
        std::string what;
        llvm::raw_string_ostream os(what);
        os << "mlirboot: temporary " << type;
        if (type.hasStaticShape())
          os << " (" << staticBytes(type) << " bytes)";
        else
          os << " (dynamic size)";
        os << " would need a heap on the " << target.getValue()
           << " device, which has no malloc";
        alloc.emitError() << what
                          << "; hint: give it a static shape outside loops (it then "
                             "lives in device global memory), or pass it as an argument";
        bad = true;
        continue;
      }
      OpBuilder top(module.getBodyRegion());
      top.setInsertionPoint(func);
      auto globalType = MemRefType::get(type.getShape(), type.getElementType(),
                                        MemRefLayoutAttrInterface{}, space);
      std::string name = ("__mlirboot_tmp_" + func.getSymName() + "_" +
                          Twine(counter++)).str();
      auto global = memref::GlobalOp::create(
          top, alloc.getLoc(), name, top.getStringAttr("private"), globalType,
          /*initial_value=*/UnitAttr::get(ctx), /*constant=*/false,
          alloc.getAlignmentAttr() ? alloc.getAlignmentAttr()
                                   : top.getI64IntegerAttr(64));
      symbols.insert(global);
      OpBuilder b(alloc);
      Value buffer =
          memref::GetGlobalOp::create(b, alloc.getLoc(), globalType, global.getSymName());
      Value cast = memref::MemorySpaceCastOp::create(b, alloc.getLoc(), type, buffer);
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      alloc.replaceAllUsesWith(cast);
      alloc.erase();
    }
    if (bad)
      signalPassFailure();
  }
};

} // namespace mlirboot_temporaries

void mlirboot::registerDeviceTemporariesPass() {
  PassRegistration<mlirboot_temporaries::DeviceTemporariesPass>();
}
