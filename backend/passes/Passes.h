//===- Passes.h - mlirboot recognition / sequence passes --------*- C++ -*-===//
//
// Registration entry points of the passes shipped in MlirbootPasses.so.
//
//===----------------------------------------------------------------------===//

#ifndef MLIRBOOT_PASSES_PASSES_H
#define MLIRBOOT_PASSES_PASSES_H

namespace mlirboot {

/// mlirboot-raise-loops-to-linalg
void registerRaiseLoopsToLinalgPass();
/// mlirboot-reassociate-matmul-chains
void registerReassociateMatmulChainsPass();
/// mlirboot-fuse-elementwise-into-matmul
void registerFuseElementwiseIntoMatmulPass();
void registerSpecializeGenericOpsPass();
/// mlirboot-math-approximation
void registerMathApproximationPass();
/// mlirboot-device-temporaries
void registerDeviceTemporariesPass();
/// mlirboot-offload-nests
void registerOffloadNestsPass();
/// mlirboot-drop-deallocs
void registerDropDeallocsPass();
/// mlirboot-fp-contract
void registerFpContractPass();
/// mlirboot-serialize-small-parallel
void registerSerializeSmallParallelPass();
/// mlirboot-serialize-unsupported-reductions
void registerSerializeUnsupportedReductionsPass();
/// mlirboot-gpu-matmul
void registerGpuMatmulPass();

inline void registerAllPasses() {
  registerRaiseLoopsToLinalgPass();
  registerReassociateMatmulChainsPass();
  registerFuseElementwiseIntoMatmulPass();
  registerSpecializeGenericOpsPass();
  registerMathApproximationPass();
  registerDeviceTemporariesPass();
  registerOffloadNestsPass();
  registerDropDeallocsPass();
  registerFpContractPass();
  registerSerializeSmallParallelPass();
  registerSerializeUnsupportedReductionsPass();
  registerGpuMatmulPass();
}

} // namespace mlirboot

#endif // MLIRBOOT_PASSES_PASSES_H
