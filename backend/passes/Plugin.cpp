//===- Plugin.cpp - mlir-opt --load-pass-plugin entry point ---------------===//
//
// mlir-opt dlopens the module and calls mlirGetPassPluginInfo; the callback
// registers our passes in the global registry shared through libMLIR.so.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

extern "C" LLVM_ATTRIBUTE_WEAK LLVM_ATTRIBUTE_VISIBILITY_DEFAULT
    mlir::PassPluginLibraryInfo
    mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MlirbootPasses", LLVM_VERSION_STRING,
          []() { mlirboot::registerAllPasses(); }};
}
