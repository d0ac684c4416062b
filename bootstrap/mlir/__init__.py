"""Recipe: MLIR options, built inside the llvm component."""
