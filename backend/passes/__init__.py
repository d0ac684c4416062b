"""MlirbootPasses: the MLIR pass plugin (C++ sources beside this file) and the
Python helpers that build it and name its passes (see `plugin`)."""
