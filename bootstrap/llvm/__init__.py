"""Recipe: LLVM + clang + lld (+ MLIR, see bootstrap/mlir) in one build."""
