"""The MlirbootPasses MLIR pass plugin as a toolchain component."""
